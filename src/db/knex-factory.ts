import { createRequire } from 'node:module';
import type { Knex } from 'knex';

// knex loads some 360 files (lodash among them, ~60 ms). Commands that never open a
// database (lssteps, --help, create-doc) should not pay for it, so it is required on
// first use rather than imported at start-up; and from dist/vendor/knex.cjs, the same
// knex bundled into one file by scripts/bundle-vendor.js at build time, when it is there
// (it is not when corral runs from its sources, in its own tests).
const require = createRequire(import.meta.url);
const BUNDLE = '../vendor/knex.cjs';
let factory: ((config: Knex.Config) => Knex) | undefined;

function loadKnex(): (config: Knex.Config) => Knex {
  try {
    return require(BUNDLE) as (config: Knex.Config) => Knex;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes('vendor/knex.cjs');
    if (!missing) throw error;
    return require('knex') as (config: Knex.Config) => Knex;
  }
}

/** A knex instance, loading knex itself the first time. */
export function createKnex(config: Knex.Config): Knex {
  factory ??= loadKnex();
  return factory(config);
}
