/**
 * PostgreSQL plumbing: a throw-away database per benchmark run, named
 * <prefix><random> (--db-prefix, default corral_bench_), dropped at the end (or on
 * Ctrl-C); emptying or refilling the table before every measurement; and corral's
 * own run records. The raw loops are in raw-pg.js.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pointSources } from './data.js';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The server's version, or an Error saying why it is not reachable. */
export async function probe(url) {
  try {
    return await withClient(url, async (c) => (await c.query('SHOW server_version')).rows[0].server_version);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export const DEFAULT_DB_PREFIX = 'corral_bench_';

/** A prefix that makes a plain lower-case identifier (a shared server may reserve names by prefix). */
export function checkDbPrefix(prefix) {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) {
    throw new Error(`--db-prefix must be lower-case letters, digits and _ (starting with a letter or _), at most 41 characters, not '${prefix}'`);
  }
  return prefix;
}

/** CREATE DATABASE <prefix><random> on the server of `adminUrl`. */
export async function createDatabase(adminUrl, prefix = DEFAULT_DB_PREFIX) {
  const name = `${checkDbPrefix(prefix)}${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    // FORCE ends any session left over (a worker of an interrupted run).
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}

/**
 * Empties PointSource and inserts the same n rows as the loader would (ids 1..n),
 * in bulk, then VACUUM ANALYZE: every measurement starts from the same fresh,
 * unbloated table with the same statistics.
 */
export async function refill(url, n) {
  await withClient(url, async (c) => {
    await c.query('TRUNCATE "PointSource", "corral_failures" RESTART IDENTITY');
    let batch = [];
    const flush = async () => {
      await c.query(
        `INSERT INTO "PointSource" ("x", "y", "ra", "dec", "app_mag")
           SELECT x, y, NULL, NULL, m FROM unnest($1::float8[], $2::float8[], $3::float8[]) AS u(x, y, m)`,
        [batch.map((r) => r.x), batch.map((r) => r.y), batch.map((r) => r.app_mag)],
      );
      batch = [];
    };
    for (const row of pointSources(n)) {
      batch.push(row);
      if (batch.length === 10_000) await flush();
    }
    if (batch.length) await flush();
    await c.query('VACUUM ANALYZE "PointSource"');
  });
}

/** Empties PointSource (ids from 1 again), for the loader. */
export function empty(url) {
  return withClient(url, (c) => c.query('TRUNCATE "PointSource", "corral_failures" RESTART IDENTITY'));
}

/** Rows of PointSource. */
export function count(url) {
  return withClient(url, async (c) => Number((await c.query('SELECT count(*) AS n FROM "PointSource"')).rows[0].n));
}

/** Rows still without ra (0 after a complete step). */
export function pending(url) {
  return withClient(url, async (c) => Number((await c.query('SELECT count(*) AS n FROM "PointSource" WHERE "ra" IS NULL')).rows[0].n));
}

/** The highest corral_runs id so far, to find the records of the next command. */
export function lastRunId(url) {
  return withClient(url, async (c) => Number((await c.query('SELECT coalesce(max(id), 0) AS id FROM "corral_runs"')).rows[0].id));
}

/** The run records written after `afterId`: seconds from the first start to the last end (the in-process time), rows, workers. */
export function runSpan(url, afterId) {
  return withClient(url, async (c) => spanOf((await c.query('SELECT started_at, ended_at, rows_done, status FROM "corral_runs" WHERE id > $1', [afterId])).rows));
}

/** The same from rows read anywhere (SQLite stores times as epoch milliseconds). */
export function spanOf(records) {
  if (records.length === 0) return null;
  const ms = (v) => (v instanceof Date ? v.getTime() : Number(v));
  const start = Math.min(...records.map((r) => ms(r.started_at)));
  const end = Math.max(...records.map((r) => ms(r.ended_at)));
  return { seconds: (end - start) / 1000, rows: records.reduce((n, r) => n + Number(r.rows_done), 0), workers: records.length, statuses: records.map((r) => r.status) };
}
