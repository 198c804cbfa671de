import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { BROWSER_ENV, browserRequired, findBrowser } from './helpers/browser-probe.js';
import { REPO_ROOT } from './helpers/paths.js';
import { dropDatabasesWithPrefix, pgRequired, probePostgres } from './helpers/postgres-probe.js';

/**
 * Compiles src/ to dist/ once per `vitest run`: end-to-end tests and the forked
 * runner children execute dist/, which must match the src/ the unit tests see.
 * CORRAL_TEST_SKIP_BUILD=1 skips it when dist/ is known to be fresh.
 *
 * Probes PostgreSQL once (test/helpers/postgres.ts): unreachable, its tests are
 * skipped with one message, or the run fails when CI=1 or CORRAL_REQUIRE_PG=1.
 * Looks for a Chromium or Chrome the same way (test/helpers/browser-probe.ts): none,
 * the browser tests are skipped with one message, or the run fails when CI=1 or
 * CORRAL_REQUIRE_BROWSER=1.
 * The teardown drops the databases of this run that a crashed test left behind.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // First: it answers at once, and its failure under CI=1 must not wait for PostgreSQL's.
  const browser = findBrowser();
  if (browser.executable === undefined) {
    if (browserRequired()) {
      throw new Error(`No Chromium or Chrome found (${browser.reason ?? 'not found'}), and CI=1 or CORRAL_REQUIRE_BROWSER=1 require the browser tests`);
    }
    console.warn(`No Chromium or Chrome found: skipping the browser tests (${browser.reason ?? 'not found'}; install chromium or set ${BROWSER_ENV} to its executable)`);
  }
  project.provide('corralBrowser', browser);

  const pg = await probePostgres();
  if (!pg.reachable) {
    const why = pg.reason ?? 'no answer';
    if (pgRequired()) {
      throw new Error(`PostgreSQL not reachable at ${pg.label} (${why}), and CI=1 or CORRAL_REQUIRE_PG=1 require the PostgreSQL tests`);
    }
    console.warn(`PostgreSQL not reachable at ${pg.label}: skipping the PostgreSQL tests (${why}; set CORRAL_TEST_PG_URL to use another server)`);
  }
  project.provide('corralPg', pg);

  if (process.env.CORRAL_TEST_SKIP_BUILD !== '1') {
    const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new Error(`Building dist/ failed (tsc -p tsconfig.build.json, exit ${String(result.status)}):\n${result.stdout}${result.stderr}`);
    }
    // The rest of `npm run build`: knex and pino bundled into dist/vendor/.
    const bundled = spawnSync(process.execPath, ['scripts/bundle-vendor.js'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (bundled.status !== 0) throw new Error(`Bundling knex and pino failed (scripts/bundle-vendor.js, exit ${String(bundled.status)}):\n${bundled.stdout}${bundled.stderr}`);
    // And corral's own modules into dist/corral.cjs, as the package ships them.
    const own = spawnSync(process.execPath, ['scripts/bundle-corral.js'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (own.status !== 0) throw new Error(`Bundling corral's modules failed (scripts/bundle-corral.js, exit ${String(own.status)}):\n${own.stdout}${own.stderr}`);
  }

  return async () => {
    if (!pg.reachable) return;
    const left = await dropDatabasesWithPrefix(pg.url, pg.prefix).catch(() => []);
    if (left.length > 0) console.warn(`Dropped ${left.length} test database(s) left behind: ${left.join(', ')}`);
  };
}
