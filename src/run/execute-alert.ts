import type { Knex } from 'knex';
import { describeError } from '../core/errors.js';
import { blameOf } from '../db/blame.js';
import type { Engine, Transaction } from '../db/engine.js';
import { Alerted } from '../db/bookkeeping/models.js';
import { describeKey, hydrate, type ModelClass, type ModelInstance } from '../db/model.js';
import type { Alert } from '../processors/alert.js';
import { EndpointUnavailable, RowRejected } from '../processors/endpoints/endpoint.js';
import type { LoopOutcome, RunContext } from './execute.js';
import { CONTEXT } from '../processors/processor-context.js';
import { FailureLog, type RowFailure, setAsideReport } from '../db/bookkeeping/failures.js';
import { keyText, keyTextMatches } from '../db/bookkeeping/row-keys.js';
import { isThenable } from './produced.js';
import type { Restriction } from '../db/conditions.js';
import { WorkSet } from './work-set.js';

/** A batch commits after this many delivered rows (SQLite files)… */
const BATCH_ROWS = 256;
/** …or once it has lasted this long, so that other writers wait no longer than for a turn of the write lock. */
const BATCH_MS = 50;

type Beat = (rows: number, failed: number, inFlight: number) => Promise<void>;

/** Rows not yet announced by this alert: an anti-join on corral_alerted, in SQL. */
export function notYetAlerted(alertName: string, Model: ModelClass, engine: Engine): Restriction {
  return (query) => {
    query.whereNotExists(function (this: Knex.QueryBuilder) {
      this.select(engine.knex.raw('1')).from(Alerted.table).where(`${Alerted.table}.alert`, alertName).andWhere(`${Alerted.table}.model_table`, Model.table);
      keyTextMatches(this, `${Alerted.table}.model_key`, Model, engine.store);
    });
  };
}

/** The rows an alert takes on: not yet alerted, and not backing off or quarantined. */
export function alertRestriction(alertName: string, Model: ModelClass, engine: Engine, failures: FailureLog): Restriction {
  const unsent = notYetAlerted(alertName, Model, engine);
  const notFailing = failures.restriction();
  return (query) => {
    unsent(query);
    notFailing(query);
  };
}

/**
 * Whose fault an error thrown while a row was rendered and sent is. The endpoint's
 * when it says so (`EndpointUnavailable`) or when the database lost its connection
 * or cannot work; the row's when an endpoint rejected it (`RowRejected`), or for
 * anything else (the alert's or an endpoint's own code threw on this row).
 */
export function deliveryFault(error: unknown): 'row' | 'endpoint' {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof RowRejected) return 'row';
    if (e instanceof EndpointUnavailable) return 'endpoint';
  }
  const blame = blameOf(error);
  return blame === 'row' || blame === 'unknown' ? 'row' : 'endpoint';
}

/**
 * The alert loop. Candidates are read a chunk at a time without locks; each row is
 * then claimed, sent and recorded in a transaction: re-read locked (FOR UPDATE SKIP
 * LOCKED on PostgreSQL; SQLite's write lock serialises), still matching and still not
 * alerted, and its corral_alerted record inserted before sending, so concurrent
 * `check-alerts` never send a row twice. The store runs the claim and the record
 * (`Store.alertClaims`: prepared statements on SQLite).
 *
 * A row whose rendering or delivery fails by its own fault (see deliveryFault) is
 * rolled back alone, recorded in corral_failures like a step's failed row, and the
 * alert goes on. An endpoint that is down stops the alert: no row is blamed, the
 * rows delivered before stay recorded, and the rest are sent on the next run.
 *
 * The crash bound: after a crashed alert process (SIGKILL, out of memory, a lost
 * database connection) the next run sends again at most ONE row of that process:
 * the row whose delivery happened and whose record had not committed. No row is
 * lost: a row is recorded only in the transaction that delivers it, so a rollback
 * takes the record away with the row.
 *
 * On PostgreSQL and `:memory:`, each row has a transaction of its own, which commits
 * before the next row is sent: at any moment at most one row is delivered and not
 * recorded. On a SQLite database file, where that commit is most of a row's cost,
 * rows commit in batches (`AlertBatches`): one BEGIN IMMEDIATE, a savepoint per row
 * (a failed row is taken back alone), and COMMIT after BATCH_ROWS delivered rows,
 * after BATCH_MS (other writers wait no longer than a turn of the lock), after a
 * delivery that awaited (a slow SMTP server or webhook never holds the lock across
 * rows), at a stop, or at the chunk's end (the heartbeat and progress see committed
 * rows). The bound then holds through the sent journal (db/sent-journal.ts): once
 * delivered, a row is appended to this process's journal file with one write, before
 * the next row is sent, and every batch of every process begins, under the write
 * lock, by recording the rows the other processes' journals name (they were
 * delivered by a process that died before its commit, or they are recorded already).
 * So a crash loses from the batch only the row in flight. A journal that cannot be
 * written ends the batches: each row commits alone for the rest of the run.
 *
 * A power loss is another matter on SQLite: in WAL mode with synchronous=NORMAL it
 * may also undo the last commits, and with them their records; the journal is not
 * synced either, so it may lose its last lines too, and a batch be sent again.
 */
export async function runAlertRows(
  alert: Alert,
  Class: typeof Alert,
  Model: ModelClass,
  context: RunContext,
  chunkSize: number,
  beat: Beat,
): Promise<LoopOutcome> {
  const endpoints = alert.endpoints;
  // modelOf checked the key kinds, so every alert can remember its failed rows.
  const failures = new FailureLog(context.engine, Class.name, Model, context.settings);
  await failures.load();
  const { engine } = context;
  const workSet = new WorkSet(
    {
      Model,
      conditions: Class.conditions ?? [],
      ordering: Class.ordering,
      restriction: alertRestriction(Class.name, Model, engine, failures),
      chunkSize,
      partition: context.partition,
    },
    engine.store,
  );
  const claims = engine.store.alertClaims(workSet);
  // SQLite database files: rows commit in batches, delivered ones noted in the sent journal.
  const batches = claims.batches;
  const rowFailures: RowFailure[] = [];
  let rows = 0;
  let failure: unknown;
  let stopped = false;
  const opened: { teardown(error?: unknown): void | Promise<void> }[] = [];

  /** Records a row that failed by its own fault; its transaction is already rolled back. */
  const setAside = async (row: ModelInstance, error: unknown) => {
    const key = describeKey(Model, row);
    const recorded = await failures.record(row, error);
    rowFailures.push(setAsideReport(key, error, recorded, context.settings.maxAttempts, alert.logger));
  };

  /** The transaction in flight: a row's, or a batch's. */
  let tx: Transaction | undefined;
  /** Rows delivered in the batch in flight, and when it began. */
  let batched = 0;
  let batchStarted = 0;
  let warned = false;

  const commit = async () => {
    const open = tx;
    if (!open) return;
    tx = undefined;
    batched = 0;
    await open.commit();
    batches?.committed();
  };

  /** After a row's error: the rows delivered before it in the batch commit; the row's own writes are taken back. */
  const abandonRow = async (batching: boolean) => {
    const open = tx;
    if (!open) return;
    if (batching && batches!.undoRow()) return commit();
    tx = undefined;
    batched = 0;
    await open.rollback();
  };

  /** A row not taken (gone, or recorded by another process): a batch goes on without it. */
  const skipRow = async (batching: boolean) => {
    if (batching && batches!.undoRow()) return;
    await abandonRow(false);
  };

  /** A batch goes on after a delivered row unless it is full, old, the delivery awaited, or a stop was asked. */
  const batchGoesOn = (awaited: boolean) =>
    !awaited && batched < BATCH_ROWS && Date.now() - batchStarted < BATCH_MS && context.stop?.requested !== true;

  // What the alert's `this.db` and `this.save` use, pointed at each transaction opened
  // below; its endpoints get the same (its settings and the test's outbox).
  const own = alert[CONTEXT]!;
  try {
    await context.engine.inTransaction(own.inside(async () => {
      // Rows a crashed process delivered are recorded before anything is read.
      batches?.replay();
      await alert.setup();
      opened.push(alert);
      for (const endpoint of endpoints) {
        endpoint[CONTEXT] = own;
        await endpoint.setup(alert);
        opened.push(endpoint);
      }
    }), context.stop);
    batches?.committed();
    while (!workSet.done) {
      await beat(rows, 0, chunkSize);
      // After the beat's turn of the event loop, so a signal during the last chunk counts now.
      if (context.stop?.requested) {
        stopped = true;
        break;
      }
      claims.beforeChunk?.();
      const candidates = await workSet.next(context.engine.knex);
      for (const candidate of candidates) {
        const batching = batches?.usable === true;
        if (!tx) {
          tx = own.enter(await context.engine.begin(context.stop));
          if (batching) {
            batchStarted = Date.now();
            batches!.replay();
          }
        }
        if (batching) batches!.savepoint();
        // Set while the row is rendered and sent: only errors then may be the row's.
        let sending: ModelInstance | undefined;
        try {
          // SQLite claims and records synchronously: a row awaits only its delivery.
          let raw = claims.claim(tx, candidate);
          if (isThenable(raw)) raw = await raw;
          if (!raw) {
            await skipRow(batching);
            continue;
          }
          const row = hydrate(Model, raw);
          // Claim by recording first: the unique (alert, table, key) entry of an
          // uncommitted record makes a concurrent claim wait, then find it taken. A row
          // whose delivery fails rolls back with its record.
          const record = { alert: Class.name, model_table: Model.table, model_key: keyText(Model, row), created_at: new Date() };
          let taken = claims.record(tx, record);
          if (isThenable(taken)) taken = await taken;
          if (!taken) {
            await skipRow(batching);
            continue;
          }
          sending = row;
          let awaited = false;
          for (const endpoint of endpoints) {
            const delivered = endpoint.process(row);
            if (isThenable(delivered)) {
              awaited = true;
              await delivered;
            }
          }
          sending = undefined;
          if (failures.anyRecorded) await failures.forget(tx.db, row);
          rows += 1;
          if (batching) {
            // Noted before the next row is delivered: from here a crash costs this row nothing.
            const noted = batches!.sent(record);
            batches!.release();
            batched += 1;
            if (noted && batchGoesOn(awaited)) continue;
            if (!noted && !warned) {
              warned = true;
              alert.logger.warn(
                `${Class.name}: the sent journal in ${batches!.journalFolder} cannot be written (${describeError(batches!.journalFailure)}); ` +
                  'each row now commits on its own, which is slower',
              );
            }
          }
          await commit();
        } catch (error) {
          await abandonRow(batching);
          if (sending === undefined || deliveryFault(error) === 'endpoint') throw error;
          await setAside(sending, error);
        }
      }
      // Progress and the heartbeat see committed rows only.
      await commit();
      context.onProgress?.(rows);
    }
  } catch (error) {
    failure = error;
    // A batch left open by an error outside a row: its delivered rows stay in the journal, replayed by the next batch of any process.
    if (tx) await tx.rollback().catch(() => undefined);
  } finally {
    // Endpoints close before the alert, in reverse order of opening.
    for (const item of opened.reverse()) {
      try {
        await context.engine.inTransaction(own.inside(() => item.teardown(failure)));
      } catch (error) {
        failure ??= error;
      }
    }
    batches?.close();
  }
  return { rows, failure, rowFailures, stopped };
}
