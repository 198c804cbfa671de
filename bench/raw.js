/**
 * The raw loops: what a careful hand-written program does, with no framework, on
 * the same rows, in the same chunks of CHUNK rows per transaction, timed in this
 * process (so they include no process start). Each returns the rows it handled.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { BRIGHT_MAG, CHUNK, alertLine, pointSources, raDecOf } from './data.js';

/** A connection set up as corral's engine sets up its own (src/db/engine.ts). */
function openSqlite(file) {
  const db = new Database(file);
  db.pragma('busy_timeout = 300000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -4000');
  return db;
}

/** (c) One prepared INSERT per row, BEGIN IMMEDIATE … COMMIT every CHUNK rows. */
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
 * (d) Keyset pages on id of the rows with ra IS NULL; per row a prepared UPDATE of
 * the same two columns; one BEGIN IMMEDIATE transaction per page, which is read
 * inside it, as corral reads its chunk inside the chunk's transaction.
 */
export function sqliteStep(file) {
  const db = openSqlite(file);
  try {
    const page = db.prepare('SELECT * FROM "PointSource" WHERE "ra" IS NULL AND "id" > ? ORDER BY "id" LIMIT ?');
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
 * (e) Keyset pages of the bright rows not alerted yet; per row one line appended
 * to the file and one record in corral_alerted (the table corral's alerts use),
 * one transaction per page.
 */
export function sqliteAlerts(file, logFile) {
  const db = openSqlite(file);
  const fd = fs.openSync(logFile, 'a');
  try {
    const page = db.prepare(
      `SELECT p.* FROM "PointSource" p WHERE p."app_mag" < ? AND p."id" > ? AND NOT EXISTS
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
 * (g) PostgreSQL: keyset pages of rows with ra IS NULL (only ids ≡ index mod count
 * when several workers share the table, as corral's procs split them), and ONE
 * `UPDATE … FROM unnest(ids, ras, decs)` per page, a transaction per page.
 */
export async function pgStep(url, index = 0, count = 1) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const share = count > 1 ? `AND "id" % ${count} = ${index}` : '';
    let after = 0;
    let done = 0;
    for (;;) {
      await client.query('BEGIN');
      const { rows } = await client.query(`SELECT * FROM "PointSource" WHERE "ra" IS NULL AND "id" > $1 ${share} ORDER BY "id" LIMIT $2`, [after, CHUNK]);
      const ids = [];
      const ras = [];
      const decs = [];
      for (const row of rows) {
        const [ra, dec] = raDecOf(row.x, row.y);
        ids.push(row.id);
        ras.push(ra);
        decs.push(dec);
      }
      if (rows.length) {
        await client.query(
          `UPDATE "PointSource" AS t SET "ra" = u.ra, "dec" = u.dec
             FROM unnest($1::int[], $2::float8[], $3::float8[]) AS u(id, ra, dec) WHERE t."id" = u.id`,
          [ids, ras, decs],
        );
      }
      await client.query('COMMIT');
      done += rows.length;
      if (rows.length < CHUNK) return done;
      after = ids[ids.length - 1];
    }
  } finally {
    await client.end();
  }
}
