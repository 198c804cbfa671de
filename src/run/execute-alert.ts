import type { Knex } from 'knex';
import type { Engine } from '../db/engine.js';
import { Alerted } from '../db/framework-models.js';
import { describeKey, hydrate, type ModelClass } from '../db/model.js';
import type { Alert } from './alert.js';
import type { LoopOutcome, RunContext } from './execute.js';
import { keyText, keyTextMatches } from './row-keys.js';
import { toDb } from '../db/values.js';
import { isThenable } from './store.js';
import { WorkSet, preparedRunner, type Restriction } from './work-set.js';

type Beat = (rows: number, failed: number, inFlight: number) => Promise<void>;

/** Rows not yet announced by this alert: an anti-join on corral_alerted, in SQL. */
export function notYetAlerted(alertName: string, Model: ModelClass, engine: Engine): Restriction {
  return (query) => {
    query.whereNotExists(function (this: Knex.QueryBuilder) {
      this.select(engine.knex.raw('1')).from(Alerted.table).where(`${Alerted.table}.alert`, alertName).andWhere(`${Alerted.table}.model_table`, Model.table);
      keyTextMatches(this, `${Alerted.table}.model_key`, Model, engine.dialect);
    });
  };
}

function sqliteStatements(engine: Engine, workSet: WorkSet) {
  const claim = workSet.compiledClaim(engine.knex);
  return {
    claim: engine.statement(claim.sql),
    claimBindings: claim.bindings,
    record: engine.statement(
      `INSERT INTO "${Alerted.table}" ("alert", "model_table", "model_key", "created_at") VALUES (?, ?, ?, ?) ON CONFLICT ("alert", "model_table", "model_key") DO NOTHING`,
    ),
  };
}

/**
 * The alert loop. Candidates are read a chunk at a time without locks; each row is
 * then claimed, sent and recorded in a transaction of its own: re-read locked (FOR
 * UPDATE SKIP LOCKED on PostgreSQL; SQLite's write lock serialises), still matching
 * and still not alerted, and its corral_alerted record inserted before sending, so
 * concurrent `check-alerts` never send a row twice. An endpoint that fails stops the alert: the rows delivered before it
 * stay recorded, the failed row and the rest are sent on the next run.
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
  const workSet = new WorkSet({
    Model,
    conditions: Class.conditions ?? [],
    ordering: Class.ordering,
    restriction: notYetAlerted(Class.name, Model, context.engine),
    chunkSize,
    partition: context.partition,
    lockRows: context.engine.locksRows,
    runPrepared: preparedRunner(context.engine),
  });
  let rows = 0;
  let failure: unknown;
  let failedRow: string | undefined;
  let stopped = false;
  const opened: { teardown(error?: unknown): void | Promise<void> }[] = [];
  // SQLite: the per-row claim and record as prepared statements (knex builds and
  // prepares each query anew, which cost most of the time of a row).
  const fast = context.engine.sqlite ? sqliteStatements(context.engine, workSet) : undefined;
  try {
    await context.engine.inTransaction(async () => {
      await alert.setup();
      opened.push(alert);
      for (const endpoint of endpoints) {
        await endpoint.setup(alert);
        opened.push(endpoint);
      }
    }, context.stop);
    while (!workSet.done) {
      await beat(rows, 0, chunkSize);
      // After the beat's turn of the event loop, so a signal during the last chunk counts now.
      if (context.stop?.requested) {
        stopped = true;
        break;
      }
      const candidates = await workSet.next(context.engine.knex);
      for (const candidate of candidates) {
        const tx = await context.engine.begin(context.stop);
        try {
          const raw = fast ? (fast.claim.get(fast.claimBindings(candidate)) as Record<string, unknown> | undefined) : await workSet.claim(tx.db, candidate);
          if (!raw) {
            await tx.rollback();
            continue;
          }
          const row = hydrate(Model, raw);
          failedRow = describeKey(Model, row);
          // Claim by recording first: the unique (alert, table, key) entry of an
          // uncommitted record makes a concurrent claim wait, then find it taken. A row
          // whose delivery fails rolls back with its record and is sent next run.
          const record = {
            alert: Class.name,
            model_table: Model.table,
            model_key: keyText(Model, row, context.engine.dialect),
            created_at: toDb(Alerted.columns.created_at.spec, new Date(), context.engine.dialect),
          };
          const taken = fast
            ? fast.record.run([record.alert, record.model_table, record.model_key, record.created_at]).changes > 0
            : ((await tx.db(Alerted.table).insert(record).onConflict(['alert', 'model_table', 'model_key']).ignore().returning('id')) as unknown[]).length > 0;
          if (!taken) {
            await tx.rollback();
            failedRow = undefined;
            continue;
          }
          for (const endpoint of endpoints) {
            const delivered = endpoint.process(row);
            if (isThenable(delivered)) await delivered;
          }
          await tx.commit();
          failedRow = undefined;
          rows += 1;
        } catch (error) {
          await tx.rollback();
          throw error;
        }
      }
      context.onProgress?.(rows);
    }
  } catch (error) {
    failure = error;
  } finally {
    // Endpoints close before the alert, in reverse order of opening.
    for (const item of opened.reverse()) {
      try {
        await context.engine.inTransaction(async () => item.teardown(failure));
      } catch (error) {
        failure ??= error;
      }
    }
  }
  return { rows, failure, failedRow, stopped };
}
