import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { CorralError } from '../core/errors.js';
import type { LogFormat, LogLevel } from '../core/logger.js';
import type { Output } from '../core/output.js';
import type { Environment } from '../run/environment.js';
import { compiledSettingsModule } from '../conf/load.js';
import { describeError } from '../core/errors.js';
import { executeProcessor, type RunStats, type StopFlag } from '../run/execute.js';
import { kindOf, modelOf } from '../run/processor-class.js';
import { endRunsOf } from '../db/bookkeeping/run-record.js';
import type { RowFailure } from '../db/bookkeeping/failures.js';
import type { ProcessorClass } from '../processors/processor.js';
import { isAlertClass, isStepClass } from '../processors/processor-kinds.js';
import { ProgressBoard } from './progress.js';
import { backlogOf, hasBacklog } from '../run/status.js';
import type { ChildMessage, RunMessage, StartMessage, StopMessage } from './protocol.js';
import { forkChild, workerEnvironment } from './fork.js';
import { dropSpareWorker, takeSpareWorker } from './spare.js';

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
  /** Shared with the caller, so a loop of runs stops on the same signal. */
  readonly stop?: StopFlag;
}

/** A failure as the runner reports it: one line, and the stack for --traceback. */
export interface Failure {
  readonly processor: string;
  readonly message: string;
  readonly hint: string | undefined;
  readonly stack: string | undefined;
}

export interface RunReport {
  /** One entry per processor (its workers combined). */
  readonly stats: readonly RunStats[];
  /** Processors that failed as a whole. */
  readonly failures: readonly Failure[];
  readonly interrupted: boolean;
}

/** How many processes share a processor: the `procs` setting, else the class's, else 1. */
export function procsOf(Class: ProcessorClass, env: Environment): number {
  if (!isStepClass(Class) && !isAlertClass(Class)) return 1;
  const wanted = env.settings.procs[Class.name] ?? Class.procs ?? 1;
  if (wanted <= 1) return 1;
  const Model = modelOf(Class);
  const pk = Model.primaryKey;
  if (pk.length !== 1 || !['integer', 'bigint'].includes(Model.columns[pk[0]!]!.spec.kind)) {
    env.logger.warn(`${Class.name}: procs ${wanted} needs a single integer primary key to split rows; running 1 process`);
    return 1;
  }
  return wanted;
}

/**
 * Runs processors phase by phase: every processor of a phase at once, one forked
 * child per process (`procs` of them share a processor's rows, split by key), or
 * in-process with `sync`; the next phase starts when all are done. `run-all`
 * uses the phases loader → steps → alerts, so steps see what the loader committed
 * and alerts see what the steps wrote (the original started all at once).
 *
 * SIGINT/SIGTERM stop the run gracefully: children finish or roll back their chunk
 * in flight and report; a second signal, or 30 s, ends them at once.
 */
export async function runPhases(env: Environment, phases: readonly (readonly ProcessorClass[])[], options: RunOptions): Promise<RunReport> {
  const board = new ProgressBoard(options.output, { enabled: options.progress ?? options.output.interactive });
  const stats: RunStats[] = [];
  const failures: Failure[] = [];
  const stop = options.stop ?? { requested: false };
  const children = new Set<ChildProcess>();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      stop.requested = true;
      env.logger.warn(`Received ${signal}: finishing the chunks in flight, then stopping (again to stop at once)`);
      for (const child of children) askToStop(child);
      setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), 30_000).unref();
    } else {
      for (const child of children) child.kill('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const inProcess = async (Class: ProcessorClass): Promise<WorkerResult> => {
    board.start(Class.name, await backlogForBoard(env, Class, board));
    const result = await executeProcessor(Class, {
      engine: env.engine!,
      settings: env.settings,
      logger: env.logger,
      stop,
      onProgress: (rows) => board.update(Class.name, rows),
    });
    board.end(Class.name);
    return { stat: result, failure: result.error ? failureOf(result.processor, result.error) : undefined };
  };
  // A phase's processes are forked while the phase before it works, so that they have
  // opened their environment when it comes (only one phase ahead: every process holds
  // a database connection, and PostgreSQL allows 100 by default). A step or alert with
  // nothing to do is not worth a process (~0.2 s of CPU): it runs here, in milliseconds.
  const prepared = new Map<ProcessorClass, PreparedWorkers>();
  const forkThoseWithWork = async (phase: readonly ProcessorClass[] | undefined) => {
    for (const Class of phase ?? []) {
      if (!prepared.has(Class) && (await worthAProcess(env, Class))) prepared.set(Class, prepareWorkers(env, Class, options, children, stop, board));
    }
  };
  try {
    for (const [index, phase] of phases.entries()) {
      if (stop.requested) break;
      if (options.sync) {
        for (const Class of phase) {
          if (stop.requested) break;
          const { stat, failure } = await inProcess(Class);
          stats.push(stat);
          if (failure) failures.push(failure);
        }
        continue;
      }
      // Earlier phases may have given work to a processor that had none before.
      await forkThoseWithWork(phase);
      const running = new Map(phase.filter((Class) => prepared.has(Class)).map((Class) => [Class, prepared.get(Class)!.start(board)]));
      await forkThoseWithWork(phases[index + 1]);
      // A worker forked ahead (fork.ts) that none of these took is not needed: it goes now, not at the end.
      dropSpareWorker();
      const done = new Map<ProcessorClass, WorkerResult>();
      for (const [Class, result] of running) done.set(Class, await result);
      // Those that had no work are asked again now: rows that a processor of the same
      // phase wrote in the meantime are theirs in this run (the iris example's species
      // steps read the rows that StatisticsCreator creates). With rows they get their
      // processes, `procs` and all; still without, they run here, one at a time.
      const late = phase.filter((Class) => !running.has(Class));
      await forkThoseWithWork(late);
      const lateRunning = new Map(late.filter((Class) => prepared.has(Class)).map((Class) => [Class, prepared.get(Class)!.start(board)]));
      for (const Class of late) if (!lateRunning.has(Class)) done.set(Class, await inProcess(Class));
      for (const [Class, result] of lateRunning) done.set(Class, await result);
      for (const Class of phase) {
        const { stat, failure } = done.get(Class)!;
        stats.push(stat);
        if (failure) failures.push(failure);
      }
    }
  } finally {
    for (const workers of prepared.values()) workers.cancel();
    dropSpareWorker();
    board.clear();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { stats, failures, interrupted: stop.requested };
}

/** The graceful stop of a child: a `stop` message while its channel is open (protocol.ts), else SIGTERM. */
function askToStop(child: ChildProcess): void {
  if (!child.connected) {
    child.kill('SIGTERM');
    return;
  }
  child.send({ type: 'stop' } satisfies StopMessage, (error) => {
    if (error) child.kill('SIGTERM');
  });
}

function failureOf(processor: string, error: CorralError): Failure {
  const cause = error.cause instanceof Error ? error.cause : error;
  return { processor, message: error.message, hint: error.hint, stack: cause.stack };
}

interface WorkerResult {
  stat: RunStats;
  failure: Failure | undefined;
}

/**
 * The backlog of a step or alert as its run starts, for the progress line's "done of
 * total": counted only when the line is drawn (a count costs a scan), and before the
 * processor starts, so the rows it takes are in it. Undefined for the loader.
 */
async function backlogForBoard(env: Environment, Class: ProcessorClass, board: ProgressBoard): Promise<number | undefined> {
  if (!board.drawing) return undefined;
  try {
    return (await backlogOf(env.engine!, Class, env.settings)) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Whether a processor has rows waiting (a loader always has work); when unsure, yes. */
async function worthAProcess(env: Environment, Class: ProcessorClass): Promise<boolean> {
  try {
    return await hasBacklog(env.engine!, Class, env.settings);
  } catch {
    // A missing table, say: the child reports it in the usual way.
    return true;
  }
}

/** The processes of one processor, forked and opening their environment, waiting for `start`. */
interface PreparedWorkers {
  start(board: ProgressBoard): Promise<WorkerResult>;
  /** Ends processes that never started (the run stopped before their phase); no-op once started. */
  cancel(): void;
}

/** Forks the processes of one processor; `start` runs them and combines what they report. */
function prepareWorkers(env: Environment, Class: ProcessorClass, options: RunOptions, children: Set<ChildProcess>, stop: StopFlag, board: ProgressBoard): PreparedWorkers {
  const count = procsOf(Class, env);
  const progress = new Array<number>(count).fill(0);
  let onProgress: (rows: number) => void = () => undefined;
  const workers = Array.from({ length: count }, (_, index) =>
    forkWorker(env, Class, options, count > 1 ? { index, count } : undefined, children, stop, board, (rows) => {
      progress[index] = rows;
      onProgress(progress.reduce((a, b) => a + b, 0));
    }),
  );
  let started = false;
  return {
    cancel: () => {
      if (!started) workers.forEach((worker) => worker.cancel());
    },
    async start(board) {
      started = true;
      board.start(Class.name, await backlogForBoard(env, Class, board));
      onProgress = (rows) => board.update(Class.name, rows);
      const results = await Promise.all(workers.map((worker) => worker.start()));
      board.end(Class.name);
      return combine(Class, results, count);
    },
  };
}

function combine(Class: ProcessorClass, results: readonly WorkerResult[], count: number): WorkerResult {
  const statuses = results.map((r) => r.stat.status);
  const status = statuses.includes('failed') ? 'failed' : statuses.includes('stopped') ? 'stopped' : 'ok';
  const stat: RunStats = {
    processor: Class.name,
    kind: kindOf(Class),
    status,
    rows: results.reduce((n, r) => n + r.stat.rows, 0),
    failedRows: results.reduce((n, r) => n + r.stat.failedRows, 0),
    rowFailures: results.flatMap((r) => r.stat.rowFailures),
    seconds: Math.max(...results.map((r) => r.stat.seconds)),
  };
  const failed = results.map((r) => r.failure).filter((f): f is Failure => f !== undefined);
  const failure = failed.length === 0 ? undefined : failed.length === 1 ? failed[0] : { ...failed[0]!, message: `${failed[0]!.message} (and ${failed.length - 1} more of its ${count} processes)` };
  return { stat, failure };
}

interface Worker {
  start(): Promise<WorkerResult>;
  cancel(): void;
}

function forkWorker(
  env: Environment,
  Class: ProcessorClass,
  options: RunOptions,
  partition: { index: number; count: number } | undefined,
  children: Set<ChildProcess>,
  stop: StopFlag,
  board: ProgressBoard,
  onProgress: (rows: number) => void,
): Worker {
  const kind = kindOf(Class);
  let started = Date.now();
  const child = takeSpareWorker(env.settings.settingsFile) ?? forkChild(env.settings.settingsFile);
  children.add(child);
  const stderrRead = forwardLines(child.stderr!, (line) => board.write(line));
  let final: ChildMessage | undefined;
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'progress') onProgress(message.rows);
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
    partition,
    compiled: env.compiled,
    compiledModule: env.compiled ? compiledSettingsModule(env.settings.settingsFile) : undefined,
    env: workerEnvironment(env.settings.settingsFile),
    cwd: process.cwd(),
  };
  child.send(message);
  const result = new Promise<WorkerResult>((resolve) => {
    child.on('exit', async (code, signal) => {
      children.delete(child);
      const seconds = (Date.now() - started) / 1000;
      // Its last lines (a crash's stack) are written before its outcome is told.
      await Promise.race([stderrRead, delay(STDERR_END_MS, undefined, { ref: false })]);
      const empty = { processor: Class.name, kind, failedRows: 0, rowFailures: [] as RowFailure[], seconds };
      if (final?.type === 'done') {
        const stat: RunStats = { ...empty, status: final.status, rows: final.rows, failedRows: final.failedRows, rowFailures: final.rowFailures };
        resolve({ stat, failure: undefined });
        return;
      }
      const where = partition ? ` (process ${partition.index + 1} of ${partition.count})` : '';
      const failure: Failure =
        final?.type === 'failed'
          ? { processor: Class.name, message: final.message, hint: final.hint, stack: final.stack }
          : {
              processor: Class.name,
              message: `${Class.name}${where} stopped before reporting (${signal ? `killed by ${signal}` : `exit code ${code}`}); its chunk in flight was rolled back`,
              hint: 'Its rows are processed by the next run',
              stack: undefined,
            };
      const rows = final?.type === 'failed' ? final.rows : 0;
      const reported = { stat: { ...empty, status: 'failed' as const, rows }, failure };
      if (final || child.pid === undefined) return resolve(reported);
      // It could not end its corral_runs row: end it here, or it would stay `running`.
      void endRunsOfChild(env, child.pid, stop.requested ? 'stopped' : 'failed', failure.message).finally(() => resolve(reported));
    });
  });
  return {
    start() {
      started = Date.now();
      // A child that failed to open its environment has already reported and gone.
      if (child.connected) child.send({ type: 'start' } satisfies StartMessage);
      return result;
    },
    cancel() {
      if (child.connected) child.disconnect();
    },
  };
}

/** A child's stderr ends with the child, unless a process it started holds it open: not waited for longer than this. */
const STDERR_END_MS = 2_000;

/**
 * Writes each whole line of `stream` to `write` as it comes, and what is left without
 * a newline at its end. Resolves when the stream ends.
 */
function forwardLines(stream: Readable, write: (line: string) => void): Promise<void> {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const text = pending + chunk;
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      pending = text;
      return;
    }
    pending = text.slice(end + 1);
    write(text.slice(0, end + 1));
  });
  return new Promise((resolve) => {
    const done = () => {
      if (pending) write(pending + '\n');
      pending = '';
      resolve();
    };
    stream.once('end', done);
    stream.once('error', done);
  });
}

/** How long the parent waits for SQLite's lock to end a dead child's runs (it is stopping, or reporting a crash). */
const END_RUNS_WAIT_MS = 10_000;

async function endRunsOfChild(env: Environment, pid: number, status: 'stopped' | 'failed', message: string): Promise<void> {
  const until = Date.now() + END_RUNS_WAIT_MS;
  const patience = {
    get requested() {
      return Date.now() > until;
    },
  };
  try {
    await endRunsOf(env.engine!, pid, status, message, patience);
  } catch (error) {
    env.logger.warn(`Could not mark the runs of process ${pid} as ${status} in corral_runs: ${describeError(error)}`);
  }
}
