/** core/vendor.ts: knex and pino from their bundles in dist/vendor/, with the code cache the build made. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { DIST_DIR } from '../helpers/paths.js';

test('when a built corral loads knex and pino then they come from the bundles, V8 takes their code cache, and both work', () => {
  const vendor = pathToFileURL(path.join(DIST_DIR, 'core', 'vendor.js')).href;
  const script = `
    const { requireVendor, vendorCacheRejected } = await import(${JSON.stringify(vendor)});
    const knex = requireVendor('knex', 'knex')({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    const [{ two }] = await knex.raw('SELECT 1 + 1 AS two');
    await knex.destroy();
    const lines = [];
    requireVendor('pino', 'pino').pino({ base: null, timestamp: false }, { write: (line) => lines.push(line) }).info('hello');
    console.log(JSON.stringify({ two, lines, rejected: Object.fromEntries(vendorCacheRejected) }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({ two: 2, lines: ['{"level":30,"msg":"hello"}\n'], rejected: { knex: false, pino: false } });
});
