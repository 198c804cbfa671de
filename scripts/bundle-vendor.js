#!/usr/bin/env node
/**
 * Part of `npm run build`: bundles knex and pino, each with what it requires, into
 * one file each under dist/vendor/ (src/db/knex-factory.ts and src/core/logger.ts
 * load them, or the packages themselves when corral runs from its sources).
 *
 * knex (lodash, tarn, ...) → dist/vendor/knex.cjs. Loaded from some 360 small files, knex costs every
 * process ~60 ms, and run-all starts one process per processor; from one file it
 * loads in about half that. The database drivers stay outside (better-sqlite3 and
 * pg are required by knex when it connects), and so do the dialects corral never
 * uses. knex and its dependencies are MIT-licensed; their notices are kept.
 *
 * pino (sonic-boom, thread-stream, pino-std-serializers, ...) → dist/vendor/pino.cjs:
 * every process creates a logger, and pino from its ~30 files costs ~50 ms of CPU,
 * from one file under half that. corral gives pino a destination object and no
 * transport, so pino's worker files (which a bundle would not find) are never
 * loaded. pino and its dependencies are MIT-licensed; their notices are kept.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const DRIVERS = ['better-sqlite3', 'pg', 'pg-native', 'pg-query-stream', 'sqlite3', 'mysql', 'mysql2', 'mariadb', 'mariadb/*', 'oracledb', 'tedious'];
/** Dialects of knex/lib/dialects/index.js that corral does not offer (settings accept SQLite and PostgreSQL only). */
const UNUSED_DIALECT = /^\.\/(mssql|mysql|mysql2|mariadb|oracle|oracledb|pgnative|cockroachdb|redshift)$/;

const KNEX = new URL('../dist/vendor/knex.cjs', import.meta.url).pathname;
const PINO = new URL('../dist/vendor/pino.cjs', import.meta.url).pathname;

await build({
  entryPoints: [require.resolve('knex')],
  outfile: KNEX,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: DRIVERS,
  minifyWhitespace: true,
  legalComments: 'eof',
  banner: { js: `/* knex ${require('knex/package.json').version} bundled with its dependencies (lodash, tarn, debug, colorette, pg-connection-string, ...): MIT licensed, see their packages for the notices. */` },
  logLevel: 'warning',
  plugins: [
    {
      name: 'sqlite-and-postgres-only',
      setup(bundler) {
        bundler.onResolve({ filter: UNUSED_DIALECT }, (args) =>
          args.importer.endsWith(`knex/lib/dialects/index.js`) ? { path: args.path, namespace: 'unused-dialect' } : undefined,
        );
        bundler.onLoad({ filter: /.*/, namespace: 'unused-dialect' }, (args) => ({
          contents: `throw new Error(${JSON.stringify(`corral's knex bundle holds the SQLite and PostgreSQL dialects only, not ${args.path.slice(2)}`)});`,
          loader: 'js',
        }));
      },
    },
  ],
});

await build({
  entryPoints: [require.resolve('pino')],
  outfile: PINO,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifyWhitespace: true,
  legalComments: 'eof',
  banner: { js: `/* pino ${require('pino/package.json').version} bundled with its dependencies (sonic-boom, thread-stream, pino-std-serializers, ...): MIT licensed, see their packages for the notices. */` },
  logLevel: 'warning',
});

/** The CommonJS wrapper of src/core/vendor.ts (VENDOR_WRAPPER): V8 accepts a cache only for the very same source text. */
const WRAPPER = ['(function (exports, require, module, __filename, __dirname, __vendorImport) {\n', '\n})'];

/**
 * A bundle runs as a vm.Script (src/core/vendor.ts), where `import()` throws without
 * --experimental-vm-modules. knex has one, for ES-module migration files: it becomes
 * `__vendorImport(…)`, the wrapper's parameter, which vendor.ts makes an `import()`
 * of its own. Any other `import(` fails the build rather than a migration at run time.
 */
function routeDynamicImports(file, expected) {
  const text = fs.readFileSync(file, 'utf8');
  const found = text.match(/(?<![\w$.])import\(/g)?.length ?? 0;
  if (found !== expected) throw new Error(`${file}: ${found} import( found, ${expected} expected; see routeDynamicImports in scripts/bundle-vendor.js`);
  fs.writeFileSync(file, text.replace(/(?<![\w$.])import\(/g, '__vendorImport('));
}
routeDynamicImports(KNEX, 1);
routeDynamicImports(PINO, 0);

/**
 * `<bundle>.v8cache`: V8's code cache of the bundle, made after `exercise` has run
 * what a process runs (so the functions it compiled lazily are in it too), for
 * src/core/vendor.ts. A Node that does not fit it rejects it and compiles the source.
 */
async function writeCodeCache(file, exercise) {
  const script = new vm.Script(WRAPPER[0] + fs.readFileSync(file, 'utf8') + WRAPPER[1], { filename: file, lineOffset: -1 });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file), (specifier) => import(specifier));
  await exercise(module.exports);
  fs.writeFileSync(`${file}.v8cache`, script.createCachedData());
}

await writeCodeCache(KNEX, async (knex) => {
  const sqlite = knex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  await sqlite.schema.createTable('t', (table) => { table.increments('id'); table.string('name'); });
  await sqlite('t').insert({ name: 'a' });
  await sqlite('t').where('id', 1).update({ name: 'b' });
  await sqlite('t').select('id', 'name').where('name', 'b').orderBy('id');
  await sqlite.transaction(async (tx) => tx('t').del());
  await sqlite.destroy();
  const pg = knex({ client: 'pg' });
  pg('t').select('*').where('id', '>', 1).orderBy('id').limit(10).toString();
  await pg.destroy();
});
await writeCodeCache(PINO, ({ pino }) => {
  const logger = pino({ name: 'bundle', level: 'info', base: { pid: process.pid } }, { write() {} });
  logger.info({ rows: 1 }, 'made');
  logger.child({ processor: 'x' }).warn('made');
});
