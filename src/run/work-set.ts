import type { Knex } from 'knex';
import { applyConditions, type Condition } from '../db/conditions.js';
import type { Engine } from '../db/engine.js';
import type { ModelClass } from '../db/model.js';
import type { Ordering } from './step.js';

/** Extra SQL restrictions the framework adds to a processor's conditions (e.g. "not alerted yet"). */
export type Restriction = (query: Knex.QueryBuilder) => void;

export interface WorkSetSpec {
  readonly Model: ModelClass;
  readonly conditions: readonly Condition[];
  readonly ordering: readonly Ordering[] | undefined;
  readonly restriction?: Restriction | undefined;
  readonly chunkSize: number;
  /** This worker's share when several work on one processor: rows whose integer key % count == index. */
  readonly partition?: { readonly index: number; readonly count: number } | undefined;
  /** Lock the rows of each chunk for its transaction, skipping rows other workers hold (PostgreSQL). */
  readonly lockRows?: boolean;
  /**
   * SQLite: runs a compiled query as a cached prepared statement. knex prepares every
   * query anew, and better-sqlite3 frees a statement only when V8 collects it, so a
   * statement per chunk costs time and native memory that grows with the table.
   */
  readonly runPrepared?: ((sql: string, bindings: readonly unknown[]) => Record<string, unknown>[]) | undefined;
}

/** `runPrepared` for an engine on SQLite (undefined on PostgreSQL). */
export function preparedRunner(engine: Engine): WorkSetSpec['runPrepared'] {
  if (!engine.sqlite) return undefined;
  return (sql, bindings) => engine.statement(sql).all(bindings.map(sqliteBinding)) as Record<string, unknown>[];
}

type Key = unknown[];

/** Stands for a key value in a query compiled once and bound per row. */
const KEY_SLOT = '\u0000corral-key-';

/** A binding as knex's SQLite client would pass it to better-sqlite3. */
function sqliteBinding(value: unknown): unknown {
  if (value instanceof Date) return value.valueOf();
  if (typeof value === 'boolean') return Number(value);
  return value;
}

function keyOf(Model: ModelClass, raw: Record<string, unknown>): Key {
  return Model.primaryKey.map((name) => raw[name]);
}

function matching(db: Knex, spec: WorkSetSpec): Knex.QueryBuilder {
  const query = applyConditions(db(spec.Model.table), spec.conditions);
  if (spec.restriction) spec.restriction(query);
  if (spec.partition && spec.partition.count > 1) {
    query.whereRaw('(?? % ?) = ?', [`${spec.Model.table}.${spec.Model.primaryKey[0]!}`, spec.partition.count, spec.partition.index]);
  }
  return query;
}

function locked(query: Knex.QueryBuilder, spec: WorkSetSpec): Knex.QueryBuilder {
  return spec.lockRows ? query.forUpdate().skipLocked() : query;
}

function keyAbove(query: Knex.QueryBuilder, pk: readonly string[], key: Key, op: '>' | '<='): void {
  if (pk.length === 1) query.where(pk[0]!, op, key[0] as never);
  else query.whereRaw(`(${pk.map(() => '??').join(', ')}) ${op} (${pk.map(() => '?').join(', ')})`, [...pk, ...key] as never[]);
}

function orderingOf(ordering: readonly Ordering[]): { column: string; order: 'asc' | 'desc' }[] {
  return ordering.map((o) =>
    typeof o === 'string' ? (o.startsWith('-') ? { column: o.slice(1), order: 'desc' as const } : { column: o, order: 'asc' as const }) : { column: o.column, order: o.order ?? 'asc' },
  );
}

/** How many rows match the work set's conditions and restrictions right now (its backlog). */
export async function countMatching(db: Knex, spec: Omit<WorkSetSpec, 'chunkSize'>): Promise<number> {
  const row = (await matching(db, { ...spec, chunkSize: 1, partition: undefined }).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Whether any row matches the work set's conditions and restrictions right now (cheaper than counting). */
export async function anyMatching(db: Knex, spec: Omit<WorkSetSpec, 'chunkSize'>): Promise<boolean> {
  const row = (await matching(db, { ...spec, chunkSize: 1, partition: undefined }).select(db.raw('1 as found')).first()) as unknown;
  return row !== undefined;
}

/**
 * Walks the rows a processor must handle in this run, one chunk at a time, without
 * ever holding more than one chunk in memory.
 *
 * Without `ordering`, it pages by primary key (keyset): every row that matched when
 * the run started is visited once, even when processing does not change the
 * columns the conditions test, and rows added during the run beyond the starting
 * highest key wait for the next run (so a step that creates rows matching its own
 * conditions cannot loop forever). With `ordering`, it first reads the matching
 * keys in that order (keys only) and then fetches the rows chunk by chunk.
 */
export class WorkSet {
  private readonly spec: WorkSetSpec;
  private after: Key | undefined;
  private upTo: Key | undefined;
  private orderedKeys: Key[] | undefined;
  private position = 0;
  /** Where the chunk in flight started, to read it again after a rollback. */
  private chunkStart: { after: Key | undefined; position: number; finished: boolean; limit: number | undefined } | undefined;
  /** One chunk shorter than usual: the rows before a failed row, read again. */
  private nextLimit: number | undefined;
  private started = false;
  private finished = false;

  constructor(spec: WorkSetSpec) {
    this.spec = spec;
  }

  /** No rows are left for this run. */
  get done(): boolean {
    return this.finished;
  }

  /** The next chunk of raw rows (re-checked against the conditions); may be empty before `done`. */
  async next(db: Knex): Promise<Record<string, unknown>[]> {
    if (this.finished) return [];
    if (!this.started) {
      try {
        await this.start(db);
      } catch (error) {
        // Read the bound again next time (the connection may have been lost).
        this.started = false;
        throw error;
      }
    }
    if (this.finished) return [];
    this.chunkStart = { after: this.after, position: this.position, finished: this.finished, limit: this.nextLimit };
    const limit = this.nextLimit ?? this.spec.chunkSize;
    const shortened = this.nextLimit !== undefined;
    this.nextLimit = undefined;
    const rows = this.orderedKeys ? await this.nextOrdered(db, limit) : await this.nextByKey(db, limit);
    // A shortened chunk says nothing about what follows it.
    if (shortened && !this.orderedKeys) this.finished = false;
    return rows;
  }

  /**
   * Goes back to the start of the chunk just read, to read its first `limit` rows
   * again (after a row failed and its transaction was rolled back).
   */
  rewind(limit: number): void {
    if (!this.chunkStart) return;
    this.after = this.chunkStart.after;
    this.position = this.chunkStart.position;
    this.finished = false;
    if (limit > 0) this.nextLimit = limit;
  }

  /**
   * Goes back to the start of the chunk just read, to read it again whole (after its
   * transaction was lost with the connection: no row is left out).
   */
  again(): void {
    if (!this.chunkStart) return;
    this.after = this.chunkStart.after;
    this.position = this.chunkStart.position;
    this.finished = false;
    this.nextLimit = this.chunkStart.limit;
  }

  /**
   * Re-reads one row of a chunk read without locks, in the caller's transaction:
   * still matching, and locked against other workers (PostgreSQL). Undefined when
   * another worker took it or it no longer matches.
   */
  async claim(db: Knex, raw: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const { Model } = this.spec;
    const query = matching(db, this.spec).select(`${Model.table}.*`);
    for (const name of Model.primaryKey) query.where(`${Model.table}.${name}`, raw[name] as never);
    return (await locked(query, this.spec).first()) as Record<string, unknown> | undefined;
  }

  /**
   * `claim` compiled once, for a prepared statement (SQLite): its SQL, and the
   * bindings that re-read one candidate row.
   */
  compiledClaim(db: Knex): { sql: string; bindings(raw: Record<string, unknown>): unknown[] } {
    const { Model } = this.spec;
    const pk = Model.primaryKey;
    const query = matching(db, this.spec).select(`${Model.table}.*`);
    pk.forEach((name, i) => query.where(`${Model.table}.${name}`, `${KEY_SLOT}${i}`));
    const { sql, bindings } = query.toSQL().toNative();
    const slots = bindings.map((value) => (typeof value === 'string' && value.startsWith(KEY_SLOT) ? Number(value.slice(KEY_SLOT.length)) : -1));
    const fixed = bindings.map(sqliteBinding);
    return { sql, bindings: (raw) => fixed.map((value, i) => (slots[i]! >= 0 ? raw[pk[slots[i]!]!] : value)) };
  }

  private async rows(query: Knex.QueryBuilder): Promise<Record<string, unknown>[]> {
    if (!this.spec.runPrepared) return (await query) as Record<string, unknown>[];
    const { sql, bindings } = query.toSQL().toNative();
    return this.spec.runPrepared(sql, bindings);
  }

  private async start(db: Knex): Promise<void> {
    this.started = true;
    const { Model, ordering } = this.spec;
    const pk = [...Model.primaryKey];
    if (ordering && ordering.length > 0) {
      const query = matching(db, this.spec).select(pk);
      for (const { column, order } of orderingOf(ordering)) query.orderBy(column, order);
      query.orderBy(pk);
      const rows = (await query) as Record<string, unknown>[];
      this.orderedKeys = rows.map((row) => keyOf(Model, row));
      return;
    }
    const [last] = await this.rows(
      matching(db, this.spec)
        .select(pk)
        .orderBy(pk.map((column) => ({ column, order: 'desc' })))
        .limit(1),
    );
    if (!last) this.finished = true;
    else this.upTo = keyOf(Model, last);
  }

  private async nextByKey(db: Knex, limit: number): Promise<Record<string, unknown>[]> {
    const { Model } = this.spec;
    const pk = [...Model.primaryKey];
    const query = matching(db, this.spec).select(`${Model.table}.*`);
    if (this.after) keyAbove(query, pk, this.after, '>');
    keyAbove(query, pk, this.upTo!, '<=');
    const rows = await this.rows(locked(query.orderBy(pk.map((column) => `${Model.table}.${column}`)).limit(limit), this.spec));
    if (rows.length < limit) this.finished = true;
    if (rows.length > 0) this.after = keyOf(Model, rows[rows.length - 1]!);
    return rows;
  }

  private async nextOrdered(db: Knex, limit: number): Promise<Record<string, unknown>[]> {
    const { Model } = this.spec;
    const pk = [...Model.primaryKey];
    const keys = this.orderedKeys!.slice(this.position, this.position + limit);
    this.position += keys.length;
    if (this.position >= this.orderedKeys!.length) this.finished = true;
    if (keys.length === 0) return [];
    const query = matching(db, this.spec).select(`${Model.table}.*`);
    if (pk.length === 1) query.whereIn(pk[0]!, keys.map((k) => k[0]) as never[]);
    else query.whereIn(pk, keys as never[][]);
    const rows = (await locked(query, this.spec)) as Record<string, unknown>[];
    const byKey = new Map(rows.map((row) => [JSON.stringify(keyOf(Model, row)), row]));
    // Rows that no longer match (another processor changed them) simply drop out.
    return keys.map((key) => byKey.get(JSON.stringify(key))).filter((row): row is Record<string, unknown> => row !== undefined);
  }
}
