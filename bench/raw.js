/**
 * The raw SQLite loops: what a careful hand-written program does, with no
 * framework, on the same rows, in the same chunks of CHUNK rows per transaction.
 * Each returns the rows it handled. `bench/raw-cli.js` runs them in a process of
 * their own (the whole-process figure); it only imports this file, data.js and
 * better-sqlite3, as a minimal program would.
 *
 * Two variants of every loop that reads: `columns` reads only the columns the
 * work needs (the minimal loop), `star` reads whole rows (`SELECT *`),
 * which shows what reading whole rows costs.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { BRIGHT_MAG, CHUNK, alertLine, pointSources, raDecOf } from './data.js';

/** The columns each read takes, per variant. */
const COLUMNS = {
  step: { columns: '"id", "x", "y"', star: '*' },
  alerts: { columns: 'p."id", p."app_mag"', star: 'p.*' },
};

function columnsOf(work, variant) {
  const columns = COLUMNS[work][variant];
  if (!columns) throw new Error(`unknown raw variant '${variant}' (columns or star)`);
  return columns;
}

/** A connection set up as corral sets up its own (src/db/engine.ts). */
function openSqlite(file) {
  const db = new Database(file);
  db.pragma('busy_timeout = 300000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -4000');
  return db;
}

/** load: one prepared INSERT per row, BEGIN IMMEDIATE … COMMIT every CHUNK rows. */
export function sqliteLoad(file, n) {
  const db = openSqlite(file);
  try {
    const insert = db.prepare('INSERT INTO "PointSource" ("x", "y", "ra", "dec", "app_mag") VALUES (?, ?, ?, ?, ?)');
    const batch = db.transaction((rows) => {
      for (const r of rows) insert.run(r.x, r.y, r.ra, r.dec, r.app_mag);
    });
    let rows = [];
    let count = 0;
    for (const row of pointSources(n)) {
      rows.push(row);
      if (rows.length === CHUNK) {
        batch.immediate(rows);
        count += rows.length;
        rows = [];
      }
    }
    if (rows.length) batch.immediate(rows);
    return count + rows.length;
  } finally {
    db.close();
  }
}

/**
 * step: keyset pages on id of the rows with ra IS NULL; per row a prepared UPDATE
 * of the same two columns; one BEGIN IMMEDIATE transaction per page, read inside
 * it, as corral reads its chunk inside the chunk's transaction.
 */
export function sqliteStep(file, variant = 'columns') {
  const db = openSqlite(file);
  try {
    const page = db.prepare(`SELECT ${columnsOf('step', variant)} FROM "PointSource" WHERE "ra" IS NULL AND "id" > ? ORDER BY "id" LIMIT ?`);
    const update = db.prepare('UPDATE "PointSource" SET "ra" = ?, "dec" = ? WHERE "id" = ?');
    const chunk = db.transaction((after) => {
      const rows = page.all(after, CHUNK);
      for (const row of rows) {
        const [ra, dec] = raDecOf(row.x, row.y);
        update.run(ra, dec, row.id);
      }
      return rows;
    });
    return everyPage(chunk);
  } finally {
    db.close();
  }
}

/** Runs `chunk` (a transaction over one keyset page) as BEGIN IMMEDIATE until a page comes back short; the rows done. */
function everyPage(chunk) {
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = chunk.immediate(after);
    count += rows.length;
    if (rows.length < CHUNK) return count;
    after = rows[rows.length - 1].id;
  }
}

/**
 * alerts: keyset pages of the bright rows not alerted yet; per row one line
 * appended to the file and one record in corral_alerted (the table corral's
 * alerts use), one transaction per page.
 */
export function sqliteAlerts(file, logFile, variant = 'columns') {
  const db = openSqlite(file);
  const fd = fs.openSync(logFile, 'a');
  try {
    const page = db.prepare(
      `SELECT ${columnsOf('alerts', variant)} FROM "PointSource" p WHERE p."app_mag" < ? AND p."id" > ? AND NOT EXISTS
         (SELECT 1 FROM "corral_alerted" a WHERE a."alert" = 'RawAlert' AND a."model_table" = 'PointSource' AND a."model_key" = CAST(p."id" AS TEXT))
       ORDER BY p."id" LIMIT ?`,
    );
    const record = db.prepare(`INSERT INTO "corral_alerted" ("alert", "model_table", "model_key", "created_at") VALUES ('RawAlert', 'PointSource', ?, ?)`);
    const chunk = db.transaction((after) => {
      const rows = page.all(BRIGHT_MAG, after, CHUNK);
      for (const row of rows) {
        const now = new Date();
        fs.writeSync(fd, alertLine(now, row));
        record.run(String(row.id), now.getTime());
      }
      return rows;
    });
    return everyPage(chunk);
  } finally {
    fs.closeSync(fd);
    db.close();
  }
}

/**
 * alerts with corral's crash bound: the same keyset pages, but each row in a
 * transaction of its own (BEGIN IMMEDIATE; the row re-read still matching and not
 * alerted; its record; its line; COMMIT), so a crash re-sends at most one row, as
 * corral's alert does. Not a headline figure: it shows what the bound itself costs
 * (docs/architecture.md, "Alerts").
 */
export function sqliteAlertsBounded(file, logFile, variant = 'columns') {
  const db = openSqlite(file);
  const fd = fs.openSync(logFile, 'a');
  try {
    const columns = columnsOf('alerts', variant);
    const notAlerted = `NOT EXISTS (SELECT 1 FROM "corral_alerted" a WHERE a."alert" = 'RawAlert' AND a."model_table" = 'PointSource' AND a."model_key" = CAST(p."id" AS TEXT))`;
    const page = db.prepare(`SELECT ${columns} FROM "PointSource" p WHERE p."app_mag" < ? AND p."id" > ? AND ${notAlerted} ORDER BY p."id" LIMIT ?`);
    const claim = db.prepare(`SELECT ${columns} FROM "PointSource" p WHERE p."app_mag" < ? AND p."id" = ? AND ${notAlerted}`);
    const record = db.prepare(`INSERT INTO "corral_alerted" ("alert", "model_table", "model_key", "created_at") VALUES ('RawAlert', 'PointSource', ?, ?) ON CONFLICT DO NOTHING`);
    const one = db.transaction((id) => {
      const row = claim.get(BRIGHT_MAG, id);
      if (!row) return 0;
      const now = new Date();
      if (record.run(String(row.id), now.getTime()).changes === 0) return 0;
      fs.writeSync(fd, alertLine(now, row));
      return 1;
    });
    let after = 0;
    let count = 0;
    for (;;) {
      const rows = page.all(BRIGHT_MAG, after, CHUNK);
      for (const row of rows) count += one.immediate(row.id);
      if (rows.length < CHUNK) return count;
      after = rows[rows.length - 1].id;
    }
  } finally {
    fs.closeSync(fd);
    db.close();
  }
}
