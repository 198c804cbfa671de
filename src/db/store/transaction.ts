import type { Knex } from 'knex';
import { pushContext, popContext, type DbContext } from '../context.js';
import type { Engine } from '../engine.js';
import { columnsOf, ROW_STATE, type ModelClass, type ModelInstance } from '../model.js';
import { toDb } from '../values.js';

/** Told of a row refused when its batch was written: the row, the refusal, and its place among the transaction's `saveNow` calls (0 first). */
export type InsertRefused = (instance: ModelInstance, refusal: unknown, place: number) => Promise<void>;

/** How the inserts of a loader or a step may be held back (`batchInserts`): one object for a whole run, which the store keeps its ids by. */
export interface InsertBatching {
  /** How many ids to take from a sequence at once (the loader's chunk size); a trip takes at most 8 times as many. */
  readonly idsPerTrip: number;
  /** Ids taken on the first trip (default `idsPerTrip`), each trip after twice as many as the one before. */
  readonly firstIds?: number;
  /**
   * SQLite: new rows per INSERT statement, held back until that many wait (or
   * anything else is sent); 1 or none: each written at once. PostgreSQL holds a
   * chunk's rows whatever this says.
   */
  readonly rowsPerStatement?: number;
  /** Called, in the order the rows were saved, for each row refused when the held-back rows were written. */
  readonly refused: InsertRefused;
}

/**
 * One open transaction. Saving a model instance inserts it when it is new and
 * updates only its changed columns when it was read from the database. Each store
 * has its own subclass (`SqliteTransaction`, `PostgresTransaction`) with its own
 * write paths; `Engine.begin` returns the one of its store.
 */
export abstract class Transaction implements DbContext {
  readonly engine: Engine;
  protected trx: Knex;
  private open = true;

  constructor(engine: Engine, db: Knex) {
    this.engine = engine;
    this.trx = db;
    pushContext(this);
  }

  /** knex bound to this transaction. */
  get db(): Knex {
    return this.trx;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * The loader's transactions: after an insert the database refuses, the transaction
   * stays usable, so that the loader can record the refusal and go on (a no-op where a
   * refused statement leaves the transaction as it was: SQLite).
   */
  keepInsertJournal(): void {}

  /**
   * The loader's and the step's transactions: `saveNow` may hold a new row back and write it with
   * others at `flush` (PostgreSQL), the row's key and columns set at once as they will
   * be stored; a row the database then refuses is handed to `batching.refused`, and
   * the others are stored. On SQLite only with `rowsPerStatement` (the loader).
   */
  batchInserts(_batching: InsertBatching): void {}

  /**
   * Like `save` for a row the framework read and handed to `process`. A store may
   * hold the write back until the chunk ends (`flush`); a promise only when it wrote
   * at once and asynchronously.
   */
  abstract saveProcessed(instance: ModelInstance): void | Promise<void>;

  /**
   * Like `save`, synchronous where the store can be (SQLite): the loader and step
   * loops call it once per row, where a promise per row is measurable.
   */
  abstract saveNow(instance: ModelInstance): boolean | Promise<boolean>;

  /** Writes what `saveProcessed` held back; throws `RowRefusedAt` for a refused row. */
  async flush(): Promise<void> {}

  /**
   * Asked after a connection error while a row was processed: whether this
   * transaction's own connection is gone (rather than a network call of the
   * pipeline's own, which is the row's failure).
   */
  abstract connectionLost(): Promise<boolean>;

  /** Insert or update `instance`; returns whether anything was written. */
  async save(instance: ModelInstance): Promise<boolean> {
    const Model = instance.model;
    const state = instance[ROW_STATE];
    if (state?.deleted) return false;
    if (state?.persisted) return this.update(Model, instance, state.original ?? {});
    await this.insert(Model, instance);
    return true;
  }

  async delete(instance: ModelInstance): Promise<void> {
    const Model = instance.model;
    const row = columnsOf(instance);
    const where: Record<string, unknown> = {};
    for (const name of Model.primaryKey) where[name] = toDb(Model.columns[name]!.spec, row[name], this.engine.dialect);
    await this.db(Model.table).where(where).delete();
    instance[ROW_STATE] = { persisted: false, original: undefined, deleted: true };
  }

  async commit(): Promise<void> {
    if (!this.open) return;
    await this.flush();
    this.open = false;
    popContext(this);
    // SQLite commits synchronously: no promise to wait for.
    const committed = this.commitWork();
    if (committed) await committed;
  }

  async rollback(): Promise<void> {
    if (!this.open) return;
    this.discard();
    this.open = false;
    popContext(this);
    const rolledBack = this.rollbackWork();
    if (rolledBack) await rolledBack;
  }

  /**
   * INSERT of a new row. Columns left undefined are left out so that the database
   * fills them in (auto-increment, defaults), except a constant default, which is
   * filled in here (layout.ts, `insertedColumns`).
   */
  protected abstract insert(Model: ModelClass, instance: ModelInstance): void | Promise<void>;
  /** UPDATE of the columns changed since `original`; whether anything was written. */
  protected abstract update(Model: ModelClass, instance: ModelInstance, original: Record<string, unknown>): boolean | Promise<boolean>;
  /** Drops what was held back for `flush` (on rollback). */
  protected discard(): void {}
  protected abstract commitWork(): void | Promise<void>;
  protected abstract rollbackWork(): void | Promise<void>;
}
