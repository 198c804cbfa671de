import type { Knex } from 'knex';
import type BetterSqlite3 from 'better-sqlite3';
import { DBError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createKnex } from './knex-factory.js';
import type { StopRequest } from './sqlite-lock.js';
import type { Store } from './store/store.js';
import type { Transaction } from './store/transaction.js';
import type { Dialect } from './values.js';

export type { InsertBatching, Transaction } from './store/transaction.js';

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
    // knex's Logger writes the sentence itself ("x is deprecated, please use y") and passes it alone.
    deprecate: (message: unknown) => say('warn', String(message)),
    debug: (message: unknown) => say('debug', typeof message === 'string' ? message : JSON.stringify(message)),
  };
}

/**
 * One process's connection to the pipeline database. Framework reads and writes of
 * rows go through its store (`store/`), the one of its database, picked once when
 * the engine opens; processors get `db`, a knex bound to the same transaction.
 */
export class Engine {
  readonly knex: Knex;
  readonly dialect: Dialect;
  readonly label: string;
  /** What the processor loops need of this database: SQLite's or PostgreSQL's (store/). */
  readonly store: Store;

  private constructor(knex: Knex, store: Store, label: string) {
    this.knex = knex;
    this.store = store;
    this.dialect = store.dialect;
    this.label = label;
  }

  static async open(options: EngineOptions): Promise<Engine> {
    // The one place that tells the databases apart, as knex picks its client.
    // Each store's module is imported only for its database: a SQLite worker does not load PostgreSQL's (and its batching), nor the reverse.
    const driver = /sqlite/.test(String(options.knex.client ?? '')) ? (await import('./store/sqlite.js')).sqliteDriver : (await import('./store/postgres.js')).postgresDriver;
    const configured = driver.configure(options);
    const knex = createKnex({ log: knexLog(options.logger), ...configured.knex });
    try {
      return new Engine(knex, await configured.connect(knex), options.label);
    } catch (error) {
      await knex.destroy().catch(() => undefined);
      throw new DBError(`Cannot connect to the database (${options.label}): ${describeError(error)}`, { hint: driver.connectionHint(error), cause: error });
    }
  }

  /** PostgreSQL: how this engine's sessions are named and set up; undefined on SQLite. */
  get session(): SessionSettings | undefined {
    return this.store.session;
  }

  async destroy(): Promise<void> {
    this.store.close();
    await this.knex.destroy();
  }

  /**
   * Open a transaction; the work inside sees it through `currentContext()`. On SQLite,
   * a stop asked while it waits for the write lock ends the wait (`StoppedWhileWaiting`).
   */
  begin(stop?: StopRequest): Promise<Transaction> {
    return this.store.begin(this, stop);
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
    if (this.dialect === 'postgres') {
      // One round trip for all of them (knex's hasTable asks the same view, a table at a time).
      const wanted = [...new Set(tables)];
      const found = (await this.knex.raw('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name::text = ANY(?::text[])', [
        wanted,
      ])) as { rows: { name: string }[] };
      const present = new Set(found.rows.map((row) => row.name));
      return wanted.filter((table) => !present.has(table));
    }
    const missing: string[] = [];
    for (const table of new Set(tables)) {
      if (!(await this.knex.schema.hasTable(table))) missing.push(table);
    }
    return missing;
  }

  /** Runs one statement in a transaction of its own (bookkeeping outside the chunk in flight). */
  autocommit<T>(work: (db: Knex) => Promise<T>, stop?: StopRequest): Promise<T> {
    return this.store.autocommit(work, stop);
  }

  /** @internal SQLite: the better-sqlite3 connection knex holds; undefined on PostgreSQL. */
  get sqlite(): BetterSqlite3.Database | undefined {
    return this.store.sqlite;
  }

  /**
   * SQLite, for `shell`: from now on a write through knex outside a transaction
   * first takes the write lock (in turn) and opens a transaction, which stays open
   * for the caller to commit or roll back. Reads never take the lock.
   */
  holdWritesInTransaction(): void {
    this.store.holdWritesInTransaction();
  }
}
