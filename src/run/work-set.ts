import type { Knex } from 'knex';
import { applyConditions, fixedConditions, type Condition, type Restriction } from '../db/conditions.js';
import { hydrate, hydrateValues, type ModelClass, type ModelInstance } from '../db/model.js';
import type { ClaimSource, Row, RowArrays, RowReader } from '../db/store/store.js';
import type { Ordering } from '../processors/step.js';

/** Extra SQL restrictions the framework adds to a processor's conditions (e.g. "not alerted yet"). */

export interface WorkSetSpec {
  readonly Model: ModelClass;
  readonly conditions: readonly Condition[];
  readonly ordering: readonly Ordering[] | undefined;
  readonly restriction?: Restriction | undefined;
  readonly chunkSize: number;
  /** This worker's share when several work on one processor: rows whose integer key % count == index. */
  readonly partition?: { readonly index: number; readonly count: number } | undefined;
}

type Key = unknown[];

/** A chunk query's SQL and bindings, with where each key value goes (`WorkSet.compiledChunk`). */
interface CompiledChunk {
  readonly sql: string;
  readonly bindings: readonly unknown[];
  readonly places: readonly ({ after: boolean; index: number } | undefined)[];
}

/** Stands for a key value in a query compiled once and bound per row. */
const KEY_SLOT = '\u0000corral-key-';

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
 * A chunk as read, for the step: its rows, each hydrated on demand into a fresh
 * instance of the model (again after a failure: the values as read, not as
 * `process` left them). Rows come as arrays where the store reads them so.
 */
export class Chunk {
  private readonly Model: ModelClass;
  private readonly records: readonly Row[] | undefined;
  private readonly arrays: RowArrays | undefined;

  constructor(Model: ModelClass, rows: readonly Row[] | RowArrays) {
    this.Model = Model;
    if (Array.isArray(rows)) this.records = rows as readonly Row[];
    else this.arrays = rows as RowArrays;
  }

  get length(): number {
    return this.records ? this.records.length : this.arrays!.rows.length;
  }

  instance(index: number): ModelInstance {
    if (this.records) return hydrate(this.Model, this.records[index]!);
    return hydrateValues(this.Model, this.arrays!.columns, this.arrays!.rows[index]!);
  }
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
 *
 * The queries are compiled here, the same for every database; the engine's store
 * runs them (`reader`): the keyset chunks as cached prepared statements on SQLite,
 * and with the chunk's rows locked, skipping those other workers hold, on PostgreSQL.
 */
export class WorkSet implements ClaimSource {
  private readonly spec: WorkSetSpec;
  private readonly reader: RowReader;
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
  /** Whether the conditions bind the same values at every call (see `compiledChunk`). */
  private readonly fixed: boolean;
  /** The keyset chunk query compiled once per shape (first chunk or not, limit): see `compiledChunk`. */
  private readonly compiled = new Map<string, CompiledChunk>();

  constructor(spec: WorkSetSpec, reader: RowReader) {
    this.spec = spec;
    this.reader = reader;
    this.fixed = fixedConditions(spec.conditions);
  }

  /** No rows are left for this run. */
  get done(): boolean {
    return this.finished;
  }

  /** The next chunk of raw rows (re-checked against the conditions); may be empty before `done`. */
  async next(db: Knex): Promise<Record<string, unknown>[]> {
    return (await this.advance(db, false)) as Row[];
  }

  /** The next chunk as a `Chunk` (what a step hydrates), read as arrays where the store can. */
  async nextChunk(db: Knex): Promise<Chunk> {
    return new Chunk(this.spec.Model, await this.advance(db, true));
  }

  private async advance(db: Knex, arrays: boolean): Promise<Row[] | RowArrays> {
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
    const rows = this.orderedKeys ? await this.nextOrdered(db, limit) : await this.nextByKey(db, limit, arrays);
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
   * The query that re-reads one row of a chunk read without locks, to claim it in the
   * caller's transaction (an alert's row): by its key, and still matching. The store
   * locks it against other workers (`Store.alertClaims`).
   */
  claimQuery(db: Knex, candidate: Row): Knex.QueryBuilder {
    const { Model } = this.spec;
    const query = matching(db, this.spec).select(`${Model.table}.*`);
    for (const name of Model.primaryKey) query.where(`${Model.table}.${name}`, candidate[name] as never);
    return query;
  }

  /** `claimQuery` compiled once, for a prepared statement: its SQL, its bindings, and the key column bound at each key's place. */
  compiledClaim(db: Knex): { sql: string; bindings: readonly unknown[]; keys: readonly (string | undefined)[] } {
    const { Model } = this.spec;
    const pk = Model.primaryKey;
    const query = matching(db, this.spec).select(`${Model.table}.*`);
    pk.forEach((name, i) => query.where(`${Model.table}.${name}`, `${KEY_SLOT}${i}`));
    const { sql, bindings } = query.toSQL().toNative();
    const keys = bindings.map((value) => (typeof value === 'string' && value.startsWith(KEY_SLOT) ? pk[Number(value.slice(KEY_SLOT.length))] : undefined));
    return { sql, bindings, keys };
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
    const [last] = await this.reader.readRows(
      matching(db, this.spec)
        .select(pk)
        .orderBy(pk.map((column) => ({ column, order: 'desc' })))
        .limit(1),
    );
    if (!last) this.finished = true;
    else this.upTo = keyOf(Model, last);
  }

  /** The keyset chunk query: rows after `after` (all from the first when undefined) up to `upTo`, in key order, `limit` of them. */
  private chunkQuery(db: Knex, limit: number, after: Key | undefined, upTo: Key): Knex.QueryBuilder {
    const { Model } = this.spec;
    const pk = [...Model.primaryKey];
    const query = matching(db, this.spec).select(`${Model.table}.*`);
    if (after) keyAbove(query, pk, after, '>');
    keyAbove(query, pk, upTo, '<=');
    return this.reader.lockingRows(query.orderBy(pk.map((column) => `${Model.table}.${column}`)).limit(limit));
  }

  /**
   * The chunk query's SQL and bindings without building and compiling it again (knex
   * took ~1 ms a chunk, more than a tenth of a small step's time): compiled once with
   * stand-ins for the keys, which are put in at each chunk. Only while the query is
   * the same at every call but for the keys: conditions that are data, and a
   * restriction that adds nothing now (a run without failing rows); else undefined.
   */
  private compiledChunk(db: Knex, limit: number): { sql: string; bindings: unknown[] } | undefined {
    const { restriction } = this.spec;
    if (!this.fixed || (restriction && !restriction.addsNothing?.())) return undefined;
    const shape = `${this.after ? 'after' : 'first'} ${limit}`;
    let compiled = this.compiled.get(shape);
    if (!compiled) {
      const pk = this.spec.Model.primaryKey;
      const slots = (side: string): Key => pk.map((_, i) => `${KEY_SLOT}${side}${i}`);
      const { sql, bindings } = this.chunkQuery(db, limit, this.after ? slots('a') : undefined, slots('u')).toSQL().toNative();
      const places = bindings.map((value) => {
        if (typeof value !== 'string' || !value.startsWith(KEY_SLOT)) return undefined;
        const slot = value.slice(KEY_SLOT.length);
        return { after: slot[0] === 'a', index: Number(slot.slice(1)) };
      });
      compiled = { sql, bindings, places };
      this.compiled.set(shape, compiled);
    }
    const { after, upTo } = this;
    const bindings = compiled.bindings.map((value, i) => {
      const place = compiled.places[i];
      return place === undefined ? value : (place.after ? after! : upTo!)[place.index];
    });
    return { sql: compiled.sql, bindings };
  }

  private async nextByKey(db: Knex, limit: number, arrays: boolean): Promise<Row[] | RowArrays> {
    const { Model } = this.spec;
    const pk = [...Model.primaryKey];
    if (arrays && this.reader.readArrays) {
      const compiled = this.reader.readArraysOf ? this.compiledChunk(db, limit) : undefined;
      const read = compiled ? this.reader.readArraysOf!(compiled.sql, compiled.bindings) : this.reader.readArrays(this.chunkQuery(db, limit, this.after, this.upTo!));
      const { rows, columns } = read;
      if (rows.length < limit) this.finished = true;
      if (rows.length > 0) {
        const last = rows[rows.length - 1]!;
        this.after = pk.map((name) => last[columns.lastIndexOf(name)]);
      }
      return read;
    }
    const rows = await this.reader.readRows(this.chunkQuery(db, limit, this.after, this.upTo!));
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
    const rows = (await this.reader.lockingRows(query)) as Record<string, unknown>[];
    const byKey = new Map(rows.map((row) => [JSON.stringify(keyOf(Model, row)), row]));
    // Rows that no longer match (another processor changed them) simply drop out.
    return keys.map((key) => byKey.get(JSON.stringify(key))).filter((row): row is Record<string, unknown> => row !== undefined);
  }
}
