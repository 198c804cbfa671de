import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { colourWanted, settleColourEnv } from '../core/colour.js';
import { ImproperlyConfigured } from '../core/errors.js';
import type { LogLevel } from '../core/logger.js';
import type { Output } from '../core/output.js';
import { freshTestConnection, sameDatabase } from '../conf/connection.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { selectSubjects, type TestSelection } from './selection.js';
import { findTestsModule } from './tests-module.js';
import type { Plugin } from 'vitest/config';
import type { InlineConfig } from 'vitest/node';
import { WORKER_OPTIONS_ENV, type WorkerOptions } from './vitest-runtime.js';

const CORRAL_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = path.join(CORRAL_ROOT, 'templates', 'qa', 'pipeline.test.js');
const DIST_DIR = path.join(CORRAL_ROOT, 'dist');

export interface TestRunOptions {
  readonly selection: TestSelection;
  readonly failFast: boolean;
  /** 0: summary, 1: every test, 2: every test and the pipeline's logs. */
  readonly verbosity: number;
  /** Keep the pipeline's log level instead of quieting it to warnings. */
  readonly defaultLogging: boolean;
  readonly output: Output;
  /** A report for machines besides (or, without `outputFile`, instead of) the console's. */
  readonly reporter?: MachineReporter;
  /** Where the machine report goes; standard output when absent. */
  readonly outputFile?: string;
}

/** The machine-readable reports `test --reporter` writes (vitest's own reporters). */
export const MACHINE_REPORTERS = ['junit', 'json'] as const;
export type MachineReporter = (typeof MACHINE_REPORTERS)[number];

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

/**
 * Makes the pipeline's tests module vitest's test file, so the reporters list the
 * tests under it, while vite never compiles it: vitest sees a one-line module that
 * imports the entry, and the entry imports the real module natively through tsx
 * (one copy of every class, shared with corral's dist/).
 */
function testsModuleAsEntry(testsFile: string): Plugin {
  // vite names a module by its real path: a pipeline folder reached through a symlink too.
  const names = new Set([testsFile, fs.realpathSync(testsFile)]);
  return {
    name: 'corral:pipeline-tests',
    enforce: 'pre',
    load(id) {
      if (!names.has(id.split('?')[0]!)) return null;
      // An empty map: vite must not map stack positions in this file through its own.
      return { code: `import ${JSON.stringify(pathToFileURL(ENTRY).href)};\n`, map: { mappings: '' } };
    },
  };
}

type ReporterSpec = Extract<NonNullable<InlineConfig['reporters']>, readonly unknown[]>[number];

/** Runs the pipeline's TestCases on vitest, each on a fresh database. */
export async function runPipelineTests(settings: ResolvedSettings, options: TestRunOptions): Promise<TestOutcome> {
  if (settings.testConnection !== undefined && sameDatabase(freshTestConnection(settings.testConnection, settings.root), settings.connection)) {
    throw new ImproperlyConfigured('testConnection points at the production database; tests would destroy its data', {
      hint: 'Remove testConnection (a temporary SQLite file is used) or point it at a database of its own',
    });
  }
  // Unknown step or alert names fail here, as one error line, before vitest starts.
  selectSubjects(settings, options.selection);
  const testsFile = findTestsModule(settings);
  if (!testsFile) {
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
  // Before vitest is imported: its colour library decides once, when it loads.
  settleColourEnv(colourWanted(process.stdout));
  const console = options.verbosity >= 1 ? 'verbose' : 'default';
  // A machine report on standard output must be alone there, or it could not be parsed.
  // JUnit's top <testsuites> is named after the pipeline package, not "vitest tests".
  const machine: ReporterSpec | undefined =
    options.reporter === 'junit' ? ['junit', { suiteName: path.basename(path.dirname(settings.settingsFile)) }] : options.reporter && [options.reporter, {}];
  const reporters: ReporterSpec[] = machine === undefined ? [console] : options.outputFile === undefined ? [machine] : [console, machine];
  const { startVitest } = await import('vitest/node');
  const vitest = await startVitest(
    'test',
    [],
    {
      config: false,
      root: settings.root,
      include: [path.relative(settings.root, testsFile)],
      exclude: [],
      watch: false,
      run: true,
      bail: options.failFast ? 1 : 0,
      reporters,
      ...(options.reporter !== undefined && options.outputFile !== undefined ? { outputFile: { [options.reporter]: path.resolve(options.outputFile) } } : {}),
      pool: 'forks',
      fileParallelism: false,
      passWithNoTests: true,
      server: { deps: { external: [new RegExp('^' + escapeRegExp(DIST_DIR))] } },
    },
    // vite's cache would otherwise land in <pipeline>/node_modules/.vite.
    { cacheDir: path.join(os.tmpdir(), 'corral-vite-cache'), plugins: [testsModuleAsEntry(testsFile)] },
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
