import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, afterEach } from 'vitest';
import { resolveSettings, type ResolvedSettings, type UserSettings } from '../../src/conf/settings.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { Engine } from '../../src/db/engine.js';
import type { ModelClass } from '../../src/db/model.js';
import { createMissingTables } from '../../src/db/schema.js';
import { allModels } from '../../src/run/environment.js';
import { createTestDatabase, resetSchema, type Dialect, type TestDatabase } from './postgres.js';
import { makeTempDir, removeDir } from './temp-dir.js';

/** Settings as `conf/load.ts` would resolve them for a pipeline in `dir` (package folder `dir/unit`). */
export function unitSettings(dir: string, user: Partial<UserSettings> & { models: readonly ModelClass[] }): ResolvedSettings {
  return resolveSettings({ name: 'unit', connection: 'sqlite:unit.db', logLevel: 'silent', ...user }, path.join(dir, 'unit', 'settings.ts'));
}

export interface UnitDb {
  readonly dir: string;
  readonly settings: ResolvedSettings;
  readonly engine: Engine;
  readonly logger: Logger;
  readonly dialect: Dialect;
  /** The SQLite file; undefined on PostgreSQL. */
  readonly file: string | undefined;
}

/** A UnitDb on SQLite, whose file raw queries (helpers/sqlite.ts) can read. */
export interface SqliteUnitDb extends UnitDb {
  readonly dialect: 'sqlite';
  readonly file: string;
}

type Opener<T> = (user: Partial<UserSettings> & { models: readonly ModelClass[] }) => Promise<T>;

/**
 * A real pipeline database, with every table created, as `run/environment.ts`
 * leaves things before a processor runs (the settings go to executeProcessor). Closed and removed
 * after the test.
 *
 * SQLite (the default): a temporary file per test. PostgreSQL: one database per
 * test file (or per describe block that calls this), created on first use, its
 * schema emptied after every test and the database dropped after the last one.
 */
export function useUnitDb(): Opener<SqliteUnitDb>;
export function useUnitDb(dialect: 'sqlite'): Opener<SqliteUnitDb>;
export function useUnitDb(dialect: Dialect): Opener<UnitDb>;
export function useUnitDb(dialect: Dialect = 'sqlite'): Opener<UnitDb> {
  const opened: { engine: Engine; dir: string }[] = [];
  let database: Promise<TestDatabase> | undefined;
  let used = false;
  afterEach(async () => {
    for (const { engine, dir } of opened.splice(0)) {
      await engine.destroy();
      removeDir(dir);
    }
    if (database && used) await resetSchema((await database).url);
    used = false;
  });
  afterAll(async () => {
    if (database) await (await database).drop();
    database = undefined;
  });
  return async (user) => {
    const dir = makeTempDir('corral-unit-');
    let connection: string | undefined;
    if (dialect === 'postgres') {
      database ??= createTestDatabase();
      connection = (await database).url;
      used = true;
    }
    const settings = unitSettings(dir, connection ? { ...user, connection } : user);
    const engine = await Engine.open({ knex: settings.connection.knex, label: settings.connection.label, leaseSeconds: settings.leaseSeconds });
    opened.push({ engine, dir });
    await createMissingTables(engine, allModels(settings));
    const logger = createLogger({ name: settings.name, level: 'silent', format: 'json' });
    return { dir, settings, engine, logger, dialect, file: settings.connection.filename };
  };
}

/**
 * Dialect-neutral reads for assertions, through the test's own engine: booleans
 * come back as true/false (SQLite stores 1/0), counts as numbers (PostgreSQL's are
 * strings), whatever the database.
 */
export async function selectRows(db: Pick<UnitDb, 'engine'>, query: (knex: Knex) => Knex.QueryBuilder, booleans: readonly string[] = []): Promise<Record<string, unknown>[]> {
  const rows = (await query(db.engine.knex)) as Record<string, unknown>[];
  return rows.map((row) => normalizeRow(row, booleans));
}

/** `booleans` columns to true/false (SQLite's 1/0 and PostgreSQL's booleans alike). */
export function normalizeRow(row: Record<string, unknown>, booleans: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const name of booleans) {
    const value = out[name];
    if (value !== null && value !== undefined) out[name] = value === true || value === 1 || value === '1' || value === 't';
  }
  return out;
}

/** How many rows of `table` match `where` (a knex where object or callback). */
export async function countWhere(db: Pick<UnitDb, 'engine'>, table: string, where?: Record<string, unknown> | ((q: Knex.QueryBuilder) => void)): Promise<number> {
  const query = db.engine.knex(table);
  if (where) query.where(where as never);
  const row = (await query.count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** The primary keys (one integer column) of the rows of `table` matching `where`, ascending. */
export async function idsWhere(db: Pick<UnitDb, 'engine'>, table: string, where?: Record<string, unknown>, column = 'id'): Promise<number[]> {
  const query = db.engine.knex(table).select(column).orderBy(column);
  if (where) query.where(where as never);
  return ((await query) as Record<string, unknown>[]).map((r) => Number(r[column]));
}
