/**
 * The SQLite store. Row writes and the hot reads use better-sqlite3 prepared
 * statements on the very connection knex holds (knex keeps exactly one), because
 * knex re-prepares every statement (~30 µs) while a cached statement costs ~1 µs, and
 * better-sqlite3 frees a statement only when V8 collects it. They run synchronously:
 * a step's row awaits nothing. Transactions start with BEGIN IMMEDIATE: with several
 * writer processes a deferred BEGIN fails with SQLITE_BUSY on its first write, which
 * no busy timeout can cure. The write lock is waited for in JavaScript, in turn with
 * the other processes (`sqlite-lock.ts`).
 */
import type { Knex } from 'knex';
import type BetterSqlite3 from 'better-sqlite3';
import type { ColumnSpec } from '../columns.js';
import type { Engine, EngineOptions, SessionSettings } from '../engine.js';
import { Alerted } from '../bookkeeping/models.js';
import { columnsOf, ROW_STATE, type ModelClass, type ModelInstance } from '../model.js';
import { blameOf } from '../blame.js';
import { refuseTooLong } from '../refusal.js';
import { ATTEMPT_MS, SqliteWriteLock, type StopRequest } from '../sqlite-lock.js';
import { fromDb, sameValue, toDb } from '../values.js';
import { changeDetector, insertedColumns, layoutOf, quote, READ_BACK, signatureColumns, snapshotOf, sqliteInsertPlan, sqliteUpdateOf } from './layout.js';
import { SentJournal } from '../sent-journal.js';
import type { AlertBatches, AlertClaims, AlertedRecord, ClaimSource, Row, RowArrays, Store, StoreDriver } from './store.js';
import { sqliteAddonPath } from './sqlite-binding.js';
import { Transaction, type InsertBatching } from './transaction.js';
import { heldInsertSql, SqliteInsertBatch, type HeldInsertStatements, type HeldRefusal } from './sqlite-insert-batch.js';

type Statement = BetterSqlite3.Statement;

export const sqliteDriver: StoreDriver = {
  dialect: 'sqlite',
  configure(options) {
    const knex: Knex.Config = {
      useNullAsDefault: true,
      ...options.knex,
      connection: withAddonPath(options.knex.connection),
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: BetterSqlite3.Database, done: (err: Error | null, conn: unknown) => void) {
          try {
            // Short: the write lock is waited for in JavaScript (sqlite-lock.ts), not asleep in C.
            conn.pragma(`busy_timeout = ${ATTEMPT_MS}`);
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            conn.pragma('foreign_keys = ON');
            // 4 MB of page cache instead of better-sqlite3's 16 MB: chunked keyset scans
            // and key lookups need the B-trees' upper levels, not a big cache (the OS
            // caches the file too), and run-all keeps one connection per process.
            // Measured on a 1M-row step: the same speed, 18 MB less per process.
            conn.pragma('cache_size = -4000');
            done(null, conn);
          } catch (error) {
            done(error as Error, conn);
          }
        },
        ...(options.knex.pool ?? {}),
      },
    };
    return { knex, connect: (opened) => connectSqlite(opened, options) };
  },
  connectionHint: () => 'Check that the folder of the SQLite file exists and is writable, or fix `connection` in the settings.',
};

/** The connection settings with better-sqlite3's addon named (`sqlite-binding.ts`), unless they name one already. */
function withAddonPath(connection: Knex.Config['connection']): Knex.Config['connection'] {
  if (typeof connection !== 'object' || connection === null || typeof connection === 'function') return connection;
  const given = connection as { options?: { nativeBinding?: unknown } };
  const addon = sqliteAddonPath();
  if (addon === undefined || given.options?.nativeBinding !== undefined) return connection;
  return { ...connection, options: { ...given.options, nativeBinding: addon } } as Knex.Config['connection'];
}

async function connectSqlite(knex: Knex, options: EngineOptions): Promise<SqliteStore> {
  const conn = (await knex.client.acquireConnection()) as BetterSqlite3.Database;
  // Kept as a reference only: the pool keeps owning it, and corral never runs a
  // knex query and a raw statement at the same time.
  knex.client.releaseConnection(conn);
  const file = (options.knex.connection as { filename?: string } | undefined)?.filename;
  // Long: with several writer processes on one file, a writer may wait for chunks of others.
  // Undefined for `:memory:`: no other process shares it.
  const shared = file && file !== ':memory:' ? file : undefined;
  const lock = new SqliteWriteLock(conn, shared, options.label, options.busyTimeoutMs ?? 300_000);
  const store = new SqliteStore(knex, conn, lock, shared);
  routeKnexThroughLock(knex, conn, store);
  return store;
}

/** A binding as knex's SQLite client would pass it to better-sqlite3. */
function sqliteBinding(value: unknown): unknown {
  if (value instanceof Date) return value.valueOf();
  if (typeof value === 'boolean') return Number(value);
  return value;
}

export class SqliteStore implements Store, HeldInsertStatements {
  readonly dialect = 'sqlite' as const;
  readonly session: SessionSettings | undefined = undefined;
  private readonly knex: Knex;
  private readonly raw: BetterSqlite3.Database;
  private readonly lock: SqliteWriteLock;
  /** The database file; undefined for `:memory:`, which no other process shares (an alert's rows then commit one by one). */
  private readonly file: string | undefined;
  /** A write through knex outside a transaction opens one and leaves it open (`shell`). */
  private holdWrites = false;
  private readonly statements = new Map<string, Statement>();
  private readonly arrayStatements = new Map<string, { statement: Statement; columns: readonly string[] }>();
  private readonly updatesBySignature = new WeakMap<ModelClass, Map<string, Statement>>();
  private readonly insertsBySignature = new WeakMap<ModelClass, Map<string, Statement>>();
  private readonly updatesByMask = new WeakMap<ModelClass, Map<number, Statement>>();
  private readonly insertsByMask = new WeakMap<ModelClass, Map<number, Statement>>();
  private readonly heldInserts = new WeakMap<ModelClass, Map<number, Statement>>();
  /** Per model: the statement reading its largest key, or null when its key is not the rowid (`largestKey`). */
  private readonly largestKeys = new WeakMap<ModelClass, Statement | null>();
  /**
   * Called before any statement other than a held insert runs on the connection
   * while a transaction holds rows back (sqlite-insert-batch.ts): writes them first,
   * so that the statement sees them and writes come in the order they were made.
   */
  beforeStatement: (() => void) | undefined = undefined;

  constructor(knex: Knex, raw: BetterSqlite3.Database, lock: SqliteWriteLock, file?: string) {
    this.knex = knex;
    this.raw = raw;
    this.lock = lock;
    this.file = file;
  }

  get sqlite(): BetterSqlite3.Database {
    return this.raw;
  }

  private readonly ends: Partial<Record<'COMMIT' | 'ROLLBACK', Statement>> = {};

  /** COMMIT or ROLLBACK, prepared once: an alert without batches ends a transaction per row (its crash bound). */
  endTransaction(sql: 'COMMIT' | 'ROLLBACK'): void {
    (this.ends[sql] ??= this.raw.prepare(sql)).run();
  }

  async begin(engine: Engine, stop?: StopRequest): Promise<Transaction> {
    await this.lock.begin(stop);
    return new SqliteTransaction(engine, this.knex, this);
  }

  async autocommit<T>(work: (db: Knex) => Promise<T>, stop?: StopRequest): Promise<T> {
    await this.lock.begin(stop);
    try {
      const result = await work(this.knex);
      this.raw.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * For `shell`: from now on a write through knex outside a transaction first takes
   * the write lock (in turn) and opens a transaction, which stays open for the caller
   * to commit or roll back. Reads never take the lock.
   */
  holdWritesInTransaction(): void {
    this.holdWrites = true;
  }

  /** A cached prepared statement: a chunk builds SQL text, but prepares it once per text. */
  readRows(query: Knex.QueryBuilder): Row[] {
    const { sql, bindings } = query.toSQL().toNative();
    this.beforeStatement?.();
    return this.statement(sql).all(bindings.map(sqliteBinding)) as Row[];
  }

  /** `readRows` as arrays: a statement of its own per SQL text, since `raw()` changes what a statement returns. */
  readArrays(query: Knex.QueryBuilder): RowArrays {
    const { sql, bindings } = query.toSQL().toNative();
    return this.readArraysOf(sql, bindings);
  }

  readArraysOf(sql: string, bindings: readonly unknown[]): RowArrays {
    this.beforeStatement?.();
    let entry = this.arrayStatements.get(sql);
    if (!entry) {
      const statement = this.raw.prepare(sql).raw(true);
      entry = { statement, columns: statement.columns().map((column) => column.name) };
      this.arrayStatements.set(sql, entry);
    }
    return { columns: entry.columns, rows: entry.statement.all(bindings.map(sqliteBinding)) as unknown[][] };
  }

  lockingRows(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return query;
  }

  /** The claim and the record as prepared statements: knex builds and prepares each query anew, which cost most of a row's time. */
  alertClaims(source: ClaimSource): AlertClaims {
    const compiled = source.compiledClaim(this.knex);
    const claim = this.statement(compiled.sql);
    const fixed = compiled.bindings.map(sqliteBinding);
    const keys = compiled.keys;
    const record = this.recordStatement();
    // The claim's re-read is skipped while nothing can have changed since the chunk was
    // read: no other connection committed (`PRAGMA data_version`, read inside the claim's
    // transaction, after the write lock), and this connection changed nothing but its own
    // records (`total_changes()`: an alert or endpoint writing, a failure recorded, a
    // heartbeat, and the claims re-read until the next chunk).
    const dataVersion = this.raw.prepare('PRAGMA data_version').pluck();
    const totalChanges = this.raw.prepare('SELECT total_changes()').pluck();
    let version: unknown;
    let changes = -1;
    return {
      beforeChunk: () => {
        version = dataVersion.get();
        changes = totalChanges.get() as number;
      },
      claim: (_tx, candidate) => {
        if (changes >= 0) {
          if (dataVersion.get() === version && totalChanges.get() === changes) return candidate;
          changes = -1;
        }
        return claim.get(fixed.map((value, i) => (keys[i] === undefined ? value : candidate[keys[i]]))) as Row | undefined;
      },
      record: (_tx, r: AlertedRecord) => {
        const inserted = record.run([r.alert, r.model_table, r.model_key, toDb(Alerted.columns.created_at.spec, r.created_at, 'sqlite')]).changes;
        if (changes >= 0) changes += inserted;
        return inserted > 0;
      },
      batches: this.file === undefined ? undefined : this.alertBatches(this.file),
    };
  }

  private recordStatement(): Statement {
    return this.statement(
      `INSERT INTO "${Alerted.table}" ("alert", "model_table", "model_key", "created_at") VALUES (?, ?, ?, ?) ON CONFLICT ("alert", "model_table", "model_key") DO NOTHING`,
    );
  }

  /** An alert run's batches (see `AlertBatches`): savepoints as prepared statements, and its sent journal. */
  private alertBatches(file: string): AlertBatches {
    const raw = this.raw;
    const journal = new SentJournal(file);
    const record = this.recordStatement();
    const savepoint = raw.prepare('SAVEPOINT corral_row');
    const release = raw.prepare('RELEASE corral_row');
    const rollbackTo = raw.prepare('ROLLBACK TO corral_row');
    // Replayed records are the ones of other processes: dated when they are found.
    const replayed = (alert: string, table: string, key: string) => {
      record.run([alert, table, key, toDb(Alerted.columns.created_at.spec, new Date(), 'sqlite')]);
    };
    return {
      replay: () => journal.replay(replayed),
      savepoint: () => savepoint.run(),
      release: () => release.run(),
      undoRow: () => {
        if (!raw.inTransaction) return false;
        rollbackTo.run();
        release.run();
        return true;
      },
      sent: (r) => journal.append(r.alert, r.model_table, r.model_key),
      committed: () => journal.clear(),
      get usable() {
        return journal.usable;
      },
      get journalFailure() {
        return journal.failure;
      },
      journalFolder: journal.folder,
      close: () => journal.close(),
    };
  }

  keyTextSql(columns: number): string {
    return Array.from({ length: columns }, () => 'CAST(?? AS TEXT)').join(' || char(31) || ');
  }

  value(spec: ColumnSpec, value: unknown): unknown {
    return toDb(spec, value, 'sqlite');
  }

  now(spec: ColumnSpec): unknown {
    return toDb(spec, new Date(), 'sqlite');
  }

  close(): void {
    this.statements.clear();
    this.arrayStatements.clear();
  }

  /** The prepared INSERT of the columns a signature names (layout.ts, `signatureColumns`). */
  insertBySignature(Model: ModelClass, signature: string, names: readonly string[], returning: boolean): Statement {
    return this.bySignature(this.insertsBySignature, Model, returning ? `r${signature}` : signature, () => {
      const columns = signatureColumns(signature, names);
      const sql = columns.length
        ? `INSERT INTO ${quote(Model.table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`
        : `INSERT INTO ${quote(Model.table)} DEFAULT VALUES`;
      return returning ? sql + ' RETURNING *' : sql;
    });
  }

  /** The prepared UPDATE by primary key of the columns a signature names. */
  updateBySignature(Model: ModelClass, signature: string, names: readonly string[]): Statement {
    return this.bySignature(this.updatesBySignature, Model, signature, () => {
      const changed = signatureColumns(signature, names);
      return (
        `UPDATE ${quote(Model.table)} SET ${changed.map((n) => `${quote(n)} = ?`).join(', ')}` +
        ` WHERE ${Model.primaryKey.map((n) => `${quote(n)} = ?`).join(' AND ')}`
      );
    });
  }

  /** The prepared UPDATE by primary key of the columns a mask names (layout.ts, `changeDetector`): a number, no string per row. */
  updateByMask(Model: ModelClass, mask: number, names: readonly string[]): Statement {
    let byModel = this.updatesByMask.get(Model);
    if (!byModel) this.updatesByMask.set(Model, (byModel = new Map()));
    let statement = byModel.get(mask);
    if (!statement) byModel.set(mask, (statement = this.updateBySignature(Model, signatureOfMask(mask, names.length), names)));
    return statement;
  }

  /** The prepared INSERT of the columns an `InsertPlan`'s answer names (its mask, and `READ_BACK`). */
  insertByMask(Model: ModelClass, written: number, names: readonly string[]): Statement {
    let byModel = this.insertsByMask.get(Model);
    if (!byModel) this.insertsByMask.set(Model, (byModel = new Map()));
    let statement = byModel.get(written);
    if (!statement) byModel.set(written, (statement = this.insertBySignature(Model, signatureOfMask(written, names.length), names, (written & READ_BACK) !== 0)));
    return statement;
  }

  /** The INSERT of `rows` held-back rows (sqlite-insert-batch.ts): the columns of `written`, then the key. */
  heldInsert(Model: ModelClass, written: number, rows: number): Statement {
    let byModel = this.heldInserts.get(Model);
    if (!byModel) this.heldInserts.set(Model, (byModel = new Map()));
    // Few row counts per model (k, and 1): one key of both.
    const key = written * 4096 + rows;
    let statement = byModel.get(key);
    if (!statement) byModel.set(key, (statement = this.statement(heldInsertSql(Model, written, rows))));
    return statement;
  }

  /**
   * The largest key the table of `Model` has had: what SQLite numbers the next row
   * after (its largest rowid, or under AUTOINCREMENT the larger of that and
   * `sqlite_sequence`). Undefined when the key is not the table's rowid.
   */
  largestKey(Model: ModelClass): number | undefined {
    let statement = this.largestKeys.get(Model);
    if (statement === undefined) {
      statement = this.largestKeyStatement(Model);
      this.largestKeys.set(Model, statement);
    }
    if (statement === null) return undefined;
    const largest = statement.get() as unknown;
    return typeof largest === 'number' ? largest : undefined;
  }

  private largestKeyStatement(Model: ModelClass): Statement | null {
    const { names, autoKey } = layoutOf(Model);
    if (autoKey < 0) return null;
    const table = this.raw.prepare('SELECT sql FROM sqlite_master WHERE type = ? AND name = ?').pluck().get('table', Model.table) as string | undefined;
    if (table === undefined || /without\s+rowid/i.test(table)) return null;
    const keys = this.raw.prepare('SELECT name, type FROM pragma_table_info(?) WHERE pk > 0').all(Model.table) as { name: string; type: string }[];
    // Only an INTEGER PRIMARY KEY column is the rowid (the type spelled so, any case).
    if (keys.length !== 1 || keys[0]!.name !== names[autoKey] || keys[0]!.type.toUpperCase() !== 'INTEGER') return null;
    const largestRow = `coalesce((SELECT max(rowid) FROM ${quote(Model.table)}), 0)`;
    const sequenced = this.raw.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").pluck().get() !== 0;
    return this.raw
      .prepare(sequenced ? `SELECT max(${largestRow}, coalesce((SELECT seq FROM sqlite_sequence WHERE name = ${quoteText(Model.table)}), 0))` : `SELECT ${largestRow}`)
      .pluck();
  }

  /** A statement found per model and signature, so that a row builds no SQL text; prepared once per SQL text. */
  private bySignature(cache: WeakMap<ModelClass, Map<string, Statement>>, Model: ModelClass, key: string, sql: () => string): Statement {
    let byModel = cache.get(Model);
    if (!byModel) cache.set(Model, (byModel = new Map()));
    let statement = byModel.get(key);
    if (!statement) byModel.set(key, (statement = this.statement(sql())));
    return statement;
  }

  /** A cached prepared statement on the connection. */
  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.raw.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** How many statements are prepared and kept (each SQL text once). */
  get preparedCount(): number {
    return this.statements.size + this.arrayStatements.size;
  }

  /**
   * How a knex statement on the connection waits for the lock (see
   * `routeKnexThroughLock`): `run` runs it; `begun` answers a `BEGIN` it replaced.
   */
  async knexStatement<T>(sql: string, run: () => Promise<T>, begun: () => T): Promise<T> {
    const raw = this.raw;
    const lock = this.lock;
    if (raw.inTransaction) {
      this.beforeStatement?.();
      return run();
    }
    // knex's own transactions (createdb, migrate) begin deferred: make them take the
    // lock at once and in turn, like corral's (a deferred one can fail on its first write).
    if (sql === 'BEGIN;') {
      await lock.begin();
      return begun();
    }
    if (this.holdWrites && !raw.prepare(sql).readonly) {
      await lock.begin();
      return run();
    }
    return lock.retryWhileBusy(run);
  }
}

const storeOfConnection = new WeakMap<object, SqliteStore>();
const routed = Symbol('corral.routedThroughLock');

/**
 * Sends the knex statements on a store's connection through the store (see
 * `knexStatement`), so that statements outside corral's transactions wait for the
 * write lock without blocking the thread. knex runs a transaction's statements through
 * a client made from the dialect's prototype, so the dialect's `_query` is wrapped,
 * once per process; connections that are no store's go straight through.
 */
function routeKnexThroughLock(knex: Knex, conn: BetterSqlite3.Database, store: SqliteStore): void {
  storeOfConnection.set(conn, store);
  type Query = (this: unknown, conn: object, obj: { sql?: string }) => Promise<unknown>;
  const proto = Object.getPrototypeOf(knex.client) as { _query: Query; [routed]?: boolean };
  if (proto[routed]) return;
  proto[routed] = true;
  const original = proto._query;
  proto._query = function (this: unknown, connection, obj) {
    const owner = storeOfConnection.get(connection);
    if (!owner) return original.call(this, connection, obj);
    return owner.knexStatement(
      obj.sql ?? '',
      () => original.call(this, connection, obj),
      () => Object.assign(obj, { response: { changes: 0, lastInsertRowid: 0 }, context: { lastID: 0, changes: 0 } }),
    );
  };
}

/** A transaction on SQLite: every write synchronously, through a prepared statement cached per column set; the loader's new rows k per statement. */
class SqliteTransaction extends Transaction {
  private readonly store: SqliteStore;
  /** The bound values of an insert, refilled per row: the statement binds them at once and keeps nothing. */
  private readonly insertValues: unknown[] = [];
  /** The loader's held-back new rows (`batchInserts` with `rowsPerStatement`), and whom to tell of a refused one. */
  private held: SqliteInsertBatch | undefined;
  private tellRefused: InsertBatching['refused'] | undefined;
  /** Rows refused when the held rows were written, not yet told (`tellRefusals`): a flush may run inside a knex query, which cannot wait for another. */
  private readonly refusals: HeldRefusal[] = [];
  /** `saveNow` calls so far: the place of the next row (what a refusal found at a flush is named by). */
  private saves = 0;
  private readonly flushHeld = (): void => {
    const held = this.held!;
    held.forgetKeys();
    held.flush(this.refusals);
  };

  constructor(engine: Engine, db: Knex, store: SqliteStore) {
    super(engine, db);
    this.store = store;
  }

  /**
   * Holds the loader's new rows back and writes them `rowsPerStatement` at a time
   * (sqlite-insert-batch.ts); any other statement on the connection writes them
   * first. Without `rowsPerStatement` (a step) every row is written at once.
   */
  override batchInserts(batching: InsertBatching): void {
    if ((batching.rowsPerStatement ?? 1) <= 1) return;
    this.held = new SqliteInsertBatch(this.store, batching.rowsPerStatement!);
    this.tellRefused = batching.refused;
    this.store.beforeStatement = this.flushHeld;
  }

  /** A prepared statement per row is as fast as a batch here: written at once, no promise. */
  saveProcessed(instance: ModelInstance): void {
    this.saveNow(instance);
  }

  saveNow(instance: ModelInstance): boolean | Promise<boolean> {
    const state = instance[ROW_STATE];
    const held = this.held;
    if (held === undefined) {
      if (state?.deleted) return false;
      if (state?.persisted) return this.update(instance.model, instance, state.original ?? {});
      this.insert(instance.model, instance);
      return true;
    }
    const place = this.saves++;
    if (state?.deleted) return false;
    if (state === undefined || !state.persisted) {
      let holding: boolean;
      try {
        holding = held.add(instance, place, this.refusals);
      } catch (error) {
        // This row's own refusal (a value too long) comes after those of the rows before it.
        if (blameOf(error) !== 'row') throw error;
        this.flushHeld();
        if (this.refusals.length === 0) throw error;
        return this.tellRefusals().then(() => Promise.reject(error));
      }
      if (holding) return this.refusals.length === 0 ? true : this.tellRefusals().then(() => true);
    }
    // Written at once (an update, a row whose columns cannot wait), after the rows held.
    const written = state?.persisted ? this.update(instance.model, instance, state.original ?? {}) : (this.insert(instance.model, instance), true);
    return this.refusals.length === 0 ? written : this.tellRefusals().then(() => written);
  }

  /** Tells the loader of the held rows refused, in the order they were saved. */
  private async tellRefusals(): Promise<void> {
    while (this.refusals.length > 0) {
      const { row, refusal, place } = this.refusals.shift()!;
      await this.tellRefused!(row, refusal, place);
    }
  }

  override async flush(): Promise<void> {
    if (this.held === undefined) return;
    this.flushHeld();
    await this.tellRefusals();
  }

  protected override discard(): void {
    this.held?.discard();
    this.refusals.length = 0;
    this.stopHolding();
  }

  private stopHolding(): void {
    if (this.held !== undefined && this.store.beforeStatement === this.flushHeld) this.store.beforeStatement = undefined;
  }

  /** A file does not lose its connection. */
  async connectionLost(): Promise<boolean> {
    return false;
  }

  /** Without a read-back, SQLite hands back the rowid of an integer key. */
  protected insert(Model: ModelClass, instance: ModelInstance): void {
    if (this.held) this.flushHeld();
    const row = columnsOf(instance);
    const { names, specs, autoKey } = layoutOf(Model);
    const plan = sqliteInsertPlan(Model);
    let statement: Statement;
    let values: unknown[];
    let readBack: boolean;
    if (plan) {
      values = this.insertValues;
      const written = plan(row, values);
      readBack = (written & READ_BACK) !== 0;
      statement = this.store.insertByMask(Model, written, names);
    } else {
      const inserted = insertedColumns(Model, row, 'sqlite');
      ({ values, readBack } = inserted);
      statement = this.store.insertBySignature(Model, inserted.signature, names, readBack);
    }
    if (readBack) {
      const stored = statement.get(values) as Record<string, unknown>;
      for (let i = 0; i < names.length; i++) if (row[names[i]!] === undefined) row[names[i]!] = fromDb(specs[i]!, stored[names[i]!]);
    } else {
      const result = statement.run(values);
      if (autoKey >= 0 && row[names[autoKey]!] === undefined) row[names[autoKey]!] = Number(result.lastInsertRowid);
    }
    instance[ROW_STATE] = { persisted: true, original: snapshotOf(Model)(row) };
  }

  protected update(Model: ModelClass, instance: ModelInstance, original: Record<string, unknown>): boolean {
    if (this.held) this.flushHeld();
    const row = columnsOf(instance);
    const changed = changeDetector(Model);
    if (!changed) return this.updateBySignature(Model, row, original);
    const mask = changed(row, original);
    if (mask === 0) return false;
    // Null only where code cannot be generated, and then `changeDetector` is null too (the signature path above).
    const update = sqliteUpdateOf(Model, mask);
    if (!update) return this.updateBySignature(Model, row, original);
    update(this.store.updateByMask(Model, mask, layoutOf(Model).names), row, original);
    return true;
  }

  /** `update` for a model too wide for a mask: the changed columns as a signature (layout.ts). */
  private updateBySignature(Model: ModelClass, row: Record<string, unknown>, original: Record<string, unknown>): boolean {
    const { names, specs, keyIndexes, maxLengths } = layoutOf(Model);
    let signature = '';
    const values: unknown[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (!sameValue(specs[i]!, row[name], original[name])) {
        const value = row[name];
        if (typeof value === 'string' && value.length > maxLengths[i]!) refuseTooLong(Model, name, maxLengths[i]!, value);
        signature += String.fromCharCode(65 + i);
        values.push(toDb(specs[i]!, row[name], 'sqlite'));
      }
    }
    if (values.length === 0) return false;
    for (const k of keyIndexes) {
      const name = names[k]!;
      values.push(toDb(specs[k]!, original[name] ?? row[name], 'sqlite'));
    }
    this.store.updateBySignature(Model, signature, names).run(values);
    for (let i = 0; i < signature.length; i++) {
      const name = names[signature.charCodeAt(i) - 65]!;
      original[name] = row[name];
    }
    return true;
  }

  protected commitWork(): void {
    this.stopHolding();
    this.store.endTransaction('COMMIT');
  }

  protected rollbackWork(): void {
    if (this.store.sqlite.inTransaction) this.store.endTransaction('ROLLBACK');
  }
}

/** A string literal in SQL. */
function quoteText(text: string): string {
  return "'" + text.replaceAll("'", "''") + "'";
}

/** The column signature (`A` for column 0, `B` for 1, …) of the columns a mask names: the key the signature caches use. */
function signatureOfMask(mask: number, columns: number): string {
  let signature = '';
  for (let i = 0; i < columns; i++) if ((mask & (1 << i)) !== 0) signature += String.fromCharCode(65 + i);
  return signature;
}
