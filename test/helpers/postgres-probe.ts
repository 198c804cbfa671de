/**
 * The PostgreSQL probe of global setup, free of vitest's test API (global setup runs
 * outside any test file). Tests use test/helpers/postgres.ts, which re-exports it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** What global setup found out about the PostgreSQL server. */
export interface PgProbe {
  readonly reachable: boolean;
  /** The server URL (the admin database), without password. */
  readonly label: string;
  readonly url: string;
  /** Why it is not reachable. */
  readonly reason?: string;
  /** Prefix of the databases of this `vitest run`. */
  readonly prefix: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    corralPg: PgProbe;
  }
}

export const PG_URL = process.env.CORRAL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A URL without its password, for messages. */
export function pgLabel(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString().replace(/:@/, '@');
  } catch {
    return url;
  }
}

/** True when a missing server must fail the run rather than skip its tests. */
export function pgRequired(): boolean {
  return process.env.CI === '1' || process.env.CI === 'true' || process.env.CORRAL_REQUIRE_PG === '1';
}

/** Connects once (3 s at most) and runs `select 1`. Used by global setup only. */
export async function probePostgres(url = PG_URL): Promise<PgProbe> {
  const prefix = `corral_t_${randomBytes(3).toString('hex')}_`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { reachable: true, label: pgLabel(url), url, prefix };
  } catch (error) {
    const reason = error instanceof Error ? (error.message || (error as { code?: string }).code || error.name) : String(error);
    return { reachable: false, label: pgLabel(url), url, reason, prefix };
  } finally {
    await client.end().catch(() => undefined);
  }
}


export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

/** Drops the databases whose names start with `prefix` (global teardown, after a crash). */
export async function dropDatabasesWithPrefix(url: string, prefix: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    return rows.map((r) => r.datname);
  } finally {
    await client.end().catch(() => undefined);
  }
}
