/**
 * The raw PostgreSQL loops, from one client or several client processes: the
 * batched insert the loader is compared with, and the step's keyset pages with
 * one `UPDATE … FROM unnest` per page. Run by `bench/raw-cli.js` (whole process)
 * and by `bench/pg-worker.js` (one client of several).
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { CHUNK, pointSources, raDecOf } from './data.js';

async function connect(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * load: CHUNK rows per statement, `INSERT … SELECT … FROM unnest($1, $2, $3)`
 * (one round trip per chunk, each its own transaction), from one client. It
 * returns no ids: a loader that hands each row its id must also take them.
 */
export async function pgLoad(url, n) {
  const client = await connect(url);
  try {
    let batch = [];
    let count = 0;
    const flush = async () => {
      await client.query(
        `INSERT INTO "PointSource" ("x", "y", "ra", "dec", "app_mag")
           SELECT x, y, NULL, NULL, m FROM unnest($1::float8[], $2::float8[], $3::float8[]) AS u(x, y, m)`,
        [batch.map((r) => r.x), batch.map((r) => r.y), batch.map((r) => r.app_mag)],
      );
      count += batch.length;
      batch = [];
    };
    for (const row of pointSources(n)) {
      batch.push(row);
      if (batch.length === CHUNK) await flush();
    }
    if (batch.length) await flush();
    return count;
  } finally {
    await client.end();
  }
}

/**
 * step: keyset pages of rows with ra IS NULL (only ids ≡ index mod count when
 * several clients share the table, as corral's procs split them), and ONE
 * `UPDATE … FROM unnest(ids, ras, decs)` per page, a transaction per page.
 */
export async function pgStep(url, index = 0, count = 1, variant = 'columns') {
  const client = await connect(url);
  try {
    const columns = variant === 'star' ? '*' : '"id", "x", "y"';
    const share = count > 1 ? `AND "id" % ${count} = ${index}` : '';
    let after = 0;
    let done = 0;
    for (;;) {
      await client.query('BEGIN');
      const { rows } = await client.query(`SELECT ${columns} FROM "PointSource" WHERE "ra" IS NULL AND "id" > $1 ${share} ORDER BY "id" LIMIT $2`, [after, CHUNK]);
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

const WORKER = fileURLToPath(new URL('./pg-worker.js', import.meta.url));

/**
 * The step in `count` client processes at once, forked as corral forks its
 * workers. `seconds` runs from `go` (all connected) to the last `done`: the
 * in-process figure; the whole-process one is the caller's clock around it all.
 */
export async function pgStepProcesses(url, count, variant = 'columns') {
  const children = Array.from({ length: count }, (_, index) => fork(WORKER, [url, String(index), String(count), variant], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const messages = (type) =>
    Promise.all(
      children.map(
        (child) =>
          new Promise((resolve, reject) => {
            const onExit = (code) => reject(new Error(`raw PostgreSQL worker exited with ${code} before '${type}'`));
            child.once('exit', onExit);
            child.once('message', (m) => {
              child.off('exit', onExit);
              if (m.type === 'failed') reject(new Error(`raw PostgreSQL worker failed: ${m.message}`));
              else resolve(m);
            });
          }),
      ),
    );
  try {
    await messages('ready');
    const started = performance.now();
    const done = messages('done');
    for (const child of children) child.send({ type: 'go' });
    const results = await done;
    return { seconds: (performance.now() - started) / 1000, rows: results.reduce((n, m) => n + m.rows, 0) };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
