import fs from 'node:fs';
import Database from 'better-sqlite3';

/** Runs one read query on a SQLite file and returns its rows (the connection is closed at once). */
export function queryDb<T = Record<string, unknown>>(file: string, sql: string, params: readonly unknown[] = []): T[] {
  if (!fs.existsSync(file)) throw new Error(`No database file at ${file}`);
  const db = new Database(file, { fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The names of the tables of a SQLite file, sorted. */
export function tablesOf(file: string): string[] {
  return queryDb<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").map((r) => r.name);
}

/** Every row of every table, for "nothing changed" assertions. */
export function snapshotDb(file: string): Record<string, unknown[]> {
  const snapshot: Record<string, unknown[]> = {};
  const withoutRowid = new Set(
    queryDb<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID%'").map((r) => r.name),
  );
  for (const table of tablesOf(file)) {
    // A WITHOUT ROWID table (corral_alerted) has no rowid: its primary key orders it.
    const order = withoutRowid.has(table) ? queryDb<{ name: string }>(file, `SELECT name FROM pragma_table_info('${table}') WHERE pk > 0 ORDER BY pk`).map((c) => `"${c.name}"`).join(', ') : 'rowid';
    snapshot[table] = queryDb(file, `SELECT * FROM "${table}" ORDER BY ${order}`);
  }
  return snapshot;
}
