/**
 * The two things the page may change, when `serve --allow-actions` allows it: make
 * failed rows eligible again (`retry`, as `failures --retry` does) or forget their
 * failures (`clear`, as `failures --clear`), for the rows the user picked by id.
 * They go through the pipeline's engine, so on SQLite they take the write lock in
 * turn like any writer.
 */
import type { Engine } from '../db/engine.js';
import { Failure } from '../db/bookkeeping/models.js';
import { toDb } from '../db/values.js';

export type FailureAction = 'retry' | 'clear';

export function isFailureAction(value: unknown): value is FailureAction {
  return value === 'retry' || value === 'clear';
}

/** Applies `action` to the failures with these ids; returns how many it changed. */
export async function applyFailureAction(engine: Engine, action: FailureAction, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  return engine.autocommit(async (db) => {
    const query = db(Failure.table).whereIn('id', [...ids]);
    if (action === 'clear') return Number(await query.delete());
    const values = { quarantined: toDb(Failure.columns.quarantined.spec, false, engine.dialect), next_at: toDb(Failure.columns.next_at.spec, new Date(0), engine.dialect) };
    return Number(await query.update(values));
  });
}
