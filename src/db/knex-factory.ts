import type { Knex } from 'knex';
import { requireVendor } from '../core/vendor.js';

// knex loads some 360 files (lodash among them, ~60 ms). Commands that never open a
// database (lssteps, --help, create-doc) should not pay for it, so it is required on
// first use rather than imported at start-up; and from dist/vendor/knex.cjs, the same
// knex bundled into one file by scripts/bundle-vendor.js at build time, when it is there
// (it is not when corral runs from its sources, in its own tests): see core/vendor.ts.
let factory: ((config: Knex.Config) => Knex) | undefined;

/** knex itself, loaded the first time; also a worker's way to load it while it waits (workers/child.ts). */
export function loadKnex(): (config: Knex.Config) => Knex {
  return (factory ??= requireVendor<(config: Knex.Config) => Knex>('knex', 'knex'));
}

/** A knex instance, loading knex itself the first time. */
export function createKnex(config: Knex.Config): Knex {
  return loadKnex()(config);
}
