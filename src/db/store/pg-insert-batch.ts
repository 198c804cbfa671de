/**
 * The PostgreSQL loader's batched inserts. A row yielded by a loader is not sent at
 * once: it gets its key in JavaScript (from ids taken from the table's sequence, a
 * chunk of them in one round trip), its state as stored, and waits; the rows of a
 * chunk go out as one `INSERT … SELECT * FROM unnest($1::type[], …)` per table and
 * column set when the transaction flushes (at commit, or before anything else it
 * sends). A refused row is found again row by row and handed back, the rest stored.
 */
import { blameOf } from '../blame.js';
import { columnsOf as valuesOf, ROW_STATE, type ModelClass, type ModelInstance } from '../model.js';
import { describeRefusal } from '../refusal.js';
import { fromDb, toDb } from '../values.js';
import { insertedColumns, layoutOf, quote, signatureColumns } from './layout.js';

/** PostgreSQL array element types for `unnest` batches, per column kind. */
export const PG_ARRAY_TYPES: Record<string, string> = {
  integer: 'int4',
  bigint: 'int8',
  float: 'float8',
  string: 'text',
  text: 'text',
  boolean: 'bool',
  datetime: 'timestamptz',
  json: 'jsonb',
};

const NUMERIC_KINDS = new Set(['integer', 'bigint', 'float']);
const DIGITS = /^-?\d+$/;

/**
 * The parameter of one `unnest` array. A numeric column's values are written as the
 * array's text (`{1.5,NULL,2}`) here: pg would turn each number into a string and
 * escape it as a quoted element, the largest part of its work on a batch. Any other
 * column, or a value that is not plainly a number, goes to pg as the array itself.
 */
export function arrayParameter(kind: string, values: readonly unknown[]): unknown {
  if (!NUMERIC_KINDS.has(kind)) return values;
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) text += ',';
    if (value === null || value === undefined) text += 'NULL';
    else if (typeof value === 'number' || typeof value === 'bigint' || (typeof value === 'string' && DIGITS.test(value))) text += String(value);
    else return values;
  }
  return text + '}';
}

/** One statement on the transaction's connection (`prepared`: named, planned once per session). */
export type PgQuery = (sql: string, values: unknown[], prepared?: boolean) => Promise<Record<string, unknown>[]>;

/** A row waiting for the flush. `error`: refused before it was sent (corral's length check), reported in its turn. */
interface PendingRow {
  readonly instance: ModelInstance;
  readonly place: number;
  readonly columns: readonly string[];
  readonly values: readonly unknown[];
  /** Whether its key came from the sequence (taken back if the row is refused). */
  readonly numbered: boolean;
  readonly error?: unknown;
}

/**
 * Ids taken from each table's sequence and not yet handed out, kept by the store
 * for one loader run, across its transactions: nextval is not undone by a rollback,
 * so an id taken is never another writer's; the ones left at the end of the run are
 * a gap, as after any rolled-back insert. (Not longer than a run: a sequence reset
 * between runs, `TRUNCATE … RESTART IDENTITY`, would hand the same ids out again.)
 */
export class IdPools {
  private readonly sequences = new Map<string, string | null>();
  private readonly pools = new Map<string, { ids: unknown[]; next: number }>();

  /** The next id of `table`'s sequence, synchronously, or undefined when the pool is empty. */
  take(table: string): unknown {
    const pool = this.pools.get(table);
    if (!pool || pool.next >= pool.ids.length) return undefined;
    return pool.ids[pool.next++];
  }

  /**
   * Takes ids of `table`'s sequence (the one numbering its key `column`: serial or
   * identity) in one round trip: `first` the first time, twice as many each time
   * after, up to 8 × `count` (a long load takes a round trip per 8 chunks; a short one
   * leaves few unused). The first time also finds the sequence, in the same
   * statement; false when there is none (the key is not numbered by the database).
   */
  async refill(query: PgQuery, table: string, column: string, count: number, first = count): Promise<boolean> {
    const sequence = this.sequences.get(table);
    if (sequence === null) return false;
    const taken = this.pools.get(table)?.ids.length;
    const taking = taken === undefined ? first : Math.min(8 * count, 2 * taken);
    const rows =
      sequence === undefined
        ? await query(
            'SELECT s.seq, nextval(s.seq::regclass) AS id FROM (SELECT pg_get_serial_sequence($1, $2) AS seq) AS s, generate_series(1, $3::int)',
            [quote(table), column, taking],
            true,
          )
        : await query('SELECT nextval($1::regclass) AS id FROM generate_series(1, $2::int)', [sequence, taking], true);
    if (sequence === undefined) this.sequences.set(table, (rows[0]?.seq as string | null | undefined) ?? null);
    if (this.sequences.get(table) === null) return false;
    this.pools.set(table, { ids: rows.map((row) => row.id), next: 0 });
    return true;
  }
}

/** A row refused when the waiting rows were written. */
interface Refused {
  readonly row: ModelInstance;
  readonly refusal: unknown;
  readonly place: number;
}

/**
 * Inserts rows stored earlier in a transaction again, with every column as stored
 * (the loader's replay): one statement per table under a savepoint, or, when that
 * is refused (a row of one table needing one of another written before it), one
 * row at a time in their order. A row refused alone is thrown.
 */
export async function reinsert(query: PgQuery, instances: readonly ModelInstance[]): Promise<void> {
  if (instances.length === 0) return;
  const rows: PendingRow[] = instances.map((instance, place) => {
    const { names, specs } = layoutOf(instance.model);
    const original = instance[ROW_STATE]!.original!;
    return { instance, place, columns: names, values: names.map((name, i) => toDb(specs[i]!, original[name], 'postgres')), numbered: false };
  });
  await query('SAVEPOINT corral_replay', []);
  try {
    for (const group of groupsOf(rows)) await query(group.sql, group.arrays, true);
    await query('RELEASE SAVEPOINT corral_replay', []);
    return;
  } catch (error) {
    if (blameOf(error) !== 'row') throw error;
    await query('ROLLBACK TO SAVEPOINT corral_replay', []);
  }
  for (const row of rows) await query(singleInsertSql(row.instance.model, row.columns), [...row.values], true);
}

/** The rows waiting in one transaction, and how they are written. */
export class InsertBatch {
  private pending: PendingRow[] = [];
  private readonly query: PgQuery;
  private readonly ids: IdPools;
  private readonly idsPerTrip: number;
  private readonly firstIds: number;

  constructor(query: PgQuery, ids: IdPools, idsPerTrip: number, firstIds = idsPerTrip) {
    this.query = query;
    this.ids = ids;
    this.idsPerTrip = Math.max(1, idsPerTrip);
    this.firstIds = Math.max(1, firstIds);
  }

  get waiting(): number {
    return this.pending.length;
  }

  /**
   * Holds `instance` back for the flush, with its key and every column set as they
   * will be stored; a promise only when ids had to be taken from the sequence.
   * Returns false for a row that must be inserted at once (a column the database
   * fills in other than a numbered key, a column kind with no array type): the
   * caller inserts it itself.
   */
  add(instance: ModelInstance, place: number): boolean | Promise<boolean> {
    const Model = instance.model;
    const row = valuesOf(instance);
    const { names, autoKey } = layoutOf(Model);
    if (!batchable(Model)) return false;
    let inserted: ReturnType<typeof insertedColumns>;
    try {
      inserted = insertedColumns(Model, row, 'postgres');
    } catch (error) {
      if (blameOf(error) !== 'row') throw error;
      this.pending.push({ instance, place, columns: [], values: [], numbered: false, error });
      return true;
    }
    if (inserted.readBack) return false;
    const { signature, values } = inserted;
    // Every column given (the key included: a model that gives its own ids).
    if (signature.length === names.length) return this.hold(instance, place, signature, values);
    // Only the integer key is left out: it comes from the table's sequence.
    const id = this.ids.take(Model.table);
    if (id !== undefined) return this.hold(instance, place, signature, values, id);
    return this.idsThenHold(instance, place, signature, values, names[autoKey]!);
  }

  private async idsThenHold(instance: ModelInstance, place: number, signature: string, values: unknown[], key: string): Promise<boolean> {
    const table = instance.model.table;
    if (!(await this.ids.refill(this.query, table, key, this.idsPerTrip, this.firstIds))) return false;
    return this.hold(instance, place, signature, values, this.ids.take(table));
  }

  /** Sets the row's key (`id` from the sequence, if given) and state as stored, and keeps it for the flush. */
  private hold(instance: ModelInstance, place: number, signature: string, values: unknown[], id?: unknown): true {
    const Model = instance.model;
    const row = valuesOf(instance);
    const { names, specs, autoKey } = layoutOf(Model);
    const numbered = id !== undefined;
    if (numbered) {
      // nextval is int8, which pg hands over as text; an integer key is a number in JavaScript, as RETURNING gives it.
      row[names[autoKey]!] = fromDb(specs[autoKey]!, Number(id));
      signature += String.fromCharCode(65 + autoKey);
      values.push(id);
    }
    const original: Record<string, unknown> = {};
    for (const name of names) original[name] = row[name];
    instance[ROW_STATE] = { persisted: true, original };
    this.pending.push({ instance, place, columns: columnsOf(Model, signature), values, numbered });
    return true;
  }

  /** Drops the waiting rows (the transaction rolls back). */
  discard(): void {
    this.pending = [];
  }

  /**
   * Writes the waiting rows: one statement per table and column set, in the order
   * each set first came. When the database refuses one, the statements are undone
   * and the rows are inserted again one at a time in the order they were yielded
   * (each under a savepoint of its own, so that a row needing another written before
   * it in another set finds it), and the refused ones are returned with their
   * refusal, the others stored. Undone how: `guarded`, the statements go under a
   * savepoint (two more round trips a flush); else the refusal aborts the
   * transaction and `recover` makes it usable again (the loader's replay). Without
   * `recover` (a step, whose chunk is rolled back on any refusal) the statements go
   * under a savepoint, except a lone row: its refusal is its own, and the transaction
   * is left for the caller to roll back.
   */
  async flush(guarded: boolean, recover: (() => Promise<void>) | undefined): Promise<{ stored: ModelInstance[]; refused: Refused[] }> {
    const rows = this.pending;
    this.pending = [];
    const sendable = rows.filter((row) => row.error === undefined);
    const refused: Refused[] = rows.filter((row) => row.error !== undefined).map((row) => ({ row: row.instance, refusal: row.error, place: row.place }));
    if (sendable.length > 0) {
      const lone = recover === undefined && sendable.length === 1;
      const savepoint = !lone && (guarded || recover === undefined);
      if (savepoint) await this.query('SAVEPOINT corral_batch', []);
      try {
        for (const group of groupsOf(sendable)) await this.query(group.sql, group.arrays, true);
        if (savepoint) await this.query('RELEASE SAVEPOINT corral_batch', []);
      } catch (error) {
        if (blameOf(error) !== 'row') throw error;
        if (lone) {
          const only = sendable[0]!;
          refused.push({ row: only.instance, refusal: describeRefusal(only.instance.model, error, only.columns), place: only.place });
          unstore(only);
        } else {
          if (savepoint) await this.query('ROLLBACK TO SAVEPOINT corral_batch', []);
          else await recover!();
          refused.push(...(await this.rowByRow(sendable)));
        }
        refused.sort((a, b) => a.place - b.place);
      }
    }
    const refusedRows = new Set(refused.map((r) => r.row));
    return { stored: sendable.map((row) => row.instance).filter((row) => !refusedRows.has(row)), refused };
  }

  private async rowByRow(rows: readonly PendingRow[]): Promise<Refused[]> {
    const refused: Refused[] = [];
    for (const pending of rows) {
      const Model = pending.instance.model;
      await this.query('SAVEPOINT corral_row', []);
      try {
        await this.query(singleInsertSql(Model, pending.columns), [...pending.values], true);
        await this.query('RELEASE SAVEPOINT corral_row', []);
      } catch (error) {
        if (blameOf(error) !== 'row') throw error;
        await this.query('ROLLBACK TO SAVEPOINT corral_row', []);
        refused.push({ row: pending.instance, refusal: describeRefusal(Model, error, pending.columns), place: pending.place });
        unstore(pending);
      }
    }
    return refused;
  }
}

/** A row refused is not stored: it is new again, and a key from the sequence is taken back. */
function unstore(pending: PendingRow): void {
  pending.instance[ROW_STATE] = undefined;
  const { names, autoKey } = layoutOf(pending.instance.model);
  if (pending.numbered) valuesOf(pending.instance)[names[autoKey]!] = undefined;
}

const batchableModels = new WeakMap<ModelClass, boolean>();

/** Whether every column of `Model` has an array type for `unnest`. */
function batchable(Model: ModelClass): boolean {
  let answer = batchableModels.get(Model);
  if (answer === undefined) batchableModels.set(Model, (answer = layoutOf(Model).specs.every((spec) => spec.kind in PG_ARRAY_TYPES)));
  return answer;
}

const columnLists = new WeakMap<ModelClass, Map<string, readonly string[]>>();

/**
 * The columns of an insert signature (`insertedColumns`; the key's character added
 * last when the key comes from the sequence): one array per model and column set,
 * which also names the set in `groupsOf`.
 */
function columnsOf(Model: ModelClass, signature: string): readonly string[] {
  let lists = columnLists.get(Model);
  if (!lists) columnLists.set(Model, (lists = new Map()));
  let columns = lists.get(signature);
  if (!columns) lists.set(signature, (columns = signatureColumns(signature, layoutOf(Model).names)));
  return columns;
}

function singleInsertSql(Model: ModelClass, columns: readonly string[]): string {
  return `INSERT INTO ${quote(Model.table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
}

/** The rows as one `INSERT … SELECT * FROM unnest(…)` per table and column set, in order of first appearance. */
function groupsOf(rows: readonly PendingRow[]): { sql: string; arrays: unknown[] }[] {
  // Keyed by the column list itself: `columnsOf` gives one array per model and column set.
  const groups = new Map<readonly string[], { Model: ModelClass; columns: readonly string[]; arrays: unknown[][] }>();
  for (const row of rows) {
    let group = groups.get(row.columns);
    if (!group) groups.set(row.columns, (group = { Model: row.instance.model, columns: row.columns, arrays: row.columns.map(() => []) }));
    for (let i = 0; i < row.values.length; i++) group.arrays[i]!.push(row.values[i]);
  }
  return [...groups.values()].map(({ Model, columns, arrays }) => ({
    sql:
      `INSERT INTO ${quote(Model.table)} (${columns.map(quote).join(', ')})` +
      ` SELECT * FROM unnest(${columns.map((name, i) => `$${i + 1}::${PG_ARRAY_TYPES[Model.columns[name]!.spec.kind]}[]`).join(', ')})`,
    arrays: arrays.map((values, i) => arrayParameter(Model.columns[columns[i]!]!.spec.kind, values)),
  }));
}
