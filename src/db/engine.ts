import type { Knex } from 'knex';
import type BetterSqlite3 from 'better-sqlite3';
import { DBError, describeError } from '../core/errors.js';
import { createKnex } from './knex-factory.js';
import { ROW_STATE, type ModelClass, type ModelInstance } from './model.js';
import type { ColumnSpec } from './columns.js';
import { fromDb, sameValue, toDb, type Dialect } from './values.js';
import { pushContext, popContext, type DbContext } from './context.js';
import { keepAliveFor, newSessionName, sessionSetupSql } from './session.js';

export interface EngineOptions {
  /** A knex configuration (client `better-sqlite3` or `pg`). */
  readonly knex: Knex.Config;
  /** How messages name this database (never contains a password). */
  readonly label: string;
  /** SQLite: how long a writer waits for the file lock, in ms. (Default: 300000) */
  readonly busyTimeoutMs?: number;
  /**
   * PostgreSQL: the lease, from which the TCP keepalive of each session is derived, so
   * that the server drops a vanished client within about this time. Liveness itself is
   * the heartbeat in `corral_runs` (run/heartbeat.ts). (Default: 300)
   */
  readonly leaseSeconds?: number;
}

/** What a heartbeat thread needs to open a session like the engine's own (PostgreSQL). */
export interface SessionSettings {
  /** pg's client configuration, keepalive included; plain data (sent to a worker thread). */
  readonly connection: Record<string, unknown>;
  readonly searchPath: readonly string[] | undefined;
  /** `application_name` of every session of this engine (session.ts). */
  readonly name: string;
  /** The statements each session runs once connected. */
  readonly setupSql: string;
}

type Statement = BetterSqlite3.Statement;

/**
 * One process's connection to the pipeline database. Framework reads and writes of
 * rows go through here; processors get `db`, a knex bound to the same transaction.
 *
 * On SQLite the row writes use better-sqlite3 prepared statements on the very
 * connection knex holds (knex keeps exactly one), because knex re-prepares every
 * statement (~30 µs) while a cached statement costs ~1 µs. Transactions there start
 * with BEGIN IMMEDIATE: with several writer processes a deferred BEGIN fails with
 * SQLITE_BUSY on its first write, which no busy timeout can cure.
 */
export class Engine {
  readonly knex: Knex;
  readonly dialect: Dialect;
  readonly label: string;
  private raw: BetterSqlite3.Database | undefined;
  /** PostgreSQL: how this engine's sessions are named and set up; undefined on SQLite. */
  session: SessionSettings | undefined;
  private readonly statements = new Map<string, Statement>();
  private readonly updatesBySignature = new WeakMap<ModelClass, Map<string, Statement>>();
  private readonly insertsBySignature = new WeakMap<ModelClass, Map<string, Statement>>();

  private constructor(knex: Knex, dialect: Dialect, label: string) {
    this.knex = knex;
    this.dialect = dialect;
    this.label = label;
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const client = String(options.knex.client ?? '');
    const dialect: Dialect = /sqlite/.test(client) ? 'sqlite' : 'postgres';
    // Long: with several writer processes on one file, a writer may wait for a whole chunk of another.
    const busyTimeout = options.busyTimeoutMs ?? 300_000;
    const leaseSeconds = options.leaseSeconds ?? 300;
    const pgSession = pgSessionSettings(options.knex, leaseSeconds);
    const config: Knex.Config =
      dialect === 'sqlite'
        ? {
            useNullAsDefault: true,
            ...options.knex,
            pool: {
              min: 1,
              max: 1,
              afterCreate(conn: BetterSqlite3.Database, done: (err: Error | null, conn: unknown) => void) {
                try {
                  conn.pragma(`busy_timeout = ${busyTimeout}`);
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
          }
        : {
            ...options.knex,
            connection: pgSession.connection,
            pool: {
              min: 0,
              max: 4,
              // Every session carries the engine's name (whose sessions to end when its
              // heartbeat stops) and the lease's keepalive; no idle-in-transaction timeout.
              afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
                conn.query(pgSession.setupSql, (err) => done(err, conn));
              },
              ...(options.knex.pool ?? {}),
            },
          };
    // knex prints each failed connection attempt with its stack on stdout; the DBError
    // below already says it in one line. Its other warnings go to stderr.
    const log = {
      warn(message: string) {
        if (!String(message).startsWith('Acquire connection error')) console.warn(message);
      },
    };
    const knex = createKnex({ log, ...config });
    const engine = new Engine(knex, dialect, options.label);
    if (dialect === 'postgres') engine.session = pgSession;
    try {
      if (dialect === 'sqlite') {
        const conn = (await knex.client.acquireConnection()) as BetterSqlite3.Database;
        // Kept as a reference only: the pool keeps owning it, and corral never runs a
        // knex query and a raw statement at the same time.
        knex.client.releaseConnection(conn);
        engine.raw = conn;
      } else {
        await knex.raw('select 1');
      }
    } catch (error) {
      await knex.destroy().catch(() => undefined);
      // PostgreSQL's invalid_catalog_name: the server answered, the database is not there.
      const noDatabase = (error as { code?: string } | undefined)?.code === '3D000';
      throw new DBError(`Cannot connect to the database (${options.label}): ${describeError(error)}`, {
        hint:
          dialect === 'sqlite'
            ? 'Check that the folder of the SQLite file exists and is writable, or fix `connection` in the settings.'
            : noDatabase
              ? 'Create the database on the server first (e.g. `createdb -h HOST -U USER NAME`, or CREATE DATABASE in psql), then run `node in_corral.js createdb` for its tables; or fix `connection` in the settings.'
              : 'Check that the server is running and that `connection` in the settings (host, port, user, database) is right.',
        cause: error,
      });
    }
    return engine;
  }

  async destroy(): Promise<void> {
    this.statements.clear();
    await this.knex.destroy();
  }

  /** Open a transaction; the work inside sees it through `currentContext()`. */
  async begin(): Promise<Transaction> {
    if (this.raw) {
      this.raw.exec('BEGIN IMMEDIATE');
      return new Transaction(this, this.knex);
    }
    const trx = await this.knex.transaction();
    return new Transaction(this, trx);
  }

  /** Run `work` in one transaction: commit when it resolves, roll back when it throws. */
  async inTransaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx = await this.begin();
    try {
      const result = await work(tx);
      await tx.commit();
      return result;
    } catch (error) {
      await tx.rollback();
      throw error;
    }
  }

  /** Tables among `tables` that do not exist yet. */
  async missingTables(tables: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const table of new Set(tables)) {
      if (!(await this.knex.schema.hasTable(table))) missing.push(table);
    }
    return missing;
  }

  /** Rows can be claimed with FOR UPDATE SKIP LOCKED (PostgreSQL); SQLite locks the whole file instead. */
  get locksRows(): boolean {
    return this.dialect === 'postgres';
  }

  /** Runs one statement in a transaction of its own (bookkeeping outside the chunk in flight). */
  async autocommit<T>(work: (db: Knex) => Promise<T>): Promise<T> {
    if (this.raw) {
      this.raw.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.knex);
        this.raw.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        throw error;
      }
    }
    return work(this.knex);
  }

  /**
   * @internal the prepared INSERT of the columns a signature names: one character per
   * column, its index + 65 (cheaper per row than joining column names).
   */
  insertBySignature(Model: ModelClass, signature: string, names: readonly string[], returning: boolean): Statement {
    return this.bySignature(this.insertsBySignature, Model, returning ? `r${signature}` : signature, () => {
      const columns = [...signature].map((c) => names[c.charCodeAt(0) - 65]!);
      const sql = columns.length
        ? `INSERT INTO ${quote(Model.table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`
        : `INSERT INTO ${quote(Model.table)} DEFAULT VALUES`;
      return returning ? sql + ' RETURNING *' : sql;
    });
  }

  /** @internal the prepared UPDATE by primary key of the columns a signature names (see `insertBySignature`). */
  updateBySignature(Model: ModelClass, signature: string, names: readonly string[]): Statement {
    return this.bySignature(this.updatesBySignature, Model, signature, () => {
      const changed = [...signature].map((c) => names[c.charCodeAt(0) - 65]!);
      return (
        `UPDATE ${quote(Model.table)} SET ${changed.map((n) => `${quote(n)} = ?`).join(', ')}` +
        ` WHERE ${Model.primaryKey.map((n) => `${quote(n)} = ?`).join(' AND ')}`
      );
    });
  }

  /** A statement found per model and signature, so that a row builds no SQL text; prepared once per SQL text. */
  private bySignature(cache: WeakMap<ModelClass, Map<string, Statement>>, Model: ModelClass, key: string, sql: () => string): Statement {
    let byModel = cache.get(Model);
    if (!byModel) cache.set(Model, (byModel = new Map()));
    let statement = byModel.get(key);
    if (!statement) byModel.set(key, (statement = this.statement(sql())));
    return statement;
  }

  /** @internal a cached prepared statement on the raw SQLite connection. */
  statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.raw!.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** @internal */
  get sqlite(): BetterSqlite3.Database | undefined {
    return this.raw;
  }
}

/** PostgreSQL array element types for `unnest` batches, per column kind. */
const PG_ARRAY_TYPES: Record<string, string> = {
  integer: 'int4',
  bigint: 'int8',
  float: 'float8',
  string: 'text',
  text: 'text',
  boolean: 'bool',
  datetime: 'timestamptz',
  json: 'jsonb',
};

/** A model's columns as arrays, computed once: the per-row paths index them rather than walk objects. */
interface Layout {
  readonly names: readonly string[];
  readonly specs: readonly ColumnSpec[];
  readonly keyIndexes: readonly number[];
  /** Index of the single integer key the database numbers, or -1. */
  readonly autoKey: number;
}

const layouts = new WeakMap<ModelClass, Layout>();

function layoutOf(Model: ModelClass): Layout {
  let layout = layouts.get(Model);
  if (!layout) {
    const names = Object.keys(Model.columns);
    layout = {
      names,
      specs: names.map((name) => Model.columns[name]!.spec),
      keyIndexes: Model.primaryKey.map((name) => names.indexOf(name)),
      autoKey: -1,
    };
    const key = Model.primaryKey.length === 1 ? names.indexOf(Model.primaryKey[0]!) : -1;
    if (key >= 0 && ['integer', 'bigint'].includes(layout.specs[key]!.kind)) layout = { ...layout, autoKey: key };
    layouts.set(Model, layout);
  }
  return layout;
}

/**
 * The columns an INSERT of `row` writes, as a signature (see `updateBySignature`),
 * and their bound values. An undefined column with a constant default gets that
 * default, here and in `row`; one with another default or an undefined key is left
 * out for the database to fill in (`readBack`: the row must be read back, unless the
 * only one left out is the integer key, which SQLite hands back as the rowid); any
 * other undefined column becomes NULL, as in SQL.
 */
function insertedColumns(Model: ModelClass, row: Record<string, unknown>, dialect: Dialect): { signature: string; values: unknown[]; readBack: boolean } {
  const { names, specs, autoKey } = layoutOf(Model);
  let signature = '';
  let readBack = false;
  const values: unknown[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const spec = specs[i]!;
    let value = row[name];
    if (value === undefined) {
      if (spec.hasDefault && isConstant(spec.defaultValue)) {
        row[name] = value = spec.defaultValue;
      } else if (spec.primaryKey || spec.hasDefault) {
        if (i !== autoKey) readBack = true;
        continue;
      } else {
        row[name] = value = null;
      }
    }
    signature += String.fromCharCode(65 + i);
    values.push(toDb(spec, value, dialect));
  }
  return { signature, values, readBack };
}

/** The columns whose value differs from the one last read or written. */
function changedColumns(Model: ModelClass, row: Record<string, unknown>, original: Record<string, unknown>): string[] {
  const { names, specs } = layoutOf(Model);
  return names.filter((name, i) => !sameValue(specs[i]!, row[name], original[name]));
}

/** A default that can be filled in before the INSERT: a value, not SQL and not a shared object. */
function isConstant(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof value);
}

interface PgConnection {
  query(query: { name?: string; text: string; values: unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
}

const statementNames = new Map<string, string>();

/** A stable name per SQL text for pg's prepared statements (a session prepares each once). */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `corral_${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * The pg client configuration with TCP keepalive from the lease, and the session's
 * name and set-up (session.ts). A connection given as a function stays as it is.
 */
function pgSessionSettings(knexConfig: Knex.Config, leaseSeconds: number): SessionSettings {
  const name = newSessionName();
  const keepAlive = { keepAlive: true, keepAliveInitialDelayMillis: keepAliveFor(leaseSeconds).idle * 1000 };
  const given = knexConfig.connection;
  const connection = typeof given === 'string' ? { connectionString: given, ...keepAlive } : { ...keepAlive, ...(given as Record<string, unknown> | undefined) };
  const searchPath = knexConfig.searchPath === undefined ? undefined : [knexConfig.searchPath].flat();
  return { connection, searchPath, name, setupSql: sessionSetupSql(name, leaseSeconds) };
}

function quote(identifier: string): string {
  return '"' + identifier.replaceAll('"', '""') + '"';
}

/**
 * One open transaction. Saving a model instance inserts it when it is new and
 * updates only its changed columns when it was read from the database.
 */
export class Transaction implements DbContext {
  readonly engine: Engine;
  readonly db: Knex;
  private open = true;
  /** PostgreSQL: row updates held back to be written as one statement per column set. */
  private readonly deferred = new Map<string, { Model: ModelClass; columns: string[]; keys: unknown[][]; values: unknown[][] }>();

  constructor(engine: Engine, db: Knex) {
    this.engine = engine;
    this.db = db;
    pushContext(this);
  }

  get isOpen(): boolean {
    return this.open;
  }

  async commit(): Promise<void> {
    if (!this.open) return;
    await this.flush();
    this.open = false;
    popContext(this);
    if (this.engine.sqlite) this.engine.sqlite.exec('COMMIT');
    else {
      // knex's commit() resolves even when COMMIT fails (e.g. the lease ended the
      // session); the failure only shows on executionPromise.
      const trx = this.db as Knex.Transaction;
      await trx.commit();
      await trx.executionPromise;
    }
  }

  async rollback(): Promise<void> {
    if (!this.open) return;
    this.deferred.clear();
    this.open = false;
    popContext(this);
    if (this.engine.sqlite) {
      if (this.engine.sqlite.inTransaction) this.engine.sqlite.exec('ROLLBACK');
    } else {
      await (this.db as Knex.Transaction).rollback().catch(() => undefined);
    }
  }

  /**
   * Like `save` for a row the framework read and handed to `process`; on PostgreSQL
   * its update waits for the end of the chunk and goes out with the chunk's other
   * updates as one `UPDATE … FROM unnest(…)` (one round trip instead of one per
   * row). On SQLite a prepared statement per row is as fast, so it writes at once.
   */
  saveProcessed(instance: ModelInstance): void | Promise<void> {
    const state = instance[ROW_STATE];
    if (this.engine.sqlite || !state?.persisted || state.deleted) {
      // On SQLite, the hot path of a step: synchronous, no promise per row.
      const saved = this.saveNow(instance);
      return typeof saved === 'boolean' ? undefined : saved.then(() => undefined);
    }
    const Model = instance.model;
    const row = instance as unknown as Record<string, unknown>;
    const original = state.original ?? {};
    const changed = changedColumns(Model, row, original);
    if (changed.length === 0) return;
    const signature = `${Model.table}\0${changed.join(',')}`;
    let batch = this.deferred.get(signature);
    if (!batch) {
      batch = { Model, columns: changed, keys: [], values: [] };
      this.deferred.set(signature, batch);
    }
    batch.keys.push(Model.primaryKey.map((name) => toDb(Model.columns[name]!.spec, original[name] ?? row[name], 'postgres')));
    batch.values.push(changed.map((name) => toDb(Model.columns[name]!.spec, row[name], 'postgres')));
    for (const name of changed) original[name] = row[name];
  }

  /** Writes the held-back updates (PostgreSQL). */
  async flush(): Promise<void> {
    for (const { Model, columns, keys, values } of this.deferred.values()) {
      const keyNames = [...Model.primaryKey];
      const all = [...columns, ...keyNames];
      const types = all.map((name) => PG_ARRAY_TYPES[Model.columns[name]!.spec.kind]);
      const arrays = all.map((_, i) => (i < columns.length ? values.map((v) => v[i]) : keys.map((k) => k[i - columns.length])));
      const alias = all.map((_, i) => `c${i}`);
      const sql =
        `UPDATE ${quote(Model.table)} AS t SET ${columns.map((name, i) => `${quote(name)} = v.c${i}`).join(', ')}` +
        ` FROM unnest(${types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')}) AS v(${alias.join(', ')})` +
        ` WHERE ${keyNames.map((name, i) => `t.${quote(name)} = v.c${columns.length + i}`).join(' AND ')}`;
      await this.pgQuery(sql, arrays);
    }
    this.deferred.clear();
  }

  /**
   * Like `save`, synchronous on SQLite (a promise only on PostgreSQL): the loader and
   * step loops call it once per row, where a promise per row is measurable.
   */
  saveNow(instance: ModelInstance): boolean | Promise<boolean> {
    const state = instance[ROW_STATE];
    if (!this.engine.sqlite) return this.save(instance);
    if (state?.deleted) return false;
    if (state?.persisted) return this.updateSqlite(instance.model, instance, state.original ?? {});
    this.insertSqlite(instance.model, instance);
    return true;
  }

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
    const row = instance as unknown as Record<string, unknown>;
    const where: Record<string, unknown> = {};
    for (const name of Model.primaryKey) where[name] = toDb(Model.columns[name]!.spec, row[name], this.engine.dialect);
    await this.db(Model.table).where(where).delete();
    instance[ROW_STATE] = { persisted: false, original: undefined, deleted: true };
  }

  /**
   * INSERT of a new row. Columns left undefined are left out so that the database
   * fills them in (auto-increment, defaults), except a constant default, which is
   * filled in here: then the row needs no read-back, and SQLite hands back the
   * rowid of an integer key. A column with neither becomes NULL, as it would in SQL.
   */
  private insertSqlite(Model: ModelClass, instance: ModelInstance): void {
    const row = instance as unknown as Record<string, unknown>;
    const { names, specs, autoKey } = layoutOf(Model);
    const { signature, values, readBack } = insertedColumns(Model, row, 'sqlite');
    const statement = this.engine.insertBySignature(Model, signature, names, readBack);
    if (readBack) {
      const stored = statement.get(values) as Record<string, unknown>;
      for (let i = 0; i < names.length; i++) if (row[names[i]!] === undefined) row[names[i]!] = fromDb(specs[i]!, stored[names[i]!]);
    } else {
      const result = statement.run(values);
      if (autoKey >= 0 && row[names[autoKey]!] === undefined) row[names[autoKey]!] = Number(result.lastInsertRowid);
    }
    const original: Record<string, unknown> = {};
    for (const name of names) original[name] = row[name];
    instance[ROW_STATE] = { persisted: true, original };
  }

  private async insert(Model: ModelClass, instance: ModelInstance): Promise<void> {
    if (this.engine.sqlite) return this.insertSqlite(Model, instance);
    const row = instance as unknown as Record<string, unknown>;
    const { names, specs } = layoutOf(Model);
    const { signature, values } = insertedColumns(Model, row, 'postgres');
    const columns = [...signature].map((c) => names[c.charCodeAt(0) - 65]!);
    // Straight to the transaction's pg connection as a named prepared statement: knex
    // would build and the server would plan the same INSERT again for every row.
    const sql = columns.length
      ? `INSERT INTO ${quote(Model.table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`
      : `INSERT INTO ${quote(Model.table)} DEFAULT VALUES RETURNING *`;
    const stored = (await this.pgQuery(sql, values, true))[0]!;
    const original: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (row[name] === undefined) row[name] = fromDb(specs[i]!, stored[name]);
      original[name] = row[name];
    }
    instance[ROW_STATE] = { persisted: true, original };
  }

  /** PostgreSQL: one statement on this transaction's connection; `prepared` names it so the server plans it once per session. */
  private async pgQuery(sql: string, values: unknown[], prepared = false): Promise<Record<string, unknown>[]> {
    const connection = (await this.db.client.acquireConnection()) as PgConnection;
    try {
      const result = await connection.query(prepared ? { name: statementName(sql), text: sql, values } : { text: sql, values });
      return result.rows;
    } finally {
      await this.db.client.releaseConnection(connection);
    }
  }

  /** UPDATE of the changed columns through a prepared statement cached per column set. */
  private updateSqlite(Model: ModelClass, instance: ModelInstance, original: Record<string, unknown>): boolean {
    const row = instance as unknown as Record<string, unknown>;
    const { names, specs, keyIndexes } = layoutOf(Model);
    let signature = '';
    const values: unknown[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (!sameValue(specs[i]!, row[name], original[name])) {
        signature += String.fromCharCode(65 + i);
        values.push(toDb(specs[i]!, row[name], 'sqlite'));
      }
    }
    if (values.length === 0) return false;
    for (const k of keyIndexes) {
      const name = names[k]!;
      values.push(toDb(specs[k]!, original[name] ?? row[name], 'sqlite'));
    }
    this.engine.updateBySignature(Model, signature, names).run(values);
    for (let i = 0; i < signature.length; i++) {
      const name = names[signature.charCodeAt(i) - 65]!;
      original[name] = row[name];
    }
    return true;
  }

  private async update(Model: ModelClass, instance: ModelInstance, original: Record<string, unknown>): Promise<boolean> {
    if (this.engine.sqlite) return this.updateSqlite(Model, instance, original);
    const row = instance as unknown as Record<string, unknown>;
    const changed = changedColumns(Model, row, original);
    if (changed.length === 0) return false;
    const set: Record<string, unknown> = {};
    for (const name of changed) set[name] = toDb(Model.columns[name]!.spec, row[name], 'postgres');
    const where: Record<string, unknown> = {};
    for (const name of Model.primaryKey) where[name] = toDb(Model.columns[name]!.spec, original[name] ?? row[name], 'postgres');
    await this.db(Model.table).where(where).update(set);
    for (const name of changed) original[name] = row[name];
    return true;
  }
}
