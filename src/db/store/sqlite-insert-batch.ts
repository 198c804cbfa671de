/**
 * The SQLite loader's held-back inserts. A prepared INSERT per row spends most of
 * its time in the statement's own run (bind, step, reset, the call into the addon);
 * one INSERT of k rows costs about half as much per row (measured on the bench's
 * PointSource rows: 1.2 s of CPU for 1M single-row runs, 0.6 s in runs of 10 rows,
 * 0.5 s in runs of 50). So a new row whose only column left out is its integer key
 * is not written at once: it gets its key here, as SQLite would number it (one more
 * than the largest the table has had), its state as stored, and waits until k rows
 * of the same column set wait, or until anything else touches the connection
 * (`SqliteStore.beforeStatement`: a knex query, a read, a write of another kind,
 * the commit), so that code after a `yield` finds its rows in the database.
 *
 * The rows left when something else comes go as one statement of that many rows
 * (at most k statements per model and column set are prepared).
 *
 * A refused row makes the whole multi-row statement undo itself (SQLite undoes a
 * failed statement, not the transaction); the rows are then written one at a time,
 * with the keys they were given, and the refused ones are handed back, their key
 * and state taken back. The key a refused row was given is not given again: the
 * rows after it were numbered already (a gap, as a rolled-back insert leaves in
 * PostgreSQL).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { blameOf } from '../blame.js';
import { columnsOf, ROW_STATE, type ModelClass, type ModelInstance } from '../model.js';
import { layoutOf, quote, READ_BACK, snapshotOf, sqliteInsertPlan } from './layout.js';

type Statement = BetterSqlite3.Statement;

/** A row refused when the held rows were written: the row, the refusal, its place among the transaction's saves. */
export interface HeldRefusal {
  readonly row: ModelInstance;
  readonly refusal: unknown;
  readonly place: number;
}

/** The prepared statements and key facts the held inserts need of the store, per model. */
export interface HeldInsertStatements {
  /** INSERT of `rows` rows of the columns of `written` (a mask) followed by the key column. */
  heldInsert(Model: ModelClass, written: number, rows: number): Statement;
  /** The largest key `Model`'s table has had (its rows, and `sqlite_sequence` under AUTOINCREMENT), or undefined when the key is not the rowid. */
  largestKey(Model: ModelClass): number | undefined;
}

/** Where a model's rows can be held: its insert plan, and the mask of every column but the key. */
interface Holdable {
  readonly plan: NonNullable<ReturnType<typeof sqliteInsertPlan>>;
  readonly snapshot: ReturnType<typeof snapshotOf>;
  readonly written: number;
  readonly keyName: string;
  readonly width: number;
}

const holdables = new WeakMap<ModelClass, Holdable | null>();

function holdableOf(Model: ModelClass): Holdable | null {
  let holdable = holdables.get(Model);
  if (holdable === undefined) {
    const { names, autoKey } = layoutOf(Model);
    const plan = sqliteInsertPlan(Model);
    holdable = plan && autoKey >= 0 ? { plan, snapshot: snapshotOf(Model), written: ((1 << names.length) - 1) & ~(1 << autoKey), keyName: names[autoKey]!, width: names.length } : null;
    holdables.set(Model, holdable);
  }
  return holdable;
}

export class SqliteInsertBatch {
  private readonly statements: HeldInsertStatements;
  /** Rows per statement. */
  private readonly k: number;
  /** The model of the rows waiting (one at a time: a row of another comes after a flush). */
  private Model: ModelClass | undefined;
  private holdable: Holdable | undefined;
  private readonly rows: ModelInstance[] = [];
  private readonly places: number[] = [];
  /** The rows' bound values, one after another (each row's columns, then its key). */
  private readonly values: unknown[] = [];
  /** One row's values as the plan writes them, copied into `values`. */
  private readonly scratch: unknown[] = [];
  /** One row's values for the statement of one row (the fallback, and the rows left at a flush). */
  private readonly single: unknown[] = [];
  /** The next key of `Model`'s table, and of each table before it; forgotten whenever something else may have written (see `forgetKeys`). */
  private nextKey: number | undefined;
  private readonly nextKeys = new Map<string, number>();

  constructor(statements: HeldInsertStatements, rowsPerStatement: number) {
    this.statements = statements;
    this.k = rowsPerStatement;
  }

  get waiting(): number {
    return this.rows.length;
  }

  /**
   * Holds `instance` (new, never saved) back when its only column left out is its
   * integer key: sets its key and its state as stored. False when it must be written
   * at once (the caller flushes first). Throws what the insert plan throws (a value
   * too long), the row not held. Writes the rows when k wait; the refused ones are
   * pushed onto `refused`.
   */
  add(instance: ModelInstance, place: number, refused: HeldRefusal[]): boolean {
    const Model = instance.model;
    // The model of the previous row (a loader yields one model, row after row) without a lookup.
    const holdable = Model === this.Model ? this.holdable! : holdableOf(Model);
    if (holdable === null) return false;
    const row = columnsOf(instance);
    const scratch = this.scratch;
    // Fills the constant defaults and NULLs into the row, as the insert at once would.
    if (holdable.plan(row, scratch) !== holdable.written) return false;
    if (this.Model !== Model) {
      // Written first: another model may share the table, and its rows are numbered before.
      this.flush(refused);
      if (this.Model !== undefined && this.nextKey !== undefined) this.nextKeys.set(this.Model.table, this.nextKey);
      this.Model = Model;
      this.holdable = holdable;
      this.nextKey = this.nextKeys.get(Model.table);
    }
    let next = this.nextKey;
    if (next === undefined) {
      const largest = this.statements.largestKey(Model);
      // Not the rowid, or keys too large for a JavaScript number: written at once.
      if (largest === undefined || largest >= Number.MAX_SAFE_INTEGER - 1e9) return false;
      next = largest + 1;
    }
    this.nextKey = next + 1;
    row[holdable.keyName] = next;
    instance[ROW_STATE] = { persisted: true, original: holdable.snapshot(row) };
    const values = this.values;
    for (let i = 0; i < scratch.length; i++) values.push(scratch[i]);
    values.push(next);
    this.rows.push(instance);
    this.places.push(place);
    if (this.rows.length >= this.k) this.flush(refused);
    return true;
  }

  /**
   * Writes the waiting rows (at most k) through one statement, or one at a time
   * after a refusal. A refusal is pushed onto `refused`; any other
   * error is thrown (the chunk then rolls back). Nothing waits afterwards.
   */
  flush(refused: HeldRefusal[]): void {
    const count = this.rows.length;
    if (count === 0) return;
    try {
      this.write(count, refused);
    } finally {
      this.empty();
    }
  }

  private write(count: number, refused: HeldRefusal[]): void {
    const Model = this.Model!;
    const holdable = this.holdable!;
    const { rows, places, values } = this;
    if (count > 1) {
      try {
        this.statements.heldInsert(Model, holdable.written, count).run(values);
        return;
      } catch (error) {
        if (blameOf(error) !== 'row') throw error;
        // SQLite undid the statement: none of its rows is stored. Found again one by one below.
      }
    }
    const statement = this.statements.heldInsert(Model, holdable.written, 1);
    const single = this.single;
    const width = holdable.width;
    for (let r = 0; r < count; r++) {
      single.length = 0;
      for (let i = r * width; i < (r + 1) * width; i++) single.push(values[i]);
      try {
        statement.run(single);
      } catch (error) {
        if (blameOf(error) !== 'row') throw error;
        const instance = rows[r]!;
        // Not stored: new again, without the key it was given.
        instance[ROW_STATE] = undefined;
        columnsOf(instance)[holdable.keyName] = undefined;
        refused.push({ row: instance, refusal: error, place: places[r]! });
      }
    }
  }

  /** After a statement not of this batch: the table's keys are read again before the next row is numbered. */
  forgetKeys(): void {
    this.nextKey = undefined;
    if (this.nextKeys.size > 0) this.nextKeys.clear();
  }

  /** Drops the waiting rows (the transaction rolls back). */
  discard(): void {
    this.empty();
    this.forgetKeys();
  }

  /** Emptied, not replaced: the arrays are reused row after row. */
  private empty(): void {
    this.rows.length = 0;
    this.places.length = 0;
    this.values.length = 0;
  }
}

/** The SQL of `heldInsert`: the columns of `written`, then the key, `rows` times. */
export function heldInsertSql(Model: ModelClass, written: number, rows: number): string {
  const { names, autoKey } = layoutOf(Model);
  const columns = names.filter((_, i) => (written & (1 << i)) !== 0 && (written & READ_BACK) === 0);
  columns.push(names[autoKey]!);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${quote(Model.table)} (${columns.map(quote).join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`;
}
