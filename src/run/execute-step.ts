import type { Logger } from '../core/logger.js';
import { blameOf } from '../db/blame.js';
import type { InsertBatching, Transaction } from '../db/engine.js';
import { describeKey, type ModelClass, type ModelInstance } from '../db/model.js';
import { RowRefusedAt } from '../db/refusal.js';
import type { LoopOutcome, RunContext } from './execute.js';
import { CONTEXT } from '../processors/processor-context.js';
import { FailureLog, type RowFailure, setAsideReport } from '../db/bookkeeping/failures.js';
import { Reconnect, isTransient } from './reconnect.js';
import { checkKeyKinds } from '../db/bookkeeping/row-keys.js';
import type { Step } from '../processors/step.js';
import { isThenable, storeProduced } from './produced.js';
import { type Chunk, WorkSet } from './work-set.js';
import { overrides } from './loop.js';

type Beat = (rows: number, failed: number, inFlight: number) => Promise<void>;


/** Failure isolation needs a key corral can remember; other steps fail as a whole on a bad row. */
function failureLogFor(Class: typeof Step, Model: ModelClass, context: RunContext): FailureLog | undefined {
  try {
    checkKeyKinds(Class.name, Model);
  } catch {
    return undefined;
  }
  return new FailureLog(context.engine, Class.name, Model, context.settings);
}

/**
 * Whether a connection error thrown while a row was processed is the database's: a
 * network error of the pipeline's own (an HTTP call in `process`) is the row's. Asked
 * on the failure path only: the transaction's own connection answers, or it is gone.
 */
async function databaseLost(tx: Transaction | undefined, error: unknown): Promise<boolean> {
  if (!tx || blameOf(error) === 'retry') return true;
  return tx.connectionLost();
}

/**
 * The step loop: chunk by chunk, one transaction each. When `process` throws on a
 * row, or the database refuses what the row wrote (also when that shows only as the
 * chunk's batched update fails: `Transaction.flush` finds the row), the chunk is
 * rolled back, the row is recorded in `corral_failures` (retried on later runs with
 * backoff, quarantined after `maxAttempts`), the rows before it are processed again
 * and committed, and the step moves on. A lost connection or a lost race (anywhere in
 * the chunk, COMMIT included) is nobody's row: the chunk is rolled back and read again
 * on a fresh connection after a backoff (`reconnect.ts`). A database that cannot
 * work (disk full) stops the step. `process` therefore runs at least once per row,
 * and its result is committed exactly once.
 */
export async function runStepRows(
  step: Step,
  Class: typeof Step,
  Model: ModelClass,
  context: RunContext,
  chunkSize: number,
  logger: Logger,
  beat: Beat,
): Promise<LoopOutcome> {
  const reconnect = new Reconnect(context.engine.label, context.settings.reconnectSeconds, logger);
  const failures = failureLogFor(Class, Model, context);
  if (failures) await reconnect.run(() => failures.load());
  const workSet = new WorkSet(
    {
      Model,
      conditions: Class.conditions ?? [],
      ordering: Class.ordering,
      restriction: failures?.restriction(),
      chunkSize,
      partition: context.partition,
    },
    context.engine.store,
  );
  // What the step's `this.db` and `this.save` use, pointed at each transaction opened below.
  const own = step[CONTEXT]!;
  const rowFailures: RowFailure[] = [];
  let rows = 0;
  let failure: unknown;
  let failedRow: string | undefined;
  let stopped = false;
  let setUp = false;
  // PostgreSQL: the rows `process` yields are held back and written a chunk at a time
  // (one `INSERT … SELECT unnest` per table and column set, as the loader's). One refused
  // then is the failure of the row that yielded it: `producers` holds, for each row
  // yielded in the chunk, its producer's place in the chunk, and the refusal stays the
  // chunk's even when `process` caught it (it shows at a query of its own, which writes
  // the rows held back first). A no-op on SQLite, which writes each row at once.
  let producers: number[] = [];
  let refusedAt: RowRefusedAt | undefined;
  const batching: InsertBatching = {
    // A step may yield few rows: ids from a sequence are taken one, then two, four, … at a
    // time (up to 8 chunks' worth), so that few are left over (a gap) at the end of a run.
    idsPerTrip: chunkSize,
    firstIds: 1,
    refused: async (_row, refusal, place) => {
      refusedAt ??= new RowRefusedAt(refusal instanceof Error ? refusal.message : String(refusal), producers[place] ?? index, { cause: refusal });
      throw refusedAt;
    },
  };
  let index = 0;
  try {
    if (overrides(step, 'setup')) await reconnect.run(() => context.engine.inTransaction(own.inside(() => step.setup()), context.stop));
    setUp = true;
    while (!workSet.done) {
      await beat(rows, rowFailures.length, chunkSize);
      // After the beat's turn of the event loop: a signal that came during the chunk
      // just committed is seen now, not one chunk later.
      if (context.stop?.requested) {
        stopped = true;
        break;
      }
      let tx: Transaction | undefined;
      let chunk: Chunk | undefined;
      let reading = false;
      let current: ModelInstance | undefined;
      index = 0;
      producers = [];
      refusedAt = undefined;
      try {
        tx = own.enter(await context.engine.begin(context.stop));
        tx.batchInserts(batching);
        reading = true;
        chunk = await workSet.nextChunk(tx.db);
        for (let i = 0; i < chunk.length; i++) {
          current = chunk.instance(i);
          // The common case (a synchronous process that only changes its row) awaits nothing.
          let produced: unknown = step.process(current);
          if (isThenable(produced)) produced = await produced;
          if (produced !== undefined && produced !== null) await storeProduced(step, () => tx!, produced, () => void producers.push(index));
          const saved = tx.saveProcessed(current);
          if (saved) await saved;
          if (failures?.anyRecorded) await failures.forget(tx.db, current);
          index += 1;
        }
        current = undefined;
        if (refusedAt) throw refusedAt;
        await tx.commit();
        reconnect.succeeded();
        rows += chunk.length;
        context.onProgress?.(rows);
      } catch (error) {
        const lost = isTransient(error) && (current === undefined || (await databaseLost(tx, error)));
        // Never throws: on a dead connection the rollback's own error is dropped.
        await tx?.rollback().catch(() => undefined);
        if (lost) {
          // Nobody's row: read the same chunk again on a fresh connection, after a wait.
          await reconnect.backOff(error);
          if (reading) workSet.again();
          continue;
        }
        if (blameOf(error) === 'server') throw error;
        // The chunk's batched update or a yielded row was refused: found again row by row, it is that row's failure.
        const refused = refusedAt ?? (error instanceof RowRefusedAt ? error : undefined);
        let failed: unknown = error;
        if (refused && chunk && refused.index >= 0 && refused.index < chunk.length) {
          failed = refused;
          index = refused.index;
          current = chunk.instance(index);
        }
        if (current === undefined || !failures) {
          failedRow = current ? describeKey(Model, current) : undefined;
          throw failed;
        }
        const failedOne = current;
        const key = describeKey(Model, failedOne);
        const recorded = await reconnect.run(() => failures.record(failedOne, failed));
        rowFailures.push(setAsideReport(key, failed, recorded, context.settings.maxAttempts, logger));
        // Read the rows before the failed one again; the failed row is now left out.
        workSet.rewind(index);
      }
    }
  } catch (error) {
    failure = error;
  } finally {
    if (setUp && overrides(step, 'teardown')) {
      try {
        await reconnect.run(() => context.engine.inTransaction(own.inside(() => step.teardown(failure))));
      } catch (error) {
        failure ??= error;
      }
    }
  }
  return { rows, failure, failedRow, rowFailures, stopped };
}
