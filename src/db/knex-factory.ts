import { createRequire } from 'node:module';
import type { Knex } from 'knex';

// knex loads some 340 files (lodash among them, ~60 ms). Commands that never open a
// database (lssteps, --help, create-doc) should not pay for it, so it is required on
// first use rather than imported at start-up. knex is CommonJS: require stays synchronous.
const require = createRequire(import.meta.url);
let factory: ((config: Knex.Config) => Knex) | undefined;

/** A knex instance, loading knex itself the first time. */
export function createKnex(config: Knex.Config): Knex {
  factory ??= require('knex') as (config: Knex.Config) => Knex;
  return factory(config);
}
