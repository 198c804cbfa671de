import type { Knex } from 'knex';
import { applyConditions, type Condition } from './conditions.js';
import { hydrate, type ModelClass } from './model.js';

/** The rows of `Model` matching `conditions`, as instances, in primary-key order, read through `db`. */
export async function findRowsIn<M extends ModelClass>(db: Knex, Model: M, conditions: readonly Condition[]): Promise<InstanceType<M>[]> {
  const rows = (await applyConditions(db(Model.table).select('*'), conditions).orderBy([...Model.primaryKey])) as Record<string, unknown>[];
  return rows.map((row) => hydrate(Model, row) as InstanceType<M>);
}

/** The first matching row by primary key, or null, read through `db`. */
export async function findRowIn<M extends ModelClass>(db: Knex, Model: M, conditions: readonly Condition[]): Promise<InstanceType<M> | null> {
  const row = (await applyConditions(db(Model.table).select('*'), conditions).orderBy([...Model.primaryKey]).first()) as Record<string, unknown> | undefined;
  return row ? (hydrate(Model, row) as InstanceType<M>) : null;
}

/** How many rows of a table match `conditions`, counted through `db`. */
export async function countRowsIn(db: Knex, table: string, conditions: readonly Condition[]): Promise<number> {
  const row = (await applyConditions(db(table), conditions).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

