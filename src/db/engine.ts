import type { Knex } from 'knex';
import type BetterSqlite3 from 'better-sqlite3';
import { DBError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { RowRefused, blameOf } from './blame.js';
import { createKnex } from './knex-factory.js';
import { ROW_STATE, type ModelClass, type ModelInstance } from './model.js';
import type { ColumnSpec } from './columns.js';
import { fromDb, sameValue, toDb, type Dialect } from './values.js';
import { pushContext, popContext, type DbContext } from './context.js';
import { describeRefusal, refuseTooLong } from './refusal.js';
import { ATTEMPT_MS, SqliteWriteLock, type StopRequest } from './sqlite-lock.js';
import { keepAliveFor, newSessionName, sessionSetupSql } from './session.js';

export interface EngineOptions {
  /** A knex configuration (client `better-sqlite3` or `pg`). */
  readonly knex: Knex.Config;
  /** How messages name this database (never contains a password). */
  readonly label: string;
  /** SQLite: how long a writer waits for the file's write lock, in ms, before it gives up. (Default: 300000) */
  readonly busyTimeoutMs?: number;
  /**
   * PostgreSQL: the lease, from which the TCP keepalive of each session is derived, so
   * that the server drops a vanished client within about this time. Liveness itself is
   * the heartbeat in `corral_runs` (run/heartbeat.ts). (Default: 300)
   */
  readonly leaseSeconds?: number;
  /** Where knex's and pg's own messages go (a dead connection dropped by the pool, say). (Default: stderr) */
  readonly logger?: Logger;
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

/** @internal */
type Statement = BetterSqlite3.Statement;

/**
 * knex's `log` option: its messages go through corral's logger, in corral's format,
 * instead of around it. "Connection Error: …" is the pool dropping a connection that
 * died (the loop that lost it has already said so, and reconnects): info. "Acquire
 * connection error" repeats, with a stack, what the DBError of `open` says in one line.
 */
function knexLog(logger: Logger | undefined): Knex.Config['log'] {
  const say = (level: 'debug' | 'info' | 'warn' | 'error', message: unknown) => {
    const text = message instanceof Error ? message.message : String(message);
    if (logger) logger[level]({ source: 'knex' }, text);
    else if (level !== 'debug' && level !== 'info') console.warn(text);
  };
  return {
    warn(message: unknown) {
      const text = String(message);
      say(text.startsWith('Acquire connection error') ? 'debug' : text.startsWith('Connection Error') ? 'info' : 'warn', message);
    },
    error: (message: unknown) => say('error', message),
    deprecate: (method: unknown, alternative: unknown) => say('warn', `knex: ${String(method)} is deprecated, use ${String(alternative)}`),
    debug: (message: unknown) => say('debug', typeof message === 'string' ? message : JSON.stringify(message)),
  };
}

/**
 * One process's connection to the pipeline database. Framework reads and writes of
 * rows go through here; processors get `db`, a knex bound to the same transaction.
 *
 * On SQLite the row writes use better-sqlite3 prepared statements on the very
 * connection knex holds (knex keeps exactly one), because knex re-prepares every
 * statement (~30 µs) while a cached statement costs ~1 µs. Transactions there start
 * with BEGIN IMMEDIATE: with several writer processes a deferred BEGIN fails with
 * SQLITE_BUSY on its first write, which no busy timeout can cure. The write lock is
 * waited for in JavaScript, in turn with the other processes (`sqlite-lock.ts`).
 */
export class Engine {
  readonly knex: Knex;
  readonly dialect: Dialect;
  readonly label: string;
  private raw: BetterSqlite3.Database | undefined;
  private lock: SqliteWriteLock | undefined;
  /** SQLite: a write through knex outside a transaction opens one and leaves it open (`shell`). */
  private holdWrites = false;
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
    // Long: with several writer processes on one file, a writer may wait for chunks of others.
    const lockBoundMs = options.busyTimeoutMs ?? 300_000;
    const leaseSeconds = options.leaseSeconds ?? 300;
    const pgSession = dialect === 'postgres' ? pgSessionSettings(options.knex, leaseSeconds) : undefined;
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
          }
        : {
            ...options.knex,
            connection: pgSession!.connection,
            pool: {
              min: 0,
              max: 4,
              // Every session carries the engine's name (whose sessions to end when its
              // heartbeat stops) and the lease's keepalive; no idle-in-transaction timeout.
              afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
                conn.query(pgSession!.setupSql, (err) => done(err, conn));
              },
              ...(options.knex.pool ?? {}),
            },
          };
    const log = knexLog(options.logger);
    const knex = createKnex({ log, ...config });
    const engine = new Engine(knex, dialect, options.label);
    engine.session = pgSession;
    try {
      if (dialect === 'sqlite') {
        const conn = (await knex.client.acquireConnection()) as BetterSqlite3.Database;
        // Kept as a reference only: the pool keeps owning it, and corral never runs a
        // knex query and a raw statement at the same time.
        knex.client.releaseConnection(conn);
        engine.raw = conn;
        const file = (options.knex.connection as { filename?: string } | undefined)?.filename;
        engine.lock = new SqliteWriteLock(conn, file && file !== ':memory:' ? file : undefined, options.label, lockBoundMs);
        routeKnexThroughLock(knex, conn, engine);
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

  /**
   * Open a transaction; the work inside sees it through `currentContext()`. On SQLite,
   * a stop asked while it waits for the write lock ends the wait (`StoppedWhileWaiting`).
   */
  async begin(stop?: StopRequest): Promise<Transaction> {
    if (this.lock) {
      await this.lock.begin(stop);
      return new Transaction(this, this.knex);
    }
    const trx = await this.knex.transaction();
    return new Transaction(this, trx);
  }

  /** Run `work` in one transaction: commit when it resolves, roll back when it throws. */
  async inTransaction<T>(work: (tx: Transaction) => Promise<T>, stop?: StopRequest): Promise<T> {
    const tx = await this.begin(stop);
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
  async autocommit<T>(work: (db: Knex) => Promise<T>, stop?: StopRequest): Promise<T> {
    if (this.raw && this.lock) {
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

  /**
   * SQLite, for `shell`: from now on a write through knex outside a transaction
   * first takes the write lock (in turn) and opens a transaction, which stays open
   * for the caller to commit or roll back. Reads never take the lock.
   */
  holdWritesInTransaction(): void {
    this.holdWrites = true;
  }

  /**
   * @internal how a knex statement on the SQLite connection waits for the lock (see
   * `routeKnexThroughLock`): `run` runs it; `begun` answers a `BEGIN` it replaced.
   */
  async knexStatement<T>(sql: string, run: () => Promise<T>, begun: () => T): Promise<T> {
    const raw = this.raw!;
    const lock = this.lock!;
    if (raw.inTransaction) return run();
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

const engineOfConnection = new WeakMap<object, Engine>();
const routed = Symbol('corral.routedThroughLock');

/**
 * Sends the knex statements on an engine's SQLite connection through the engine (see
 * `knexStatement`), so that statements outside corral's transactions wait for the
 * write lock without blocking the thread. knex runs a transaction's statements through
 * a client made from the dialect's prototype, so the dialect's `_query` is wrapped,
 * once per process; connections that are no engine's go straight through.
 */
function routeKnexThroughLock(knex: Knex, conn: BetterSqlite3.Database, engine: Engine): void {
  engineOfConnection.set(conn, engine);
  type Query = (this: unknown, conn: object, obj: { sql?: string }) => Promise<unknown>;
  const proto = Object.getPrototypeOf(knex.client) as { _query: Query; [routed]?: boolean };
  if (proto[routed]) return;
  proto[routed] = true;
  const original = proto._query;
  proto._query = function (this: unknown, connection, obj) {
    const owner = engineOfConnection.get(connection);
    if (!owner) return original.call(this, connection, obj);
    return owner.knexStatement(
      obj.sql ?? '',
      () => original.call(this, connection, obj),
      () => Object.assign(obj, { response: { changes: 0, lastInsertRowid: 0 }, context: { lastID: 0, changes: 0 } }),
    );
  };
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
  /** The length limit of each `string(n)` column, Infinity for the others: one comparison per value. */
  readonly maxLengths: readonly number[];
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
      maxLengths: names.map((name) => (Model.columns[name]!.spec.kind === 'string' ? Model.columns[name]!.spec.length : Infinity)),
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
  const { names, specs, autoKey, maxLengths } = layoutOf(Model);
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
    if (typeof value === 'string' && value.length > maxLengths[i]!) refuseTooLong(Model, name, maxLengths[i]!, value);
    signature += String.fromCharCode(65 + i);
    values.push(toDb(spec, value, dialect));
  }
  return { signature, values, readBack };
}

/** The columns whose value differs from the one last read or written. */
function changedColumns(Model: ModelClass, row: Record<string, unknown>, original: Record<string, unknown>): string[] {
  const { names, specs, maxLengths } = layoutOf(Model);
  return names.filter((name, i) => {
    const value = row[name];
    if (sameValue(specs[i]!, value, original[name])) return false;
    if (typeof value === 'string' && value.length > maxLengths[i]!) refuseTooLong(Model, name, maxLengths[i]!, value);
    return true;
  });
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

/** The updates of one column set, held back until the chunk ends; `ordinals`: each row's place in the chunk. */
interface DeferredBatch {
  readonly Model: ModelClass;
  readonly columns: string[];
  readonly keys: unknown[][];
  readonly values: unknown[][];
  readonly ordinals: number[];
}

/** `UPDATE … FROM unnest($1::type[], …)`: a batch in one statement. */
function batchUpdateSql({ Model, columns }: DeferredBatch): string {
  const keyNames = [...Model.primaryKey];
  const all = [...columns, ...keyNames];
  const types = all.map((name) => PG_ARRAY_TYPES[Model.columns[name]!.spec.kind]);
  const alias = all.map((_, i) => `c${i}`);
  return (
    `UPDATE ${quote(Model.table)} AS t SET ${columns.map((name, i) => `${quote(name)} = v.c${i}`).join(', ')}` +
    ` FROM unnest(${types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')}) AS v(${alias.join(', ')})` +
    ` WHERE ${keyNames.map((name, i) => `t.${quote(name)} = v.c${columns.length + i}`).join(' AND ')}`
  );
}

/** The batch's values as one array per column, keys last. */
function batchArrays({ Model, columns, keys, values }: DeferredBatch): unknown[][] {
  const width = columns.length + Model.primaryKey.length;
  return Array.from({ length: width }, (_, i) => (i < columns.length ? values.map((v) => v[i]) : keys.map((k) => k[i - columns.length])));
}

/** Whether a knex query only reads (the loader's replay need not repeat it). */
function isRead(query: { method?: string; sql?: string }): boolean {
  if (query.method === 'select' || query.method === 'first' || query.method === 'pluck') return true;
  return /^\s*(select|show)\b/i.test(query.sql ?? '');
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
  private trx: Knex;
  private open = true;
  /** PostgreSQL: row updates held back to be written as one statement per column set. */
  private readonly deferred = new Map<string, DeferredBatch>();
  /** Rows handed to `saveProcessed` so far: the place in the chunk of the next one. */
  private processedRows = 0;
  /** PostgreSQL, the loader: the rows inserted so far in this transaction, to replay after a refused insert. */
  private journal: ModelInstance[] | undefined;
  /** Whether the journal is all this transaction wrote (no write went through knex). */
  private replayable = true;
  /** PostgreSQL, after a replay: each insert under a savepoint of its own, for the rest of the chunk. */
  private guarded = false;

  constructor(engine: Engine, db: Knex) {
    this.engine = engine;
    this.trx = db;
    pushContext(this);
  }

  /** knex bound to this transaction. */
  get db(): Knex {
    return this.trx;
  }

  /**
   * The loader's transactions (PostgreSQL): a refused insert aborts a PostgreSQL
   * transaction, and a savepoint per row would double the round trips of every row.
   * So the rows inserted are kept (references, at most a chunk of them); on the first
   * refusal the transaction is rolled back, begun again, the rows before are inserted
   * again with the keys they were given, and the rest of the chunk inserts each row
   * under a savepoint. A chunk that also wrote through `this.db` cannot be replayed:
   * its refusal fails the loader instead (nothing is lost silently).
   */
  keepInsertJournal(): void {
    if (this.engine.sqlite) return;
    this.journal = [];
    this.watchWrites();
  }

  private watchWrites(): void {
    (this.trx as unknown as NodeJS.EventEmitter).on('query', (query: { method?: string; sql?: string }) => {
      if (!isRead(query)) this.replayable = false;
    });
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
    const ordinal = this.processedRows++;
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
      batch = { Model, columns: changed, keys: [], values: [], ordinals: [] };
      this.deferred.set(signature, batch);
    }
    batch.ordinals.push(ordinal);
    batch.keys.push(Model.primaryKey.map((name) => toDb(Model.columns[name]!.spec, original[name] ?? row[name], 'postgres')));
    batch.values.push(changed.map((name) => toDb(Model.columns[name]!.spec, row[name], 'postgres')));
    for (const name of changed) original[name] = row[name];
  }

  /**
   * Writes the held-back updates (PostgreSQL), one statement per column set. When the
   * database refuses one (a taken unique value, say), the statement does not say
   * which row: the updates are undone to a savepoint taken before them (one round
   * trip a chunk) and applied again one row at a time, in chunk order, until the
   * refused one, which is thrown as RowRefusedAt with its place in the chunk.
   */
  async flush(): Promise<void> {
    if (this.deferred.size === 0) return;
    const batches = [...this.deferred.values()];
    this.deferred.clear();
    // A lone row needs no search: the refusal is its own.
    const lone = batches.length === 1 && batches[0]!.ordinals.length === 1;
    if (!lone) await this.pgQuery('SAVEPOINT corral_flush', []);
    try {
      for (const batch of batches) await this.pgQuery(batchUpdateSql(batch), batchArrays(batch));
    } catch (error) {
      if (blameOf(error) !== 'row') throw error;
      const first = batches[0]!;
      if (lone) throw describeRefusal(first.Model, error, first.columns, first.ordinals[0]);
      await this.pgQuery('ROLLBACK TO SAVEPOINT corral_flush', []);
      await this.applyRowByRow(batches);
    }
  }

  /** The held-back updates one row at a time, in chunk order; throws for the first one refused. */
  private async applyRowByRow(batches: readonly DeferredBatch[]): Promise<void> {
    const rows = batches.flatMap((batch) => batch.ordinals.map((ordinal, i) => ({ batch, i, ordinal }))).sort((a, b) => a.ordinal - b.ordinal);
    for (const { batch, i, ordinal } of rows) {
      const { Model, columns } = batch;
      const sql =
        `UPDATE ${quote(Model.table)} SET ${columns.map((name, c) => `${quote(name)} = $${c + 1}`).join(', ')}` +
        ` WHERE ${Model.primaryKey.map((name, k) => `${quote(name)} = $${columns.length + k + 1}`).join(' AND ')}`;
      try {
        await this.pgQuery(sql, [...batch.values[i]!, ...batch.keys[i]!]);
      } catch (error) {
        throw describeRefusal(Model, error, columns, ordinal);
      }
    }
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
    let stored: Record<string, unknown>;
    try {
      stored = (this.guarded ? await this.underSavepoint(sql, values) : await this.pgQuery(sql, values, true))[0]!;
    } catch (error) {
      throw await this.refusedInsert(Model, error, columns);
    }
    const original: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (row[name] === undefined) row[name] = fromDb(specs[i]!, stored[name]);
      original[name] = row[name];
    }
    instance[ROW_STATE] = { persisted: true, original };
    this.journal?.push(instance);
  }

  /** One prepared statement under a savepoint of its own: a refusal leaves the transaction usable. */
  private async underSavepoint(sql: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    await this.pgQuery('SAVEPOINT corral_row', []);
    try {
      const rows = await this.pgQuery(sql, values, true);
      await this.pgQuery('RELEASE SAVEPOINT corral_row', []);
      return rows;
    } catch (error) {
      if (blameOf(error) === 'row') await this.pgQuery('ROLLBACK TO SAVEPOINT corral_row', []);
      throw error;
    }
  }

  /**
   * The error to throw for a failed PostgreSQL insert: a refusal names the model and
   * column. With a journal (the loader) the transaction is made usable again first
   * (see `keepInsertJournal`), so that the loader can record the refusal and go on.
   */
  private async refusedInsert(Model: ModelClass, error: unknown, columns: readonly string[]): Promise<unknown> {
    const refusal = describeRefusal(Model, error, columns);
    if (!(refusal instanceof RowRefused) || !this.journal || this.guarded) return refusal;
    if (!this.replayable) {
      // No cause: this is the chunk's failure, not the row's.
      return new DBError(`${refusal.message}; the chunk also wrote through this.db, which corral cannot replay, so the chunk was rolled back`, {
        hint: 'Yield the rows instead of writing them with this.db, or make the data acceptable to the database.',
      });
    }
    await this.replayJournal();
    return refusal;
  }

  /** Rolls back, begins again and inserts the journal's rows again with the values (and keys) they were stored with. */
  private async replayJournal(): Promise<void> {
    await (this.trx as Knex.Transaction).rollback().catch(() => undefined);
    this.trx = await this.engine.knex.transaction();
    this.watchWrites();
    this.guarded = true;
    for (const instance of this.journal!) {
      const Model = instance.model;
      const { names, specs } = layoutOf(Model);
      const original = instance[ROW_STATE]!.original!;
      const sql = `INSERT INTO ${quote(Model.table)} (${names.map(quote).join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`;
      try {
        await this.pgQuery(sql, names.map((name, i) => toDb(specs[i]!, original[name], 'postgres')), true);
      } catch (error) {
        // Refused now (another writer took its value meanwhile): the chunk's failure, not this row's.
        if (blameOf(error) !== 'row') throw error;
        throw new DBError(`An object stored earlier in the chunk could not be stored again after another was refused: ${describeError(error)}`);
      }
    }
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
    try {
      await this.db(Model.table).where(where).update(set);
    } catch (error) {
      throw describeRefusal(Model, error, changed);
    }
    for (const name of changed) original[name] = row[name];
    return true;
  }
}
