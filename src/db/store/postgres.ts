/**
 * The PostgreSQL store. Each transaction holds a pool connection; the rows of a
 * chunk are locked with FOR UPDATE SKIP LOCKED, so that several workers share a
 * processor. Inserts go to the connection as named prepared statements (the server
 * plans each once per session), updates of processed rows are held back and sent as
 * one `UPDATE … FROM unnest(…)` per chunk and column set, the new rows of a loader or step
 * are held back and sent as one `INSERT … SELECT * FROM unnest(…)` per chunk and
 * column set (pg-insert-batch.ts), and the loader's transactions keep a journal of
 * the inserts sent to survive a refused one sent alone.
 */
import type { Knex } from 'knex';
import { DBError, describeError } from '../../core/errors.js';
import { RowRefused, blameOf } from '../blame.js';
import type { ColumnSpec } from '../columns.js';
import type { Engine, SessionSettings } from '../engine.js';
import { Alerted } from '../bookkeeping/models.js';
import { columnsOf, ROW_STATE, type ModelClass, type ModelInstance } from '../model.js';
import { describeRefusal } from '../refusal.js';
import { keepAliveFor, newSessionName, sessionSetupSql } from '../session.js';
import { fromDb, toDb } from '../values.js';
import { changedColumns, insertedColumns, layoutOf, quote, signatureColumns } from './layout.js';
import { arrayParameter, IdPools, InsertBatch, PG_ARRAY_TYPES, reinsert } from './pg-insert-batch.js';
import type { AlertClaims, ClaimSource, Row, Store, StoreDriver } from './store.js';
import { Transaction, type InsertBatching } from './transaction.js';

export const postgresDriver: StoreDriver = {
  dialect: 'postgres',
  configure(options) {
    const session = pgSessionSettings(options.knex, options.leaseSeconds ?? 300);
    const knex: Knex.Config = {
      ...options.knex,
      connection: session.connection,
      pool: {
        min: 0,
        max: 4,
        // Every session carries the engine's name (whose sessions to end when its
        // heartbeat stops) and the lease's keepalive; no idle-in-transaction timeout.
        afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
          conn.query(session.setupSql, (err) => done(err, conn));
        },
        ...(options.knex.pool ?? {}),
      },
    };
    return {
      knex,
      async connect(opened) {
        // A connection made (and set up) now, so that a wrong URL fails here; no query of its own needed.
        const connection: unknown = await opened.client.acquireConnection();
        await opened.client.releaseConnection(connection);
        return new PostgresStore(opened, session);
      },
    };
  },
  connectionHint(error) {
    // invalid_catalog_name: the server answered, the database is not there.
    return (error as { code?: string } | undefined)?.code === '3D000'
      ? 'Create the database on the server first (e.g. `createdb -h HOST -U USER NAME`, or CREATE DATABASE in psql), then run `node in_corral.js createdb` for its tables; or fix `connection` in the settings.'
      : 'Check that the server is running and that `connection` in the settings (host, port, user, database) is right.';
  },
};

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

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly sqlite: undefined = undefined;
  readonly session: SessionSettings;
  private readonly knex: Knex;
  /** Ids taken from the tables' sequences and not handed out yet, per loader run (its `InsertBatching`). */
  private readonly ids = new WeakMap<InsertBatching, IdPools>();

  constructor(knex: Knex, session: SessionSettings) {
    this.knex = knex;
    this.session = session;
  }

  async begin(engine: Engine): Promise<Transaction> {
    return new PostgresTransaction(engine, await this.knex.transaction(), this.ids);
  }

  autocommit<T>(work: (db: Knex) => Promise<T>): Promise<T> {
    return work(this.knex);
  }

  /** A PostgreSQL `shell` works in a transaction of its own already. */
  holdWritesInTransaction(): void {}

  async readRows(query: Knex.QueryBuilder): Promise<Row[]> {
    return (await query) as Row[];
  }

  lockingRows(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return query.forUpdate().skipLocked();
  }

  alertClaims(source: ClaimSource): AlertClaims {
    return {
      claim: async (tx, candidate) => (await this.lockingRows(source.claimQuery(tx.db, candidate)).first()) as Row | undefined,
      record: async (tx, record) => {
        const stored = { ...record, created_at: toDb(Alerted.columns.created_at.spec, record.created_at, 'postgres') };
        const inserted = (await tx.db(Alerted.table).insert(stored).onConflict(['alert', 'model_table', 'model_key']).ignore().returning('alert')) as unknown[];
        return inserted.length > 0;
      },
    };
  }

  keyTextSql(columns: number): string {
    return Array.from({ length: columns }, () => 'CAST(?? AS TEXT)').join(' || chr(31) || ');
  }

  value(spec: ColumnSpec, value: unknown): unknown {
    return toDb(spec, value, 'postgres');
  }

  now(): unknown {
    return this.knex.fn.now();
  }

  close(): void {}
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

/** The batch's values as one array parameter per column, keys last. */
function batchArrays({ Model, columns, keys, values }: DeferredBatch): unknown[] {
  const width = columns.length + Model.primaryKey.length;
  return Array.from({ length: width }, (_, i) =>
    i < columns.length
      ? arrayParameter(Model.columns[columns[i]!]!.spec.kind, values.map((v) => v[i]))
      : arrayParameter(Model.columns[Model.primaryKey[i - columns.length]!]!.spec.kind, keys.map((k) => k[i - columns.length])),
  );
}

/** Whether a knex query only reads (the loader's replay need not repeat it). */
function isRead(query: { method?: string; sql?: string }): boolean {
  if (query.method === 'select' || query.method === 'first' || query.method === 'pluck') return true;
  return /^\s*(select|show)\b/i.test(query.sql ?? '');
}

/** A transaction on PostgreSQL: a knex transaction, its pool connection used directly for the row writes. */
class PostgresTransaction extends Transaction {
  /** Row updates held back to be written as one statement per column set. */
  private readonly deferred = new Map<string, DeferredBatch>();
  /** Rows handed to `saveProcessed` so far: the place in the chunk of the next one. */
  private processedRows = 0;
  /** The loader: the rows inserted so far in this transaction, to replay after a refused insert. */
  private journal: ModelInstance[] | undefined;
  /** Whether the journal is all this transaction wrote (no write went through knex). */
  private replayable = true;
  /** After a replay: each insert under a savepoint of its own, for the rest of the chunk. */
  private guarded = false;
  private readonly ids: WeakMap<InsertBatching, IdPools>;
  /** The loader: new rows held back until the flush, and whom to tell of a refused one. */
  private batch: { readonly rows: InsertBatch; readonly refused: InsertBatching['refused'] } | undefined;
  /** `saveNow` calls so far: the place of the next row (what a refusal found at the flush is named by). */
  private saves = 0;
  private flushingInserts = false;

  constructor(engine: Engine, db: Knex, ids: WeakMap<InsertBatching, IdPools>) {
    super(engine, db);
    this.ids = ids;
  }

  /**
   * A refused insert aborts a PostgreSQL transaction, and a savepoint per row would
   * double the round trips of every row. So the rows inserted are kept (references,
   * at most a chunk of them); on the first refusal the transaction is rolled back,
   * begun again, the rows before are inserted again with the keys they were given,
   * and the rest of the chunk inserts each row under a savepoint. A chunk that also
   * wrote through `this.db` cannot be replayed: its refusal fails the loader instead
   * (nothing is lost silently).
   */
  override keepInsertJournal(): void {
    this.journal = [];
    this.watchWrites();
  }

  private watchWrites(): void {
    this.trx.on('query', (query: { method?: string; sql?: string }) => {
      if (!isRead(query)) this.replayable = false;
    });
  }

  /**
   * Holds the loader's new rows back (pg-insert-batch.ts) and makes every query
   * sent through this transaction's knex (`this.db`, `find`, `count`, a `save` of a
   * stored row, a failure record) write them first, so that it sees them and they
   * go in the order they were yielded.
   */
  override batchInserts(batching: InsertBatching): void {
    let ids = this.ids.get(batching);
    if (!ids) this.ids.set(batching, (ids = new IdPools()));
    this.batch = { rows: new InsertBatch((sql, values, prepared) => this.pgQuery(sql, values, prepared), ids, batching.idsPerTrip, batching.firstIds), refused: batching.refused };
    this.flushBeforeKnexQueries();
  }

  /** Wraps the knex transaction client's `query` (every statement of `this.db`, COMMIT and ROLLBACK included). */
  private flushBeforeKnexQueries(): void {
    // knex types a transaction's client as its public Client, without the internal `query` every statement goes through (as sqlite.ts wraps `_query`).
    const client = (this.trx as unknown as { client: { query(conn: unknown, obj: unknown): Promise<unknown> } }).client;
    const send = client.query.bind(client);
    client.query = async (conn, obj) => {
      if (this.batch && this.batch.rows.waiting > 0 && !this.flushingInserts) await this.flushInserts();
      return send(conn, obj);
    };
  }

  /**
   * Writes the held-back rows. A row refused is handed to the loader (which records
   * it through this transaction), the others go to the journal. After a refusal the
   * rest of the chunk's rows sent alone go under a savepoint each: a replay would
   * undo the refusals' records.
   */
  private async flushInserts(): Promise<void> {
    if (!this.batch || this.batch.rows.waiting === 0) return;
    this.flushingInserts = true;
    let outcome: Awaited<ReturnType<InsertBatch['flush']>>;
    try {
      // No savepoint while a refusal can be undone by the replay: two round trips a chunk fewer.
      const guarded = this.guarded || !this.replayable || !this.journal;
      outcome = await this.batch.rows.flush(guarded, this.journal ? () => this.replayJournal() : undefined);
    } finally {
      this.flushingInserts = false;
    }
    this.journal?.push(...outcome.stored);
    if (outcome.refused.length > 0) this.guarded = true;
    for (const { row, refusal, place } of outcome.refused) await this.batch.refused(row, refusal, place);
  }

  /**
   * The update of a row read and processed waits for the end of the chunk and goes
   * out with the chunk's other updates as one `UPDATE … FROM unnest(…)` (one round
   * trip instead of one per row). A new or deleted row is saved at once.
   */
  saveProcessed(instance: ModelInstance): void | Promise<void> {
    const state = instance[ROW_STATE];
    const ordinal = this.processedRows++;
    if (!state?.persisted || state.deleted) return this.save(instance).then(() => undefined);
    const Model = instance.model;
    const row = columnsOf(instance);
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

  saveNow(instance: ModelInstance): boolean | Promise<boolean> {
    const place = this.saves++;
    const state = instance[ROW_STATE];
    if (!this.batch || state?.persisted || state?.deleted) return this.save(instance);
    const held = this.batch.rows.add(instance, place);
    if (held === true) return true;
    if (held === false) return this.save(instance);
    return held.then((ok) => ok || this.save(instance));
  }

  /**
   * Writes the held-back updates, one statement per column set. When the database
   * refuses one (a taken unique value, say), the statement does not say which row:
   * the updates are undone to a savepoint taken before them (one round trip a chunk)
   * and applied again one row at a time, in chunk order, until the refused one,
   * which is thrown as RowRefusedAt with its place in the chunk.
   */
  override async flush(): Promise<void> {
    await this.flushInserts();
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

  /** The transaction's own connection answers, or it is gone. */
  async connectionLost(): Promise<boolean> {
    try {
      await this.db.raw('select 1');
      return false;
    } catch (probe) {
      return blameOf(probe) === 'connection';
    }
  }

  protected async insert(Model: ModelClass, instance: ModelInstance): Promise<void> {
    // The rows held back go first: this one may refer to them.
    await this.flushInserts();
    const row = columnsOf(instance);
    const { names, specs } = layoutOf(Model);
    const { signature, values } = insertedColumns(Model, row, 'postgres');
    const columns = signatureColumns(signature, names);
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
   * The error to throw for a failed insert: a refusal names the model and column.
   * With a journal (the loader) the transaction is made usable again first (see
   * `keepInsertJournal`), so that the loader can record the refusal and go on.
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
    if (this.batch) this.flushBeforeKnexQueries();
    this.guarded = true;
    try {
      await reinsert((sql, values, prepared) => this.pgQuery(sql, values, prepared), this.journal!);
    } catch (error) {
      // Refused now (another writer took its value meanwhile): the chunk's failure, not this row's.
      if (blameOf(error) !== 'row') throw error;
      throw new DBError(`An object stored earlier in the chunk could not be stored again after another was refused: ${describeError(error)}`);
    }
  }

  /** One statement on this transaction's connection; `prepared` names it so the server plans it once per session. */
  private async pgQuery(sql: string, values: unknown[], prepared = false): Promise<Record<string, unknown>[]> {
    const connection = (await this.db.client.acquireConnection()) as PgConnection;
    try {
      const result = await connection.query(prepared ? { name: statementName(sql), text: sql, values } : { text: sql, values });
      return result.rows;
    } finally {
      await this.db.client.releaseConnection(connection);
    }
  }

  protected async update(Model: ModelClass, instance: ModelInstance, original: Record<string, unknown>): Promise<boolean> {
    const row = columnsOf(instance);
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

  protected override discard(): void {
    this.deferred.clear();
    this.batch?.rows.discard();
  }

  /** knex's commit() resolves even when COMMIT fails (e.g. the lease ended the session); the failure only shows on executionPromise. */
  protected async commitWork(): Promise<void> {
    const trx = this.db as Knex.Transaction;
    await trx.commit();
    await trx.executionPromise;
  }

  protected async rollbackWork(): Promise<void> {
    await (this.db as Knex.Transaction).rollback().catch(() => undefined);
  }
}
