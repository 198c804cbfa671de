/**
 * The suite's own browser finder (test/helpers/browser-probe.ts), on fake executables
 * in a temporary PATH (it is the finder under test, not the browser), and the whole
 * `vitest run` of a browser test file without a browser: skipped after one line, or
 * failed when CI=1 / CORRAL_REQUIRE_BROWSER=1 require it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { browserRequired, findBrowser } from '../helpers/browser-probe.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { describeResult, runCli } from '../helpers/run-cli.js';
import { withTempDir } from '../helpers/temp-dir.js';

/** A file in `dir/sub`, executable unless told otherwise. */
function fake(dir: string, sub: string, name: string, executable = true): string {
  fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const file = path.join(dir, sub, name);
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: executable ? 0o755 : 0o644 });
  return file;
}

const pathOf = (dir: string, ...subs: string[]) => subs.map((sub) => path.join(dir, sub)).join(path.delimiter);

describe('findBrowser', () => {
  test('when CORRAL_TEST_BROWSER names an executable then it is used, whatever else is on PATH', () =>
    withTempDir((dir) => {
      fake(dir, 'a', 'chromium');
      const chosen = fake(dir, 'b', 'my-chrome');
      expect(findBrowser({ env: { CORRAL_TEST_BROWSER: chosen, PATH: pathOf(dir, 'a') }, known: [] })).toEqual({ executable: chosen });
      // A bare name is looked up on PATH.
      expect(findBrowser({ env: { CORRAL_TEST_BROWSER: 'my-chrome', PATH: pathOf(dir, 'a', 'b') }, known: [] })).toEqual({ executable: chosen });
    }));

  test('when CORRAL_TEST_BROWSER names nothing executable then no browser is used and the reason names the setting', () =>
    withTempDir((dir) => {
      fake(dir, 'a', 'chromium');
      const probe = findBrowser({ env: { CORRAL_TEST_BROWSER: path.join(dir, 'missing'), PATH: pathOf(dir, 'a') }, known: [] });
      expect(probe.executable).toBeUndefined();
      expect(probe.reason).toBe(`CORRAL_TEST_BROWSER=${path.join(dir, 'missing')} is not an executable file`);
    }));

  test('when several names are on PATH then chromium comes first, and a file that is not executable is passed over', () =>
    withTempDir((dir) => {
      fake(dir, 'a', 'chromium', false);
      const chrome = fake(dir, 'a', 'google-chrome');
      const chromiumBrowser = fake(dir, 'b', 'chromium-browser');
      expect(findBrowser({ env: { PATH: pathOf(dir, 'a', 'b') }, known: [] })).toEqual({ executable: chromiumBrowser });
      expect(findBrowser({ env: { PATH: pathOf(dir, 'a') }, known: [] })).toEqual({ executable: chrome });
      const chromium = fake(dir, 'c', 'chromium');
      expect(findBrowser({ env: { PATH: pathOf(dir, 'a', 'b', 'c') }, known: [] })).toEqual({ executable: chromium });
    }));

  test('when nothing is on PATH then the known install locations are tried in order, else the reason says where it looked', () =>
    withTempDir((dir) => {
      const installed = fake(dir, 'opt/chrome', 'chrome');
      const known = [path.join(dir, 'nowhere', 'chromium'), installed];
      expect(findBrowser({ env: { PATH: pathOf(dir, 'empty') }, known })).toEqual({ executable: installed });
      const none = findBrowser({ env: { PATH: pathOf(dir, 'empty') }, known: known.slice(0, 1) });
      expect(none.executable).toBeUndefined();
      expect(none.reason).toBe('none of chromium, chromium-browser, google-chrome, google-chrome-stable, chrome on PATH, nor in the usual install locations');
    }));

  test.each([
    [{}, false],
    [{ CI: '1' }, true],
    [{ CI: 'true' }, true],
    [{ CORRAL_REQUIRE_BROWSER: '1' }, true],
    [{ CI: '0' }, false],
  ])('browserRequired(%o) is %s', (env, required) => {
    expect(browserRequired(env)).toBe(required);
  });
});

describe('a vitest run without a browser', () => {
  // CORRAL_TEST_BROWSER naming nothing is "no browser", whatever this machine has installed.
  const run = (env: Record<string, string | undefined>) =>
    runCli([path.join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/e2e/qa-html.test.ts'], {
      cwd: REPO_ROOT,
      env: { CORRAL_TEST_SKIP_BUILD: '1', CORRAL_TEST_BROWSER: '/nonexistent/chromium', CI: undefined, CORRAL_REQUIRE_BROWSER: undefined, ...env },
    });

  test('when no browser is found locally then the browser tests are skipped after one line naming the fix, and the run passes', async () => {
    const result = await run({});
    expect(result.code, describeResult(result)).toBe(0);
    const lines = (result.stdout + result.stderr).split('\n').filter((line) => line.includes('Chromium or Chrome'));
    expect(lines).toEqual([
      'No Chromium or Chrome found: skipping the browser tests (CORRAL_TEST_BROWSER=/nonexistent/chromium is not an executable file; install chromium or set CORRAL_TEST_BROWSER to its executable)',
    ]);
    // Every browser test skipped, none run.
    expect(result.stdout).toMatch(/Tests\s+\d+ skipped \(\d+\)/);
    expect(result.stdout).not.toMatch(/passed|failed/);
  });

  test.each([['CI=1', { CI: '1' }], ['CORRAL_REQUIRE_BROWSER=1', { CORRAL_REQUIRE_BROWSER: '1' }]])(
    'when no browser is found under %s then the run fails, saying the browser tests are required',
    async (_label, env) => {
      const result = await run(env);
      expect(result.code, describeResult(result)).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('No Chromium or Chrome found (CORRAL_TEST_BROWSER=/nonexistent/chromium is not an executable file), and CI=1 or CORRAL_REQUIRE_BROWSER=1 require the browser tests');
    },
  );
});
