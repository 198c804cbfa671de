import { StoppedWhileWaiting } from '../db/sqlite-lock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { blameOf } from '../db/blame.js';
import { columnsOf, describeKey, type ModelClass, type ModelInstance } from '../db/model.js';
import type { InsertBatching, Transaction } from '../db/engine.js';
import type { LoopOutcome, RunContext } from './execute.js';
import { CONTEXT } from '../processors/processor-context.js';
import { FailureLog, type RowFailure } from '../db/bookkeeping/failures.js';
import { overrides, yieldToEventLoop } from './loop.js';
import type { Loader } from '../processors/loader.js';
import { DatabaseUnreachable, Reconnect, isTransient } from './reconnect.js';
import { checkKeyKinds, keyText } from '../db/bookkeeping/row-keys.js';
import { isThenable, storeProduced } from './produced.js';

/**
 * SQLite: new rows per INSERT statement (store/sqlite-insert-batch.ts). Past about
 * 10 a statement's own cost per row hardly falls (1M PointSource rows: 0.6 s of
 * CPU in statements of 10 rows, 0.5 s of 50, 1.2 s one by one); 50 divides the usual chunk sizes.
 */
const ROWS_PER_STATEMENT = 50;

/** Thrown through the loader's generator to stop it between chunks. */
class StopRequested extends Error {}

/**
 * How a refused object is remembered in `corral_failures`: by its primary key when
 * it has one (set, and of a kind corral can write as text), else by its place in
 * this run's output, `#<n>` (1 for the first object generated).
 */
function refusedKey(Model: ModelClass, item: ModelInstance, ordinal: number): { key: string; shown: string } {
  const row = columnsOf(item);
  const keyed = Model.primaryKey.every((name) => row[name] !== undefined && row[name] !== null);
  if (keyed) {
    try {
      checkKeyKinds(Model.name, Model);
      return { key: keyText(Model, item), shown: `${Model.name} ${describeKey(Model, item)}` };
    } catch {
      // A key corral cannot write as text: by its place instead.
    }
  }
  return { key: `#${ordinal}`, shown: `${Model.name} #${ordinal}` };
}

/**
 * Feeds the stream: saves what `generate()` yields, committing every `chunkSize`
 * objects. An object the database refuses (too long, a taken unique value, a missing
 * foreign key, NOT NULL) is recorded in `corral_failures` in the chunk's transaction
 * and counted as a failed row, and the loader goes on: every other object commits.
 * On SQLite new rows numbered by the table are held back and written 50 to an
 * INSERT (store/sqlite-insert-batch.ts), before anything else reaches the
 * connection; a refused one is found again row by row, named by its place.
 * On PostgreSQL new rows are held back and written a chunk at a time (`batchInserts`,
 * store/pg-insert-batch.ts): a refusal is then found at the flush and named by the
 * row's place in the output; a row written alone and refused is survived through the
 * replay of `keepInsertJournal` (store/postgres.ts). Any other
 * failure rolls back the chunk in flight only; `teardown` learns of it. A lost
 * connection stops the loader with one line: its generator cannot be run again.
 */
export async function runLoader(loader: Loader, context: RunContext, chunkSize: number, logger: Logger): Promise<LoopOutcome> {
  const name = loader.constructor.name;
  const { engine } = context;
  const reconnect = new Reconnect(engine.label, context.settings.reconnectSeconds, logger);
  const rowFailures: RowFailure[] = [];
  const logs = new Map<ModelClass, FailureLog>();
  let stored = 0;
  let inChunk = 0;
  let refused = 0;
  let failuresBeforeChunk = 0;
  /** Objects generated before the chunk in flight (stored or refused): a row held back is named by its place after them. */
  let producedBeforeChunk = 0;
  let error: unknown;
  let stopped = false;
  // What the loader's `this.db` and `this.save` use, pointed at each transaction opened below.
  const own = loader[CONTEXT]!;
  if (overrides(loader, 'setup')) await reconnect.run(() => engine.inTransaction(own.inside(() => loader.setup()), context.stop));
  let tx: Transaction | undefined;
  const begin = async () => {
    tx = own.enter(await engine.begin(context.stop));
    tx.keepInsertJournal();
    tx.batchInserts(batching);
    producedBeforeChunk = stored + refused;
    failuresBeforeChunk = rowFailures.length;
  };
  const batching: InsertBatching = {
    idsPerTrip: chunkSize,
    rowsPerStatement: Math.min(ROWS_PER_STATEMENT, chunkSize),
    refused: (item, refusal, place) => onRefusedLater(item, refusal, producedBeforeChunk + place + 1),
  };
  const onRefused = (item: ModelInstance, refusal: unknown) => record(item, refusal, stored + refused + 1);
  // A row held back (PostgreSQL) was counted as stored when it was yielded.
  const onRefusedLater = (item: ModelInstance, refusal: unknown, ordinal: number) => {
    stored -= 1;
    inChunk -= 1;
    return record(item, refusal, ordinal);
  };
  const record = async (item: ModelInstance, refusal: unknown, ordinal: number) => {
    const Model = item.model;
    refused += 1;
    const { key, shown } = refusedKey(Model, item, ordinal);
    let log = logs.get(Model);
    if (!log) logs.set(Model, (log = new FailureLog(engine, name, Model, context.settings)));
    const recorded = await log.recordIn(tx!.db, key, refusal);
    rowFailures.push({
      key: shown,
      message: describeError(refusal),
      attempts: recorded.attempts,
      quarantined: recorded.quarantined,
      stack: refusal instanceof Error ? refusal.stack : undefined,
    });
    logger.warn({ row: shown, attempts: recorded.attempts }, `${shown} was refused by the database and not stored: ${describeError(refusal)}`);
  };
  try {
    // Waits out a connection lost before the first chunk as `setup` would have (`setup` may not have run).
    await reconnect.run(begin);
    let produced: unknown = loader.generate();
    if (isThenable(produced)) produced = await produced;
    const nextChunk = async () => {
      await tx!.commit();
      context.onProgress?.(stored);
      inChunk = 0;
      await yieldToEventLoop();
      if (context.stop?.requested) throw new StopRequested();
      await begin();
    };
    // Returns a promise only when a chunk ends, so storing a row awaits nothing.
    await storeProduced(
      loader,
      () => tx!,
      produced,
      () => {
        stored += 1;
        if (++inChunk >= chunkSize) return nextChunk();
      },
      onRefused,
    );
    await tx!.commit();
    context.onProgress?.(stored);
  } catch (caught) {
    if (caught instanceof StopRequested || caught instanceof StoppedWhileWaiting) {
      stopped = true;
    } else {
      error = caught;
      await tx?.rollback().catch(() => undefined);
      stored -= inChunk;
      // Their records were in the chunk rolled back.
      rowFailures.length = failuresBeforeChunk;
      // DatabaseUnreachable: the first chunk's `begin` gave up (Reconnect.run), already said in one line.
      if (isTransient(caught) && !(caught instanceof DatabaseUnreachable)) {
        const what = blameOf(caught) === 'retry' ? `was stopped by a conflict on ${engine.label}` : `lost its connection to ${engine.label}`;
        error = new DatabaseUnreachable(
          `${what} while loading: ${describeError(caught)} (the chunk in flight was rolled back; ${stored} objects were committed before it)`,
          caught,
        );
      }
    }
  } finally {
    try {
      if (overrides(loader, 'teardown')) await reconnect.run(() => engine.inTransaction(own.inside(() => loader.teardown(error))));
    } catch (caught) {
      error ??= caught;
    }
  }
  return error === undefined ? { rows: stored, stopped, rowFailures } : { rows: stored, failure: error, rowFailures };
}
