import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CorralError } from '../core/errors.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { COLLECTING_TESTS, type TestOutcome } from './run-tests.js';
import { packageDir } from './source-files.js';

const CORRAL_BIN = fileURLToPath(new URL('../../bin/corral.js', import.meta.url));

export interface FileCoverage {
  /** Relative to the pipeline folder. */
  readonly file: string;
  readonly lines: { readonly total: number; readonly covered: number; readonly pct: number };
  readonly statements: { readonly total: number; readonly covered: number; readonly pct: number };
  readonly branches: { readonly total: number; readonly covered: number; readonly pct: number };
  readonly functions: { readonly total: number; readonly covered: number; readonly pct: number };
}

export interface CoverageResult {
  /** COV of the QAI: covered lines over all lines of the pipeline's files, 0..1. */
  readonly lineRate: number;
  readonly files: readonly FileCoverage[];
  readonly total: FileCoverage;
  /** The coverage table as text. */
  readonly table: string;
  readonly tests: TestOutcome;
  /** What the test run printed (its reporter output). */
  readonly testOutput: string;
  readonly exitCode: number;
}

type Summary = Record<string, Omit<FileCoverage, 'file'>>;

/**
 * Runs the pipeline's tests once in a subprocess with V8 coverage on. Coverage is
 * collected through NODE_V8_COVERAGE, which every process inherits: the vitest
 * workers, and any child a test forks, count too. c8 then maps it back to the
 * TypeScript sources, counting files no test loaded as 0 %.
 */
export async function runCoverage(settings: ResolvedSettings, testArgs: readonly string[] = []): Promise<CoverageResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-coverage-'));
  try {
    const rawDir = path.join(work, 'raw');
    const reportDir = path.join(work, 'report');
    const outcomeFile = path.join(work, 'outcome.json');
    fs.mkdirSync(rawDir);
    const { code, output } = await runTestProcess(settings, ['test', '-v', ...testArgs, '--report-json', outcomeFile], {
      NODE_V8_COVERAGE: rawDir,
    });
    if (!fs.existsSync(outcomeFile)) {
      throw new CorralError(`The coverage run of the tests failed before reporting (exit code ${code})`, {
        hint: `Its output ends with:\n${output.trim().split('\n').slice(-15).join('\n')}`,
      });
    }
    const tests = JSON.parse(fs.readFileSync(outcomeFile, 'utf8')) as TestOutcome;
    if (tests.tests.length > 0 && tests.tests.every((t) => t.name === COLLECTING_TESTS)) {
      // Not a single test ran: whatever the loaded modules covered measures nothing.
      throw new CorralError(`The tests could not run, so there is no coverage to measure: ${tests.tests.flatMap((t) => t.errors).join('; ')}`, {
        hint: "Fix the tests module ('node in_corral.js test' shows the whole error), then measure again",
      });
    }
    if (fs.readdirSync(rawDir).length === 0) {
      throw new CorralError('The coverage run produced no coverage data', { hint: 'Check that NODE_V8_COVERAGE is not overridden in the environment' });
    }
    const pkg = packageDir(settings);
    const c8 = await import('c8');
    const report = new c8.Report({
      include: [`${pkg}/**`],
      exclude: ['**/node_modules/**', '**/*.d.ts'],
      extension: ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'],
      reporter: ['text', 'json-summary'],
      reporterOptions: { text: { file: 'coverage.txt', maxCols: 120 } },
      reportsDirectory: reportDir,
      tempDirectory: rawDir,
      all: true,
      src: [pkg],
      allowExternal: true,
      excludeNodeModules: true,
      resolve: '',
      omitRelative: true,
      wrapperLength: 0,
      excludeAfterRemap: true,
    });
    await report.run();
    const summary = JSON.parse(fs.readFileSync(path.join(reportDir, 'coverage-summary.json'), 'utf8')) as Summary;
    const files = Object.entries(summary)
      .filter(([file]) => file !== 'total')
      .map(([file, cov]) => ({ file: path.relative(settings.root, file), ...cov }))
      .sort((a, b) => a.file.localeCompare(b.file));
    const total = { file: 'total', ...summary.total! };
    const table = fs.readFileSync(path.join(reportDir, 'coverage.txt'), 'utf8').replaceAll(pkg + path.sep, '');
    return { lineRate: total.lines.total === 0 ? 0 : total.lines.covered / total.lines.total, files, total, table, tests, testOutput: output, exitCode: code };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Runs `corral test …` for this pipeline in a subprocess, capturing its output. */
export function runTestProcess(settings: ResolvedSettings, args: readonly string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CORRAL_BIN, ...args], {
      cwd: settings.root,
      env: { ...process.env, ...env, CORRAL_SETTINGS: settings.settingsFile, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}
