/**
 * PostgreSQL as a first-class database of the suite.
 *
 * test/global-setup.ts probes the server once per `vitest run` (probePostgres) and
 * hands the outcome to every test file (inject('corralPg')). When the server does
 * not answer, it prints ONE line and the PostgreSQL tests are skipped; with CI=1 or
 * CORRAL_REQUIRE_PG=1 the run fails instead. CORRAL_TEST_PG_URL names the server
 * (default postgres://postgres@127.0.0.1:5432/test, a database the tests may use to
 * CREATE and DROP their own databases).
 *
 * Every test file (or test) works in a database of its own, `corral_t_<run>_<random>`,
 * dropped afterwards; global teardown drops whatever a crashed worker left behind.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, inject } from 'vitest';
import { quoteIdent, type PgProbe } from './postgres-probe.js';

export type Dialect = 'sqlite' | 'postgres';

export { PG_URL, dropDatabasesWithPrefix, pgLabel, pgRequired, probePostgres, type PgProbe } from './postgres-probe.js';

/** Runs `work` with a client on `url` (default: the admin database). */
export async function withPgClient<T>(work: (client: pg.Client) => Promise<T>, url = probe().url): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function probe(): PgProbe {
  const found = inject('corralPg');
  if (!found) throw new Error('test/global-setup.ts did not probe PostgreSQL: run the tests through vitest.config.ts');
  return found;
}

/** Whether the PostgreSQL tests run (global setup reached the server). */
export function pgAvailable(): boolean {
  return probe().reachable;
}

/** The dialects the database tests run on: SQLite always, PostgreSQL when reachable. */
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

/** `describe` for PostgreSQL tests: skipped (and listed as skipped) when the server is not reachable. */
export function describePg(name: string, body: () => void): void {
  describe.skipIf(!pgAvailable())(name, body);
}

/**
 * Declares the same tests once per dialect: `forEachDatabase((dialect) => { ... })`
 * gives describe blocks "sqlite" and "postgres", the latter skipped without a server.
 */
export function forEachDatabase(body: (dialect: Dialect) => void): void {
  for (const dialect of DIALECTS) {
    describe.skipIf(dialect === 'postgres' && !pgAvailable())(dialect, () => body(dialect));
  }
}

/** A database of its own on the test server. */
export interface TestDatabase {
  readonly name: string;
  /** postgres://… URL of this database. */
  readonly url: string;
  /** Drops it, ending any session still connected (a killed worker's, say). */
  drop(): Promise<void>;
}

/** CREATE DATABASE corral_t_<run>_<random>. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = probe();
  if (!server.reachable) throw new Error(`PostgreSQL not reachable at ${server.label}: this test should have been skipped`);
  const name = `${server.prefix}${randomBytes(5).toString('hex')}`;
  await withPgClient((client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => dropDatabase(name),
  };
}

export async function dropDatabase(name: string, url = probe().url): Promise<void> {
  await withPgClient((client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`), url);
}

/**
 * A database for the whole test file, created on first use and dropped after the
 * file's (or the enclosing describe's) last test. Call at the top level or in a describe.
 */
export function pgDatabaseForFile(): () => Promise<TestDatabase> {
  let db: Promise<TestDatabase> | undefined;
  afterAll(async () => {
    if (db) await (await db).drop();
    db = undefined;
  });
  return () => (db ??= createTestDatabase());
}

/** A fresh database for each test that asks for one, dropped after that test. */
export function pgDatabasePerTest(): () => Promise<TestDatabase> {
  const created: TestDatabase[] = [];
  afterEach(async () => {
    for (const db of created.splice(0)) await db.drop();
  });
  return async () => {
    const db = await createTestDatabase();
    created.push(db);
    return db;
  };
}

/** Empties a database between tests: every table, sequence and type of schema public goes. */
export async function resetSchema(url: string): Promise<void> {
  await withPgClient((client) => client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public'), url);
}

/** One query on a database, its rows. */
export async function pgQuery<T extends Record<string, unknown> = Record<string, unknown>>(url: string, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  return withPgClient(async (client) => (await client.query<T>(sql, [...params])).rows, url);
}
