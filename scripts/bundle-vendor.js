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
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const DRIVERS = ['better-sqlite3', 'pg', 'pg-native', 'pg-query-stream', 'sqlite3', 'mysql', 'mysql2', 'mariadb', 'mariadb/*', 'oracledb', 'tedious'];
/** Dialects of knex/lib/dialects/index.js that corral does not offer (settings accept SQLite and PostgreSQL only). */
const UNUSED_DIALECT = /^\.\/(mssql|mysql|mysql2|mariadb|oracle|oracledb|pgnative|cockroachdb|redshift)$/;

await build({
  entryPoints: [require.resolve('knex')],
  outfile: new URL('../dist/vendor/knex.cjs', import.meta.url).pathname,
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
  outfile: new URL('../dist/vendor/pino.cjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifyWhitespace: true,
  legalComments: 'eof',
  banner: { js: `/* pino ${require('pino/package.json').version} bundled with its dependencies (sonic-boom, thread-stream, pino-std-serializers, ...): MIT licensed, see their packages for the notices. */` },
  logLevel: 'warning',
});
