/**
 * Finding a Chromium or Chrome for the browser tests (the HTML quality report, the
 * profile page), free of vitest's test API: global setup runs it once per
 * `vitest run`. Tests use test/helpers/browser.ts.
 *
 * Order: CORRAL_TEST_BROWSER (a path, or a name on PATH), then the usual command
 * names on PATH, then the usual install locations (Debian/Ubuntu, Google's .deb, snap,
 * macOS, playwright's own download under ~/.cache/ms-playwright).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

declare module 'vitest' {
  export interface ProvidedContext {
    corralBrowser: BrowserProbe;
  }
}

export interface BrowserProbe {
  /** The executable, when one was found. */
  readonly executable?: string;
  /** Why none was used, for the one skip (or failure) line. */
  readonly reason?: string;
}

export const BROWSER_ENV = 'CORRAL_TEST_BROWSER';
export const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'] as const;

function knownPaths(home: string): string[] {
  const playwrightCache = path.join(home, '.cache', 'ms-playwright');
  const downloaded = fs.existsSync(playwrightCache)
    ? fs
        .readdirSync(playwrightCache)
        .filter((dir) => /^chromium(_headless_shell)?-\d+$/.test(dir))
        .sort()
        .reverse()
        .flatMap((dir) => ['chrome-linux64/chrome', 'chrome-linux/chrome', 'chrome-headless-shell-linux64/chrome-headless-shell'].map((exe) => path.join(playwrightCache, dir, exe)))
    : [];
  return [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/snap/bin/chromium',
    '/usr/bin/google-chrome',
    '/opt/google/chrome/chrome',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    ...downloaded,
  ];
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `name` resolved on `searchPath` as a shell would (the first executable file). */
export function onPath(name: string, searchPath: string | undefined): string | undefined {
  const suffixes = process.platform === 'win32' ? ['.exe', ''] : [''];
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const suffix of suffixes) {
      const candidate = path.join(dir, name + suffix);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

export interface FindOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The install locations to try last (tests pass their own). */
  readonly known?: readonly string[];
}

/** The browser to launch, or why there is none. Never throws. */
export function findBrowser(options: FindOptions = {}): BrowserProbe {
  const env = options.env ?? process.env;
  const given = env[BROWSER_ENV];
  if (given !== undefined && given !== '') {
    const executable = given.includes('/') || given.includes('\\') ? (isExecutableFile(given) ? path.resolve(given) : undefined) : onPath(given, env.PATH);
    // A browser named explicitly and missing is a fault of the setting, not a reason to pick another.
    return executable ? { executable } : { reason: `${BROWSER_ENV}=${given} is not an executable file` };
  }
  for (const name of BROWSER_NAMES) {
    const executable = onPath(name, env.PATH);
    if (executable) return { executable };
  }
  const executable = (options.known ?? knownPaths(env.HOME ?? os.homedir())).find(isExecutableFile);
  if (executable) return { executable };
  return { reason: `none of ${BROWSER_NAMES.join(', ')} on PATH, nor in the usual install locations` };
}

/** True when a missing browser must fail the run rather than skip its tests. */
export function browserRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === '1' || env.CI === 'true' || env.CORRAL_REQUIRE_BROWSER === '1';
}
