import { paint, type Paint } from '../core/colour.js';
import { formatCount, formatDuration } from '../core/format.js';
import type { Logger } from '../core/logger.js';
import type { Output } from '../core/output.js';
import type { RunStats } from '../run/execute.js';
import type { ProcessorKind } from '../run/processor-class.js';
import type { RunReport } from '../workers/runner.js';

/** One processor's outcome: `rows-failed` is a run that went on past rows that threw. */
export type ProcessorOutcome = 'ok' | 'rows-failed' | 'failed' | 'stopped';

/** A failure in the `--json` summary: a row that threw (`row` set) or the processor itself. */
export interface ErrorSummary {
  /** The row's key, or null when the processor as a whole failed. */
  readonly row: string | null;
  readonly message: string;
  readonly hint: string | null;
  /** Attempts so far (rows only). */
  readonly attempts: number | null;
  /** Whether the row is now quarantined (rows only). */
  readonly quarantined: boolean | null;
  /** With --traceback only. */
  readonly stack?: string;
}

export interface ProcessorSummary {
  readonly processor: string;
  readonly kind: ProcessorKind;
  readonly outcome: ProcessorOutcome;
  readonly rows: number;
  readonly failedRows: number;
  /** Wall-clock seconds, to the millisecond. */
  readonly seconds: number;
  readonly errors: readonly ErrorSummary[];
}

/** The `--json` document of `load`, `run`, `check-alerts` and each pass of `run-all`. */
export interface RunSummary {
  readonly outcome: 'ok' | 'rows-failed' | 'failed' | 'interrupted';
  readonly exitCode: number;
  readonly processors: readonly ProcessorSummary[];
}

export function outcomeOf(stats: RunStats): ProcessorOutcome {
  if (stats.status !== 'ok') return stats.status;
  return stats.failedRows > 0 ? 'rows-failed' : 'ok';
}

/** 0 all good, 1 a processor or a row failed, 130 interrupted. */
export function exitCodeOf(report: RunReport): number {
  if (report.interrupted) return 130;
  return report.failures.length > 0 || report.stats.some((s) => s.status === 'failed' || s.failedRows > 0) ? 1 : 0;
}

/** The run as data: what `--json` prints and what a JSON log's summary record carries. */
export function runSummary(report: RunReport, traceback: boolean): RunSummary {
  const processors = report.stats.map((s): ProcessorSummary => {
    const rowErrors = s.rowFailures.map((f): ErrorSummary => ({
      row: f.key,
      message: f.message,
      hint: null,
      attempts: f.attempts,
      quarantined: f.quarantined,
      ...(traceback && f.stack ? { stack: f.stack } : {}),
    }));
    const ownErrors = report.failures
      .filter((f) => f.processor === s.processor)
      .map((f): ErrorSummary => ({ row: null, message: f.message, hint: f.hint ?? null, attempts: null, quarantined: null, ...(traceback && f.stack ? { stack: f.stack } : {}) }));
    return { processor: s.processor, kind: s.kind, outcome: outcomeOf(s), rows: s.rows, failedRows: s.failedRows, seconds: Math.round(s.seconds * 1000) / 1000, errors: [...ownErrors, ...rowErrors] };
  });
  const exitCode = exitCodeOf(report);
  const outcome = report.interrupted
    ? 'interrupted'
    : report.failures.length > 0 || processors.some((p) => p.outcome === 'failed')
      ? 'failed'
      : processors.some((p) => p.outcome === 'rows-failed')
        ? 'rows-failed'
        : 'ok';
  return { outcome, exitCode, processors };
}

const LABELS: Record<ProcessorOutcome, string> = { ok: 'ok', 'rows-failed': 'ROWS FAILED', failed: 'FAILED', stopped: 'STOPPED' };

/** The end-of-run summary for people: one line per processor, then one line per failure. */
export function printReport(report: RunReport, output: Output, traceback: boolean, colours: Paint = paint(false)): void {
  if (report.stats.length === 0) {
    output.err('Nothing to run: no processor is selected.\n');
    return;
  }
  const tint: Record<ProcessorOutcome, (text: string) => string> = { ok: colours.green, 'rows-failed': colours.yellow, failed: colours.red, stopped: colours.yellow };
  const error = colours.red('Error:');
  const width = Math.max(...report.stats.map((s) => s.processor.length), 9);
  output.err('\n');
  for (const s of report.stats) {
    const outcome = outcomeOf(s);
    const failed = s.failedRows > 0 ? `, ${formatCount(s.failedRows)} failed` : '';
    output.err(`  ${tint[outcome](LABELS[outcome].padEnd(11))} ${s.kind.padEnd(6)} ${s.processor.padEnd(width)} ${formatCount(s.rows).padStart(9)} rows${failed} ${formatDuration(s.seconds).padStart(10)}\n`);
  }
  for (const s of report.stats) {
    for (const f of s.rowFailures) {
      const fate = f.quarantined ? 'quarantined: see `failures`' : 'retried on a later run';
      output.err(`${error} ${s.processor} failed on row ${f.key}: ${f.message} (attempt ${f.attempts}; ${fate})\n`);
      if (traceback && f.stack) output.err(f.stack + '\n');
    }
    if (s.failedRows > s.rowFailures.length) output.err(`  ... and ${s.failedRows - s.rowFailures.length} more failed rows of ${s.processor} (see \`failures\`)\n`);
  }
  for (const failure of report.failures) {
    output.err(`${error} ${failure.message}\n`);
    if (failure.hint) output.err(`  ${failure.hint}\n`);
    if (traceback && failure.stack) output.err(failure.stack + '\n');
  }
  const anyFailure = report.failures.length > 0 || report.stats.some((s) => s.failedRows > 0);
  if (anyFailure && !traceback) output.err('(run again with --traceback for the stack)\n');
  if (report.interrupted) output.err('Interrupted: committed chunks are kept; run again to continue.\n');
}

/** Where the summary of a run goes. */
export type SummaryTarget =
  /** `--json`: one document on standard output, nothing on stderr. */
  | { readonly kind: 'json'; readonly compact: boolean }
  /** JSON logs: one log record, so that stderr stays one JSON object per line. */
  | { readonly kind: 'log'; readonly logger: Logger }
  /** Lines for people on stderr. */
  | { readonly kind: 'human'; readonly colours: Paint };

/** Tells the outcome of a run the way the command line was asked to. */
export function reportRun(report: RunReport, target: SummaryTarget, output: Output, traceback: boolean): void {
  if (target.kind === 'human') {
    printReport(report, output, traceback, target.colours);
    return;
  }
  const summary = runSummary(report, traceback);
  if (target.kind === 'json') {
    output.out((target.compact ? JSON.stringify(summary) : JSON.stringify(summary, null, 2)) + '\n');
    return;
  }
  const level = summary.outcome === 'ok' ? 'info' : summary.outcome === 'interrupted' ? 'warn' : 'error';
  target.logger[level]({ summary }, summary.processors.length === 0 ? 'Nothing to run: no processor is selected' : `Run summary: ${summary.outcome}`);
}
