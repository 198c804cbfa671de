/**
 * A scaffolded pipeline (helpers/pipeline.ts) on either database, as its own
 * commands see it, and the few edits the issue-5 tests make to the scaffold.
 *
 *     const pipe = await createPipeline(dir, 'distpipe');
 *     const db = await usePipelineDb(pipe, 'postgres', pgDatabase);  // edits `connection`
 *     configureSettings(pipe, { chunkSize: 50, procs: { MyStep: 2 } });
 *     addCounter(pipe);  // Example.counter, incremented in SQL by MyStep
 *     expectExit(await pipe.cli(['createdb', '--noinput']), 0);
 *     await db.insertExamples(1000);
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { ScaffoldedPipeline } from './pipeline.js';
import { createTestDatabase, pgQuery, type Dialect, type TestDatabase } from './postgres.js';

/** The pipeline's database, read and written by the test directly (not through corral). */
export interface PipelineDb {
  readonly dialect: Dialect;
  /** What the settings' `connection` says. */
  readonly connection: string;
  /** Rows of one query; `?` placeholders on both dialects; booleans and counts as the driver returns them. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs statements that return nothing. */
  exec(sql: string): Promise<void>;
  /** `SELECT count(*) FROM "Example" WHERE <where>` as a number. */
  count(where?: string, table?: string): Promise<number>;
  /** Ids of "Example" rows matching `where`, ascending. */
  ids(where?: string): Promise<number[]>;
  /** Inserts Example rows `from`..`from+count-1` (name r<i>, value i, not processed) in one SQL statement. */
  insertExamples(count: number, from?: number): Promise<void>;
  /** The names of the tables (SQLite's own and PostgreSQL's catalogs aside; schema public), sorted. */
  tables(): Promise<string[]>;
  /** Every row of every table, each table ordered by its first column, for "nothing changed" assertions. */
  snapshot(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}

function postgresPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * Points the pipeline at `database` (PostgreSQL) or keeps its SQLite file, and
 * returns a handle on that database. Close it after the test (PostgreSQL keeps a pool).
 */
export function usePipelineDb(pipe: ScaffoldedPipeline, dialect: Dialect, database?: TestDatabase): PipelineDb {
  let query: PipelineDb['query'];
  let close: () => Promise<void>;
  let connection: string;
  if (dialect === 'postgres') {
    if (!database) throw new Error('usePipelineDb: PostgreSQL needs a test database (createTestDatabase)');
    connection = database.url;
    pipe.edit('settings.ts', /connection: 'sqlite:[^']*'/, `connection: '${connection}'`);
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    // An idle client ended by the server (the database dropped after the test) is no test failure.
    pool.on('error', () => undefined);
    query = async <T,>(sql: string, params: readonly unknown[] = []) => (await pool.query(postgresPlaceholders(sql), [...params])).rows as T[];
    close = () => pool.end();
  } else {
    connection = `sqlite:${pipe.name}-dev.db`;
    query = async <T,>(sql: string, params: readonly unknown[] = []) => {
      const db = new Database(pipe.dbFile, { fileMustExist: true });
      try {
        db.pragma('busy_timeout = 60000');
        const statement = db.prepare(sql);
        return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
      } finally {
        db.close();
      }
    };
    close = async () => undefined;
  }
  const self: PipelineDb = {
    dialect,
    connection,
    query,
    async exec(sql) {
      if (dialect === 'postgres') await query(sql);
      else {
        const db = new Database(pipe.dbFile, { fileMustExist: true });
        try {
          db.pragma('busy_timeout = 60000');
          db.exec(sql);
        } finally {
          db.close();
        }
      }
    },
    async count(where = 'true', table = 'Example') {
      const [row] = await query<{ n: number | string }>(`SELECT count(*) AS n FROM "${table}" WHERE ${where}`);
      return Number(row!.n);
    },
    async ids(where = 'true') {
      return (await query<{ id: number | string }>(`SELECT id FROM "Example" WHERE ${where} ORDER BY id`)).map((r) => Number(r.id));
    },
    async insertExamples(count, from = 1) {
      const to = from + count - 1;
      const columns = dialect === 'postgres' ? `'r' || g, g, false` : `'r' || g, g, 0`;
      const series =
        dialect === 'postgres'
          ? `generate_series(${from}, ${to}) AS g`
          : `(WITH RECURSIVE s(g) AS (SELECT ${from} UNION ALL SELECT g + 1 FROM s WHERE g < ${to}) SELECT g FROM s)`;
      await self.exec(`INSERT INTO "Example" (name, value, processed) SELECT ${columns} FROM ${series}`);
    },
    async tables() {
      const sql =
        dialect === 'postgres'
          ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
          : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
      return (await query<{ name: string }>(sql)).map((r) => r.name);
    },
    async snapshot() {
      const snapshot: Record<string, unknown[]> = {};
      for (const table of await self.tables()) snapshot[table] = await query(`SELECT * FROM "${table}" ORDER BY 1`);
      return snapshot;
    },
    close,
  };
  return self;
}

/** Booleans as the two drivers return them (1/0 or true/false), as true/false. */
export function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}

/**
 * Sets settings of the scaffold's settings.ts: keys it already has (chunkSize,
 * logLevel, exampleRows) are replaced, others added. Values are written as JSON.
 */
export function configureSettings(pipe: ScaffoldedPipeline, values: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(values)) {
    const line = `  ${key}: ${JSON.stringify(value)},`;
    try {
      pipe.edit('settings.ts', new RegExp(`^  ${key}: .*,$`, 'm'), line);
    } catch {
      pipe.edit('settings.ts', '  // Your own settings', `${line}\n\n  // Your own settings`);
    }
  }
}

/**
 * Gives Example a `counter` column and makes MyStep increment it in SQL, in the
 * chunk's transaction, before it doubles the value: a row whose work is committed
 * twice ends with counter 2 (an increment in JavaScript would hide it), one whose
 * chunk was rolled back with counter 0. `before` is code run first for each row
 * (`await new Promise((r) => setTimeout(r, 2));` for a slow step).
 */
export function addCounter(pipe: ScaffoldedPipeline, before = ''): void {
  pipe.edit('models.ts', '  doubled: float(),\n', '  doubled: float(),\n  counter: integer().notNull().default(0),\n');
  pipe.edit(
    'steps.ts',
    '  process(row: Example) {\n    row.doubled = row.value * 2;\n    row.processed = true;\n  }',
    `  async process(row: Example) {
    ${before}
    await this.db('Example').where({ id: row.id }).increment('counter', 1);
    row.doubled = row.value * 2;
    row.processed = true;
  }`,
  );
}

/** Polls `check` every `everyMs` until it returns true; fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The `<status> step MyStep  N rows` summary lines of a run's stderr: processor → rows. */
export function summaryRows(stderr: string): Record<string, { status: string; rows: number; failed: number }> {
  const found: Record<string, { status: string; rows: number; failed: number }> = {};
  // Counts are grouped by thousands (core/format.ts); durations read `0.42 s`, `3m 05s` or `2h 07m`.
  for (const match of stderr.matchAll(/^ {2}(ok|FAILED|STOPPED|ROWS FAILED) +(?:loader|step|alert) +(\S+) +([\d,]+) rows(?:, ([\d,]+) failed)? +(?:[\d.]+ s|\d+m \d\ds|\d+h \d\dm)$/gm)) {
    const count = (text: string | undefined) => Number((text ?? '0').replaceAll(',', ''));
    found[match[2]!] = { status: match[1]!, rows: count(match[3]), failed: count(match[4]) };
  }
  return found;
}

/** A pipeline of the enclosing describe, on one database: set by pipelineOnDatabase's beforeAll. */
export interface PipelineOnDatabase {
  readonly pipe: ScaffoldedPipeline;
  readonly db: PipelineDb;
  /** The PostgreSQL database of `connection` (undefined on SQLite). */
  readonly database: TestDatabase | undefined;
}

/**
 * In a describe (forEachDatabase's body): before its tests, `make()` gives a pipeline
 * (a copy of a scaffold), and on PostgreSQL a database of its own is created and set
 * as its `connection`; after them the database is dropped. Hooks the caller registers
 * later run after this one, with `on.pipe` and `on.db` set.
 */
export function pipelineOnDatabase(dialect: Dialect, make: () => ScaffoldedPipeline | Promise<ScaffoldedPipeline>): PipelineOnDatabase {
  let state: { pipe: ScaffoldedPipeline; db: PipelineDb; database: TestDatabase | undefined } | undefined;
  const current = () => {
    if (!state) throw new Error('pipelineOnDatabase: its beforeAll has not run (or failed)');
    return state;
  };
  beforeAll(async () => {
    const pipe = await make();
    const database = dialect === 'postgres' ? await createTestDatabase() : undefined;
    state = { pipe, database, db: usePipelineDb(pipe, dialect, database) };
  });
  afterAll(async () => {
    await state?.db.close();
    await state?.database?.drop();
    state = undefined;
  });
  return {
    get pipe() {
      return current().pipe;
    },
    get db() {
      return current().db;
    },
    get database() {
      return current().database;
    },
  };
}

/** Adds `testConnection: '<url>'` after the `connection` line of the pipeline's settings.ts. */
export function setTestConnection(pipe: ScaffoldedPipeline, url: string): void {
  pipe.edit('settings.ts', /^( {2}connection: .*\n)/m, `$1  testConnection: '${url}',\n`);
}

/** What tests left in a PostgreSQL test database: `schema.table` of every table, and every corral_test_* schema. */
export async function pgLeftovers(url: string): Promise<string[]> {
  const tables = await pgQuery<{ name: string }>(
    url,
    "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
  );
  const schemas = await pgQuery<{ name: string }>(url, "SELECT 'schema ' || nspname AS name FROM pg_namespace WHERE nspname LIKE 'corral_test%' ORDER BY 1");
  return [...tables, ...schemas].map((r) => r.name);
}
