import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImproperlyConfigured } from '../core/errors.js';
import type { LogLevel } from '../core/logger.js';
import type { Output } from '../core/output.js';
import { freshTestConnection, sameDatabase } from '../conf/connection.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { selectSubjects, type TestSelection } from './selection.js';
import { findTestsModule } from './tests-module.js';
import { WORKER_OPTIONS_ENV, type WorkerOptions } from './vitest-runtime.js';

const CORRAL_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY_DIR = path.join(CORRAL_ROOT, 'templates', 'qa');
const DIST_DIR = path.join(CORRAL_ROOT, 'dist');

export interface TestRunOptions {
  readonly selection: TestSelection;
  readonly failFast: boolean;
  /** 0: summary, 1: every test, 2: every test and the pipeline's logs. */
  readonly verbosity: number;
  /** Keep the pipeline's log level instead of quieting it to warnings. */
  readonly defaultLogging: boolean;
  readonly output: Output;
}

export interface TestOutcome {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly tests: readonly { readonly name: string; readonly subject: string; readonly state: string; readonly errors: readonly string[] }[];
}

/** The name under which a tests module that fails to load is reported. */
export const COLLECTING_TESTS = '(collecting tests)';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs the pipeline's TestCases on vitest, each on a fresh database. */
export async function runPipelineTests(settings: ResolvedSettings, options: TestRunOptions): Promise<TestOutcome> {
  if (settings.testConnection !== undefined && sameDatabase(freshTestConnection(settings.testConnection, settings.root), settings.connection)) {
    throw new ImproperlyConfigured('testConnection points at the production database; tests would destroy its data', {
      hint: 'Remove testConnection (a temporary SQLite file is used) or point it at a database of its own',
    });
  }
  // Unknown step or alert names fail here, as one error line, before vitest starts.
  selectSubjects(settings, options.selection);
  if (!findTestsModule(settings)) {
    options.output.err(`No tests module (tests.ts beside ${path.basename(settings.settingsFile)}): no tests to run.\n`);
    return { passed: 0, failed: 0, skipped: 0, tests: [] };
  }
  const worker: WorkerOptions = {
    settingsFile: settings.settingsFile,
    selection: options.selection,
    logLevel: (options.defaultLogging || options.verbosity >= 2 ? settings.logLevel : 'warn') as LogLevel,
    timeoutMs: 10 * 60_000,
  };
  process.env[WORKER_OPTIONS_ENV] = JSON.stringify(worker);
  const { startVitest } = await import('vitest/node');
  const vitest = await startVitest(
    'test',
    [],
    {
      config: false,
      root: settings.root,
      dir: ENTRY_DIR,
      include: ['pipeline.test.js'],
      exclude: [],
      watch: false,
      run: true,
      bail: options.failFast ? 1 : 0,
      reporters: [options.verbosity >= 1 ? 'verbose' : 'default'],
      pool: 'forks',
      fileParallelism: false,
      passWithNoTests: true,
      server: { deps: { external: [new RegExp('^' + escapeRegExp(DIST_DIR))] } },
    },
    // vite's cache would otherwise land in <pipeline>/node_modules/.vite.
    { cacheDir: path.join(os.tmpdir(), 'corral-vite-cache') },
    { stdout: process.stdout, stderr: process.stderr },
  );
  const tests: { name: string; subject: string; state: string; errors: string[] }[] = [];
  for (const module of vitest.state.getTestModules()) {
    for (const test of module.children.allTests()) {
      const result = test.result();
      tests.push({
        name: test.name,
        subject: test.parent.type === 'suite' ? test.parent.name : '',
        state: result.state,
        errors: (result.errors ?? []).map((e) => e.message),
      });
    }
    for (const error of module.errors()) tests.push({ name: COLLECTING_TESTS, subject: '', state: 'failed', errors: [error.message] });
  }
  const unhandled = vitest.state.getUnhandledErrors();
  await vitest.close();
  const failed = tests.filter((t) => t.state === 'failed').length + unhandled.length;
  return { passed: tests.filter((t) => t.state === 'passed').length, failed, skipped: tests.filter((t) => t.state === 'skipped').length, tests };
}
