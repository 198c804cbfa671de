import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CorralError } from '../core/errors.js';
import type { LogFormat, LogLevel } from '../core/logger.js';
import type { Output } from '../core/output.js';
import { executeProcessor, kindOf, type RunStats } from './execute.js';
import type { Environment } from './environment.js';
import { ProgressBoard } from './progress.js';
import type { ChildMessage, RunMessage } from './protocol.js';
import type { ProcessorClass } from './processor.js';

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));

export interface RunOptions {
  /** Run in this process, one after the other, in settings order. */
  readonly sync: boolean;
  readonly output: Output;
  readonly logLevel?: LogLevel | undefined;
  readonly logFormat?: LogFormat | undefined;
  /** Print the stack of each failure. */
  readonly traceback?: boolean;
  /** Show the progress line (default: when stderr is a terminal). */
  readonly progress?: boolean;
}

/** A failure as the runner reports it: one line, and the stack for --traceback. */
export interface Failure {
  readonly processor: string;
  readonly message: string;
  readonly hint: string | undefined;
  readonly stack: string | undefined;
}

export interface RunReport {
  readonly stats: readonly RunStats[];
  readonly failures: readonly Failure[];
  readonly interrupted: boolean;
}

/**
 * Runs processors phase by phase: every processor of a phase at once, one forked
 * child each (or in-process with `sync`), and the next phase when all are done.
 * `run-all` uses the phases loader → steps → alerts, so steps see what the loader
 * committed and alerts see what the steps wrote; the original started all at once
 * and let the loader race its consumers.
 */
export async function runPhases(env: Environment, phases: readonly (readonly ProcessorClass[])[], options: RunOptions): Promise<RunReport> {
  const board = new ProgressBoard(options.output, options.progress ?? options.output.interactive);
  const stats: RunStats[] = [];
  const failures: Failure[] = [];
  const stop = { requested: false, children: new Set<ChildProcess>() };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.requested) return;
    stop.requested = true;
    env.logger.warn(`Received ${signal}: stopping; work in uncommitted chunks is rolled back`);
    for (const child of stop.children) child.kill('SIGTERM');
    setTimeout(() => stop.children.forEach((child) => child.kill('SIGKILL')), 10_000).unref();
  };
  if (!options.sync) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    for (const phase of phases) {
      if (stop.requested) break;
      if (options.sync) {
        for (const Class of phase) {
          if (stop.requested) break;
          board.start(Class.name);
          const result = await executeProcessor(Class, {
            engine: env.engine!,
            settings: env.settings,
            logger: env.logger,
            onProgress: (rows) => board.update(Class.name, rows),
          });
          board.end(Class.name);
          stats.push(result);
          if (result.error) failures.push(failureOf(result.processor, result.error));
        }
      } else {
        const results = await Promise.all(phase.map((Class) => runForked(env, Class, options, board, stop.children)));
        for (const { stat, failure } of results) {
          stats.push(stat);
          if (failure) failures.push(failure);
        }
      }
    }
  } finally {
    board.clear();
    if (!options.sync) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  return { stats, failures, interrupted: stop.requested };
}

function failureOf(processor: string, error: CorralError): Failure {
  const cause = error.cause instanceof Error ? error.cause : error;
  return { processor, message: error.message, hint: error.hint, stack: cause.stack };
}

function runForked(
  env: Environment,
  Class: ProcessorClass,
  options: RunOptions,
  board: ProgressBoard,
  children: Set<ChildProcess>,
): Promise<{ stat: RunStats; failure: Failure | undefined }> {
  const kind = kindOf(Class);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = fork(CHILD_ENTRY, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, CORRAL_SETTINGS: env.settings.settingsFile },
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--inspect')),
    });
    children.add(child);
    board.start(Class.name);
    let final: ChildMessage | undefined;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') board.update(Class.name, message.rows);
      else final = message;
    });
    const message: RunMessage = {
      type: 'run',
      settingsFile: env.settings.settingsFile,
      kind,
      name: Class.name,
      logLevel: options.logLevel,
      logFormat: options.logFormat,
      connection: env.mode === 'in' ? undefined : env.connection,
    };
    child.send(message);
    child.on('exit', (code, signal) => {
      children.delete(child);
      board.end(Class.name);
      const seconds = (Date.now() - started) / 1000;
      if (final?.type === 'done' && code === 0) {
        resolve({ stat: { processor: Class.name, kind, status: 'ok', rows: final.rows, seconds }, failure: undefined });
        return;
      }
      const failure: Failure =
        final?.type === 'failed'
          ? { processor: Class.name, message: final.message, hint: final.hint, stack: final.stack }
          : {
              processor: Class.name,
              message: `${Class.name} stopped before reporting (${signal ? `killed by ${signal}` : `exit code ${code}`}); its chunk in flight was rolled back`,
              hint: undefined,
              stack: undefined,
            };
      const rows = final && final.type !== 'progress' ? final.rows : 0;
      resolve({ stat: { processor: Class.name, kind, status: 'failed', rows, seconds }, failure });
    });
  });
}

/** The end-of-run summary: one line per processor, then one line per failure. */
export function printReport(report: RunReport, output: Output, traceback: boolean): void {
  if (report.stats.length === 0) {
    output.err('Nothing to run: no processor is selected.\n');
    return;
  }
  const width = Math.max(...report.stats.map((s) => s.processor.length), 9);
  output.err('\n');
  for (const s of report.stats) {
    const status = s.status === 'ok' ? 'ok    ' : 'FAILED';
    output.err(`  ${status}  ${s.kind.padEnd(6)} ${s.processor.padEnd(width)} ${String(s.rows).padStart(9)} rows ${s.seconds.toFixed(2).padStart(8)} s\n`);
  }
  for (const failure of report.failures) {
    output.err(`Error: ${failure.message}\n`);
    if (failure.hint) output.err(`  ${failure.hint}\n`);
    if (traceback && failure.stack) output.err(failure.stack + '\n');
  }
  if (report.failures.length > 0 && !traceback) output.err('(run again with --traceback for the stack)\n');
  if (report.interrupted) output.err('Interrupted: committed chunks are kept; run again to continue.\n');
}
