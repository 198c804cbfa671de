/**
 * How a run's outcome is told: the `--json` document, one log record for JSON logs,
 * and the lines for people, for runs that went well, lost rows, failed or were stopped.
 */
import { describe, expect, test } from 'vitest';
import { reportRun, runSummary, type RunSummary } from '../../src/cli/report.js';
import { paint } from '../../src/core/colour.js';
import { createLogger } from '../../src/core/logger.js';
import { memoryOutput } from '../../src/core/output.js';
import type { RunStats } from '../../src/run/execute.js';
import type { Failure, RunReport } from '../../src/workers/runner.js';

function stats(processor: string, change: Partial<RunStats> = {}): RunStats {
  return { processor, kind: 'step', status: 'ok', rows: 10, failedRows: 0, rowFailures: [], seconds: 1.23456, ...change };
}

const rowFailure = (key: string, stack?: string) => ({ key, message: `bad row ${key}`, attempts: 2, quarantined: key === '7', stack });
const failure = (processor: string, hint?: string, stack?: string): Failure => ({ processor, message: `${processor} broke`, hint, stack });

/** Two rows of Clean failed (three counted), and Fetch failed as a whole. */
const failedRun: RunReport = {
  stats: [stats('Clean', { failedRows: 3, rowFailures: [rowFailure('7', 'Error: bad row 7\n    at clean'), rowFailure('9')] }), stats('Fetch', { kind: 'loader', status: 'failed', rows: 0 })],
  failures: [failure('Fetch', 'Check the endpoint.', 'Error: Fetch broke\n    at fetch'), failure('Fetch')],
  interrupted: false,
};

/** The log records `reportRun` writes for `report` to a JSON logger. */
function logged(report: RunReport): Record<string, unknown>[] {
  const lines: string[] = [];
  const logger = createLogger({ name: 'test', level: 'info', format: 'json', write: (line) => void lines.push(line) });
  reportRun(report, { kind: 'log', logger }, memoryOutput(), false);
  logger.flush();
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the --json summary', () => {
  test('when a processor failed and rows failed with --traceback then each error is listed with its stack where it has one', () => {
    const output = memoryOutput();
    reportRun(failedRun, { kind: 'json', compact: true }, output, true);
    expect(output.stderr).toBe('');
    expect(output.stdout.trimEnd()).not.toContain('\n');
    const summary = JSON.parse(output.stdout) as RunSummary;
    expect(summary.outcome).toBe('failed');
    expect(summary.exitCode).toBe(1);
    expect(summary.processors.map((p) => [p.processor, p.outcome, p.seconds])).toEqual([
      ['Clean', 'rows-failed', 1.235],
      ['Fetch', 'failed', 1.235],
    ]);
    expect(summary.processors[0]!.errors).toEqual([
      { row: '7', message: 'bad row 7', hint: null, attempts: 2, quarantined: true, stack: 'Error: bad row 7\n    at clean' },
      { row: '9', message: 'bad row 9', hint: null, attempts: 2, quarantined: false },
    ]);
    expect(summary.processors[1]!.errors).toEqual([
      { row: null, message: 'Fetch broke', hint: 'Check the endpoint.', attempts: null, quarantined: null, stack: 'Error: Fetch broke\n    at fetch' },
      { row: null, message: 'Fetch broke', hint: null, attempts: null, quarantined: null },
    ]);
  });

  test('when --traceback is not given then no stack is listed, and the document is indented', () => {
    const output = memoryOutput();
    reportRun(failedRun, { kind: 'json', compact: false }, output, false);
    expect(output.stdout).toContain('\n  "outcome": "failed",\n');
    expect(output.stdout).not.toContain('stack');
  });

  test('when only rows failed, or the run was interrupted, then the outcome and the exit code say so', () => {
    expect(runSummary({ stats: [stats('Clean', { failedRows: 1 })], failures: [], interrupted: false }, false)).toMatchObject({ outcome: 'rows-failed', exitCode: 1 });
    expect(runSummary({ stats: [stats('Clean', { status: 'stopped' })], failures: [], interrupted: true }, false)).toMatchObject({ outcome: 'interrupted', exitCode: 130 });
    expect(runSummary({ stats: [stats('Clean')], failures: [], interrupted: false }, false)).toMatchObject({ outcome: 'ok', exitCode: 0 });
  });
});

describe('the summary as a log record', () => {
  test('when the run is ok, interrupted or failed then the record is info, warn or error', () => {
    const [ok] = logged({ stats: [stats('Clean')], failures: [], interrupted: false });
    expect(ok).toMatchObject({ level: 30, msg: 'Run summary: ok', summary: { outcome: 'ok' } });
    const [stopped] = logged({ stats: [stats('Clean', { status: 'stopped' })], failures: [], interrupted: true });
    expect(stopped).toMatchObject({ level: 40, msg: 'Run summary: interrupted' });
    const [failed] = logged(failedRun);
    expect(failed).toMatchObject({ level: 50, msg: 'Run summary: failed', summary: { exitCode: 1 } });
  });

  test('when no processor is selected then the record says there was nothing to run', () => {
    const [record] = logged({ stats: [], failures: [], interrupted: false });
    expect(record).toMatchObject({ level: 30, msg: 'Nothing to run: no processor is selected', summary: { processors: [] } });
  });
});

describe('the summary for people', () => {
  const human = { kind: 'human', colours: paint(false) } as const;

  test('when no processor is selected then one line says so', () => {
    const output = memoryOutput();
    reportRun({ stats: [], failures: [], interrupted: false }, human, output, false);
    expect(output.stderr).toBe('Nothing to run: no processor is selected.\n');
    expect(output.stdout).toBe('');
  });

  test('when more rows failed than are listed then the rest are counted, and each failure gives its hint and, with --traceback, its stack', () => {
    const output = memoryOutput();
    reportRun(failedRun, human, output, true);
    const lines = output.stderr.split('\n');
    expect(lines).toContain('Error: Clean failed on row 7: bad row 7 (attempt 2; quarantined: see `failures`)');
    expect(lines).toContain('Error: Clean failed on row 9: bad row 9 (attempt 2; retried on a later run)');
    expect(lines).toContain('  ... and 1 more failed rows of Clean (see `failures`)');
    expect(output.stderr).toContain('Error: Fetch broke\n  Check the endpoint.\nError: Fetch broke\n    at fetch\nError: Fetch broke\n');
    expect(output.stderr).toContain('Error: bad row 7\n    at clean\n');
    expect(output.stderr).not.toContain('--traceback');
  });

  test('when a row failed and --traceback is not given then the lines end by saying how to see the stack, and show none', () => {
    const output = memoryOutput();
    reportRun(failedRun, human, output, false);
    expect(output.stderr).not.toContain('    at clean');
    expect(output.stderr.endsWith('(run again with --traceback for the stack)\n')).toBe(true);
  });

  test('when a run is interrupted without failures then it says what was kept and nothing about --traceback', () => {
    const output = memoryOutput();
    reportRun({ stats: [stats('Clean', { status: 'stopped' })], failures: [], interrupted: true }, human, output, false);
    expect(output.stderr).toMatch(/ {2}STOPPED {5}step {3}Clean /);
    expect(output.stderr.endsWith('Interrupted: committed chunks are kept; run again to continue.\n')).toBe(true);
    expect(output.stderr).not.toContain('--traceback');
  });
});
