import { applyConditions, type Condition } from './conditions.js';
import { currentContext } from './context.js';
import { hydrate, type ModelClass } from './model.js';

/** The rows of `Model` matching `conditions`, as instances, in primary-key order (current transaction). */
export async function findRows<M extends ModelClass>(Model: M, conditions: readonly Condition[]): Promise<InstanceType<M>[]> {
  const { db } = currentContext();
  const rows = (await applyConditions(db(Model.table).select('*'), conditions).orderBy([...Model.primaryKey])) as Record<string, unknown>[];
  return rows.map((row) => hydrate(Model, row) as InstanceType<M>);
}

/** The first matching row by primary key, or null. */
export async function findRow<M extends ModelClass>(Model: M, conditions: readonly Condition[]): Promise<InstanceType<M> | null> {
  const { db } = currentContext();
  const row = (await applyConditions(db(Model.table).select('*'), conditions).orderBy([...Model.primaryKey]).first()) as Record<string, unknown> | undefined;
  return row ? (hydrate(Model, row) as InstanceType<M>) : null;
}

/** How many rows of a table match `conditions`. */
export async function countRows(table: string, conditions: readonly Condition[]): Promise<number> {
  const { db } = currentContext();
  const row = (await applyConditions(db(table), conditions).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
