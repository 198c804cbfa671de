import { CorralError, ImproperlyConfigured, ProcessorError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { blameOf } from '../db/blame.js';
import type { Engine } from '../db/engine.js';
import { StoppedWhileWaiting } from '../db/sqlite-lock.js';
import type { Outbox } from '../processors/endpoints/outbox.js';
import { runAlertRows } from './execute-alert.js';
import { runLoader } from './execute-loader.js';
import { yieldToEventLoop } from './loop.js';
import { runStepRows } from './execute-step.js';
import type { RowFailure } from '../db/bookkeeping/failures.js';
import { HeartbeatThread } from './heartbeat.js';
import { RunRecord } from '../db/bookkeeping/run-record.js';
import { recordUnstarted, moveSpooledRuns, unstartedStatus } from '../db/bookkeeping/unrecorded.js';
import { DatabaseUnreachable, ProcessorLostDatabase, isTransient } from './reconnect.js';
import type { Processor, ProcessorClass } from '../processors/processor.js';
import { CONTEXT, ProcessorContext } from '../processors/processor-context.js';
import { isAlertClass, isLoaderClass, isStepClass } from '../processors/processor-kinds.js';
import { tablesWritten } from '../processors/written-tables.js';
import { kindOf, modelOf, type ProcessorKind } from './processor-class.js';

/** Asked between chunks; set by a signal handler to stop gracefully. */
export interface StopFlag {
  requested: boolean;
}

export interface RunContext {
  readonly engine: Engine;
  readonly settings: ResolvedSettings;
  readonly logger: Logger;
  /** Called after each committed chunk with the rows done so far. */
  readonly onProgress?: (rows: number) => void;
  /** This worker's share of the rows when several processes work on one processor. */
  readonly partition?: { readonly index: number; readonly count: number } | undefined;
  readonly stop?: StopFlag;
  /** Tests: Email and Webhook keep what they would send here instead of sending it (see Outbox). */
  readonly outbox?: Outbox | undefined;
}

/** A row whose processing threw: it was rolled back alone and recorded for retry. */
export interface RunStats {
  readonly processor: string;
  readonly kind: ProcessorKind;
  /** `failed`: the processor itself failed (setup, database, an endpoint); `stopped`: by a signal. */
  readonly status: 'ok' | 'failed' | 'stopped';
  /** Rows read (steps, alerts) or objects stored (loader) and committed. */
  readonly rows: number;
  /** Rows that threw and were set aside for retry or quarantine. */
  readonly failedRows: number;
  readonly rowFailures: readonly RowFailure[];
  readonly seconds: number;
  readonly error?: CorralError;
}

/** What a processor loop reports back to executeProcessor. */
export interface LoopOutcome {
  rows: number;
  failure?: unknown;
  failedRow?: string | undefined;
  rowFailures?: RowFailure[];
  stopped?: boolean;
}

/** For a database that cannot work (disk full, read-only, out of memory, no permission): nobody's row. */
const SERVER_HINT = 'The database itself cannot go on (see the message): no row was blamed and the committed chunks are kept. Fix the database (free disk space, permissions), then run again.';

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/**
 * Run history is bookkeeping: when it cannot be written, say so and carry on. A
 * connection lost since the last write is tried once more, on a fresh connection
 * (the pool drops the dead one); a database still out of reach is not waited for.
 */
async function safely(logger: Logger, what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    try {
      if (!isTransient(error)) throw error;
      await work();
    } catch (again) {
      logger.warn(`Could not ${what}: ${describeError(again)}`);
    }
  }
}

/**
 * Runs one processor to the end of its work in this process: the single entry
 * behind `load`, `run`, `check-alerts`, `run-all` (in each child) and tests.
 */
export async function executeProcessor(Class: ProcessorClass, context: RunContext): Promise<RunStats> {
  const kind = kindOf(Class);
  // The global `performance`, not an import of node:perf_hooks: loaded on first use, not by every command at start-up.
  const started = performance.now();
  const startedAt = Date.now();
  const logger = context.logger.child({ processor: Class.name });
  const partition = context.partition && context.partition.count > 1 ? `${context.partition.index}/${context.partition.count}` : undefined;
  let record: RunRecord | undefined;
  /** Why the run's row could not be written at its start (it is then written at its end: unrecorded.ts). */
  let unrecorded: unknown;
  const { leaseSeconds } = context.settings;
  const heartbeat = (runId: number) => HeartbeatThread.start(context.engine, runId, leaseSeconds, logger);
  const startRecord = () => RunRecord.start(context.engine, Class.name, kind, partition, { leaseSeconds, logger, heartbeat }, context.stop);
  try {
    // As `safely`: a connection lost since the last write is tried once more.
    record = await startRecord().catch((error: unknown) => (isTransient(error) ? startRecord() : Promise.reject(error)));
  } catch (error) {
    unrecorded = error;
    if (!(error instanceof StoppedWhileWaiting)) logger.warn(`Could not record the run in corral_runs: ${describeError(error)}`);
  }
  if (record) await safely(logger, 'move the runs recorded beside the database into corral_runs', () => moveSpooledRuns(context.engine, context.stop));
  // Called inside the try: a constructor that throws fails the processor like any other error of its own.
  let processor: Processor | undefined;
  const instance = <P extends Processor>(Concrete: new () => P): P => {
    const made = new Concrete();
    processor = made;
    // Its transaction, settings, logger and outbox; the loop points it at each transaction it opens.
    made[CONTEXT] = new ProcessorContext({ owner: Class.name, engine: context.engine, settings: () => context.settings, logger, outbox: context.outbox });
    return made;
  };
  const chunkSize = Class.chunkSize ?? context.settings.chunkSize;
  let outcome: LoopOutcome = { rows: 0 };
  logger.info(partition ? `Executing ${kind} (rows ${partition})` : `Executing ${kind}`);
  try {
    // Called before every chunk. It also lets the event loop turn: on SQLite a whole run
    // can otherwise go by in microtasks, with signals and progress messages waiting.
    const beat = async (rows: number, failed: number, inFlight: number) => {
      await yieldToEventLoop();
      await safely(logger, 'update corral_runs', async () => record?.beat(rows, failed, inFlight, context.stop));
    };
    if (context.stop?.requested) {
      // Stopped before it began (e.g. while waiting for SQLite's lock to record the run).
      outcome = { rows: 0, stopped: true };
    } else if (isLoaderClass(Class)) {
      outcome = await runLoader(instance(Class), context, chunkSize, logger);
    } else if (isStepClass(Class)) {
      outcome = await runStepRows(instance(Class), Class, modelOf(Class), context, chunkSize, logger, beat);
    } else if (isAlertClass(Class)) {
      outcome = await runAlertRows(instance(Class), Class, modelOf(Class), context, chunkSize, beat);
    }
  } catch (error) {
    outcome = { ...outcome, failure: error };
  }
  // A stop asked while waiting for SQLite's write lock: nothing was begun, nothing failed.
  if (outcome.failure instanceof StoppedWhileWaiting) outcome = { ...outcome, failure: undefined, stopped: true };
  const seconds = (performance.now() - started) / 1000;
  const rowFailures = outcome.rowFailures ?? [];
  // A step writes back the rows it processed: its own model is one of the tables it wrote.
  const wrote = [...new Set([...(processor ? tablesWritten(processor) : []), ...(isStepClass(Class) && outcome.rows > 0 ? [modelOf(Class).table] : [])])];
  /** The run's row written now, when its start could not be: `stopped-waiting` or `not-started` if it did nothing. */
  const recordLate = async (status: string, error: string | undefined) => {
    if (unrecorded === undefined) return;
    const idle = outcome.rows === 0 && rowFailures.length === 0 && status !== 'ok';
    await recordUnstarted(
      context.engine,
      {
        processor: Class.name,
        kind,
        partition: partition ?? null,
        startedAt: new Date(startedAt).toISOString(),
        status: idle ? unstartedStatus(unrecorded) : status,
        rowsDone: outcome.rows,
        rowsFailed: rowFailures.length,
        error: error ?? (idle ? describeError(unrecorded) : `its start could not be recorded: ${describeError(unrecorded)}`),
      },
      logger,
    );
  };
  const counts = { rows: outcome.rows, failedRows: rowFailures.length, rowFailures, seconds };
  if (outcome.failure !== undefined) {
    const failure = outcome.failure;
    // A wrong declaration already names the class; everything else is said as "X failed[ on row K]: ...".
    const error =
      failure instanceof DatabaseUnreachable
        ? new ProcessorLostDatabase(Class.name, failure)
        : failure instanceof ProcessorError || (failure instanceof ImproperlyConfigured && outcome.failedRow === undefined)
          ? failure
          : new ProcessorError(Class.name, failure, outcome.failedRow, blameOf(failure) === 'server' ? SERVER_HINT : undefined);
    logger.error({ rows: outcome.rows, seconds: round(seconds) }, `Failed ${kind}: ${error.message}`);
    await safely(logger, 'update corral_runs', async () => record?.finish('failed', outcome.rows, rowFailures.length, error.message, wrote));
    if (!record) await recordLate('failed', error.message);
    return { processor: Class.name, kind, status: 'failed', ...counts, error };
  }
  const status = outcome.stopped ? 'stopped' : 'ok';
  await safely(logger, 'update corral_runs', async () => record?.finish(status, outcome.rows, rowFailures.length, undefined, wrote));
  if (!record) await recordLate(status, undefined);
  logger.info({ rows: outcome.rows, failed: rowFailures.length, seconds: round(seconds) }, outcome.stopped ? `Stopped ${kind} on request` : `Done ${kind}`);
  return { processor: Class.name, kind, status, ...counts };
}
