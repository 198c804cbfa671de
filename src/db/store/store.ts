/**
 * A store: what the processor loops need from one kind of database, implemented once
 * for SQLite (`sqlite.ts`) and once for PostgreSQL (`postgres.ts`). `Engine.open`
 * picks one, once, from the knex client, as knex picks its dialect; from then on the
 * loops in run/ call the same methods whatever the database, and each database's
 * fast paths (SQLite's cached prepared statements, PostgreSQL's batched updates and
 * row locks) stay inside its own store.
 */
import type { Knex } from 'knex';
import type BetterSqlite3 from 'better-sqlite3';
import type { ColumnSpec } from '../columns.js';
import type { Engine, EngineOptions, SessionSettings } from '../engine.js';
import type { StopRequest } from '../sqlite-lock.js';
import type { Dialect } from '../values.js';
import type { Transaction } from './transaction.js';

/** A row as the driver returns it (stored values, not yet hydrated). */
export type Row = Record<string, unknown>;

/** Rows as arrays of stored values, each in the order of `columns` (`RowReader.readArrays`). */
export interface RowArrays {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/** How a work set's queries are run (run/work-set.ts compiles them). */
export interface RowReader {
  /**
   * The rows of a query that is run again and again with other bindings (a chunk of
   * the keyset walk): on SQLite a cached prepared statement, synchronous; on
   * PostgreSQL the query itself.
   */
  readRows(query: Knex.QueryBuilder): Row[] | Promise<Row[]>;
  /**
   * `readRows` with each row as an array of its values, in the order of `columns`,
   * where the driver can (SQLite): building an object per row costs about as much
   * as reading it, and the step builds its own instance from the row anyway.
   */
  readArrays?(query: Knex.QueryBuilder): RowArrays;
  /** `readArrays` of a query compiled already (its SQL text and bindings), run again and again with other bindings. */
  readArraysOf?(sql: string, bindings: readonly unknown[]): RowArrays;
  /**
   * The query, made to lock the rows it reads for the transaction it runs in and to
   * skip the rows other workers hold (PostgreSQL's FOR UPDATE SKIP LOCKED). SQLite's
   * write lock serialises whole transactions, so there it is the query unchanged.
   */
  lockingRows(query: Knex.QueryBuilder): Knex.QueryBuilder;
}

/** What an alert's claim re-reads: one candidate row, still matching the alert's conditions. */
export interface ClaimSource {
  /** The query that re-reads `candidate` by its key, unlocked. */
  claimQuery(db: Knex, candidate: Row): Knex.QueryBuilder;
  /**
   * The same query compiled once: its SQL, its bindings, and for each binding the key
   * column whose value a candidate puts there (undefined for the fixed ones).
   */
  compiledClaim(db: Knex): { readonly sql: string; readonly bindings: readonly unknown[]; readonly keys: readonly (string | undefined)[] };
}

/** One `corral_alerted` record: an alert announced a row. */
export interface AlertedRecord {
  readonly alert: string;
  readonly model_table: string;
  readonly model_key: string;
  readonly created_at: Date;
}

/** An alert's per-row claim, prepared once per alert run. */
export interface AlertClaims {
  /** Re-reads a candidate in `tx`: still matching, and locked against other workers; undefined when it is gone. */
  claim(tx: Transaction, candidate: Row): Row | undefined | Promise<Row | undefined>;
  /** Inserts the record unless it is there (ON CONFLICT DO NOTHING); whether this insert made it. */
  record(tx: Transaction, record: AlertedRecord): boolean | Promise<boolean>;
  /**
   * Called just before a chunk's candidates are read. SQLite notes what the database
   * looks like then, and a claim finding it unchanged takes the candidate as read.
   */
  beforeChunk?(): void;
  /** SQLite database files: the rows are committed in batches (`AlertBatches`); undefined where each row commits alone. */
  readonly batches?: AlertBatches;
}

/**
 * An alert's batches on a SQLite database file: several rows per transaction, each
 * in a savepoint of its own, and what was delivered since the batch began written to
 * the process's sent journal (`db/sent-journal.ts`), so that a crash still re-sends at
 * most the row in flight.
 */
export interface AlertBatches {
  /** In a write transaction, before any claim: records the rows other processes' journals say were delivered. */
  replay(): void;
  /** Before a row's claim. */
  savepoint(): void;
  /** The row is done: its writes join the batch. */
  release(): void;
  /** Takes back the row's writes and keeps the batch; false when SQLite has rolled the whole transaction back (a full disk). */
  undoRow(): boolean;
  /** Notes a delivered row in the journal; false when it could not be written (`journalFailure` says why). */
  sent(record: AlertedRecord): boolean;
  /** After the batch's COMMIT. */
  committed(): void;
  /** Whether batches can be used: false once the journal failed. */
  readonly usable: boolean;
  readonly journalFailure: unknown;
  readonly journalFolder: string;
  /** At the end of the run. */
  close(): void;
}

export interface Store extends RowReader {
  readonly dialect: Dialect;
  /** @internal SQLite: the better-sqlite3 connection knex holds (`shell`, `dbshell`'s prompt); undefined on PostgreSQL. */
  readonly sqlite: BetterSqlite3.Database | undefined;
  /** PostgreSQL: how the engine's sessions are named and set up; undefined on SQLite, which has no sessions to end. */
  readonly session: SessionSettings | undefined;
  /** Opens a transaction of `engine`. SQLite: a stop asked while it waits for the write lock ends the wait. */
  begin(engine: Engine, stop?: StopRequest): Promise<Transaction>;
  /** Runs `work` as one statement in a transaction of its own. */
  autocommit<T>(work: (db: Knex) => Promise<T>, stop?: StopRequest): Promise<T>;
  /** `shell`: a write through knex outside a transaction opens one, left open for the caller (SQLite). */
  holdWritesInTransaction(): void;
  /** An alert's claim and record, for the rows of `source`. */
  alertClaims(source: ClaimSource): AlertClaims;
  /** SQL of a row's key text from `columns` key columns (`??` bindings), as `keyText` (db/bookkeeping/row-keys.ts) writes it in JavaScript. */
  keyTextSql(columns: number): string;
  /** A JavaScript value as this database stores it in a column of `spec` (booleans 1/0 and dates as milliseconds on SQLite). */
  value(spec: ColumnSpec, value: unknown): unknown;
  /** "Now" for a bookkeeping column: the server's clock on PostgreSQL (the lease is judged by it), this process's on SQLite. */
  now(spec: ColumnSpec): unknown;
  /** Forgets what the store keeps on the connection (prepared statements) before knex closes it. */
  close(): void;
}

/** A kind of store: how its knex is configured and how the store connects. */
export interface StoreDriver {
  readonly dialect: Dialect;
  /** knex's configuration for this database, and how the store connects once that knex exists (throws when it cannot). */
  configure(options: EngineOptions): { readonly knex: Knex.Config; connect(knex: Knex): Promise<Store> };
  /** What to do when `connect` failed with `error`. */
  connectionHint(error: unknown): string;
}
