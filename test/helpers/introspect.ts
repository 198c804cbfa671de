/**
 * What a database holds, asked the same way on SQLite and PostgreSQL, for schema
 * assertions. Each helper runs through the test's own engine (its knex).
 */
import type { Engine } from '../../src/db/engine.js';

type Db = { readonly engine: Pick<Engine, 'knex' | 'dialect'> };

async function rows<T>(db: Db, sqlite: string, postgres: string, bindings: readonly unknown[] = []): Promise<T[]> {
  const result = (await db.engine.knex.raw(db.engine.dialect === 'sqlite' ? sqlite : postgres, bindings as never[])) as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

/** The tables, sorted by code point (not by the server's collation). */
export async function tableNames(db: Db): Promise<string[]> {
  const found = await rows<{ name: string }>(
    db,
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  );
  return found.map((r) => r.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The columns of a table, in table order. */
export async function columnNames(db: Db, table: string): Promise<string[]> {
  const found = await rows<{ name: string }>(
    db,
    'SELECT name FROM pragma_table_info(?) ORDER BY cid',
    'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position',
    [table],
  );
  return found.map((r) => r.name);
}

/** The primary-key columns of a table, in key order. */
export async function primaryKeyColumns(db: Db, table: string): Promise<string[]> {
  const found = await rows<{ name: string }>(
    db,
    'SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk',
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = ?::regclass AND i.indisprimary
      ORDER BY k.n`,
    [db.engine.dialect === 'sqlite' ? table : `"${table}"`],
  );
  return found.map((r) => r.name);
}

/** The foreign keys of a table: column → referenced table, sorted by column. */
export async function foreignKeysOf(db: Db, table: string): Promise<{ from: string; table: string }[]> {
  const found = await rows<{ from: string; table: string }>(
    db,
    'SELECT "from", "table" FROM pragma_foreign_key_list(?)',
    `SELECT kcu.column_name AS "from", ccu.table_name AS "table"
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
       JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
      WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() AND tc.table_name = ?`,
    [table],
  );
  return found.map((r) => ({ from: r.from, table: r.table })).sort((a, b) => a.from.localeCompare(b.from));
}

/**
 * The indexes declared on a table besides its primary key (unique constraints
 * included): their columns joined by ',' in index order, and whether unique. Sorted.
 */
export async function indexesOf(db: Db, table: string): Promise<{ columns: string; unique: boolean }[]> {
  const found = await rows<{ columns: string; unique: number | boolean }>(
    db,
    `SELECT group_concat(name) AS columns, "unique" FROM (
       SELECT il.name AS idx, ii.name AS name, il."unique" AS "unique"
         FROM pragma_index_list(?) il, pragma_index_info(il.name) ii
        WHERE il.origin IN ('c', 'u') ORDER BY il.name, ii.seqno)
      GROUP BY idx`,
    `SELECT string_agg(a.attname, ',' ORDER BY k.n) AS columns, i.indisunique AS "unique"
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = ?::regclass AND NOT i.indisprimary
      GROUP BY i.indexrelid, i.indisunique`,
    [db.engine.dialect === 'sqlite' ? table : `"${table}"`],
  );
  return found.map((r) => ({ columns: r.columns, unique: r.unique === true || r.unique === 1 })).sort((a, b) => a.columns.localeCompare(b.columns));
}

/** The database's own type name of each column (lower case). */
export async function columnTypes(db: Db, table: string): Promise<Record<string, string>> {
  const found = await rows<{ name: string; type: string }>(
    db,
    'SELECT name, type FROM pragma_table_info(?) ORDER BY cid',
    'SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position',
    [table],
  );
  return Object.fromEntries(found.map((r) => [r.name, r.type.toLowerCase()]));
}
