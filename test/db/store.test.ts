/**
 * The stores (src/db/store/): one contract, run against a real SQLite file and a
 * real PostgreSQL database, and each database's fast paths tested in its own block:
 * SQLite's prepared statements (cached per SQL text and per column set, synchronous),
 * PostgreSQL's held-back `unnest` updates (and the row-by-row search for a refused
 * one), the loader's held-back inserts and its insert journal.
 */
import type { Knex } from 'knex';
import { describe, expect, test } from 'vitest';
import { DBError } from '../../src/core/errors.js';
import { RowRefused } from '../../src/db/blame.js';
import { boolean, datetime, integer, json, string, type Column } from '../../src/db/columns.js';
import type { Condition } from '../../src/db/conditions.js';
import { Failure } from '../../src/db/bookkeeping/models.js';
import { hydrate, model, type ModelInstance } from '../../src/db/model.js';
import { RowRefusedAt } from '../../src/db/refusal.js';
import type { SqliteStore } from '../../src/db/store/sqlite.js';
import type { Transaction } from '../../src/db/store/transaction.js';
import { keyText } from '../../src/db/bookkeeping/row-keys.js';
import { WorkSet } from '../../src/run/work-set.js';
import { describePg, forEachDatabase } from '../helpers/postgres.js';
import { selectRows, useUnitDb, type UnitDb } from '../helpers/unit-db.js';

class Star extends model('Star', {
  id: integer().primaryKey(),
  name: string(40).notNull().unique(),
  mag: integer(),
  bright: boolean().notNull().default(false),
  seen: datetime(),
}) {}

/** A composite key of an integer and a string, for the key text. */
class Plate extends model('Plate', { survey: string(20).primaryKey(), night: integer().primaryKey(), note: string(20) }) {}

async function seed(db: UnitDb, rows: readonly Record<string, unknown>[]): Promise<void> {
  await db.engine.inTransaction(async (tx) => {
    for (const row of rows) await tx.save(new Star(row));
  });
}

async function starsRead(tx: Transaction): Promise<Star[]> {
  const raws = (await tx.db('Star').orderBy('id')) as Record<string, unknown>[];
  return raws.map((raw) => hydrate(Star, raw) as Star);
}

/** Wider than the one-bit-per-column masks of the SQLite store's generated paths (30 columns): the general path. */
class Wide extends model('Wide', {
  id: integer().primaryKey(),
  ...Object.fromEntries(Array.from({ length: 32 }, (_, i): [string, Column] => [`c${i}`, integer()])),
  label: string(10).notNull().default('new'),
}) {}

/** Every kind hydrate converts, for the chunk a step reads. */
class Shot extends model('Shot', { id: integer().primaryKey(), ok: boolean(), at: datetime(), meta: json(), note: string(20) }) {}

function workSetOf(db: UnitDb, conditions: readonly Condition[] = []): WorkSet {
  return new WorkSet({ Model: Star, conditions, ordering: undefined, chunkSize: 10 }, db.engine.store);
}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  describe('the store contract', () => {
    test('when a model has more columns than a mask holds then rows are inserted, updated and read back as for any model', async () => {
      const db = await openDb({ models: [Wide] });
      const row = new Wide({ c0: 1, c31: 31 } as never) as unknown as ModelInstance & Record<string, unknown>;
      await db.engine.inTransaction(async (tx) => {
        expect(await tx.save(row)).toBe(true);
        row.c31 = 32;
        row.label = 'changed';
        expect(await tx.save(row)).toBe(true);
        expect(await tx.save(row)).toBe(false);
      });
      const [stored] = await selectRows(db, (k) => k('Wide').select('id', 'c0', 'c1', 'c31', 'label'));
      expect(stored).toEqual({ id: row.id, c0: 1, c1: null, c31: 32, label: 'changed' });
    });

    test('when a step reads a chunk then each row is the instance hydrate makes of it: booleans, dates, JSON and NULL', async () => {
      const db = await openDb({ models: [Shot] });
      const at = new Date('2024-05-06T07:08:09.010Z');
      await db.engine.inTransaction(async (tx) => {
        await tx.save(new Shot({ ok: true, at, meta: { a: [1, 'x'] }, note: 'n' }));
        await tx.save(new Shot({ ok: false, at: null, meta: null, note: null }));
      });
      const workSet = new WorkSet({ Model: Shot, conditions: [], ordering: undefined, chunkSize: 10 }, db.engine.store);
      const read = await db.engine.inTransaction(async (tx) => {
        const chunk = await workSet.nextChunk(tx.db);
        return Array.from({ length: chunk.length }, (_, i) => chunk.instance(i));
      });
      expect(read.map((shot) => shot instanceof Shot)).toEqual([true, true]);
      expect(read.map((shot) => shot.toJSON())).toEqual([
        { id: 1, ok: true, at, meta: { a: [1, 'x'] }, note: 'n' },
        { id: 2, ok: false, at: null, meta: null, note: null },
      ]);
      // Saved unchanged, a row read writes nothing; changed, only what changed.
      await db.engine.inTransaction(async (tx) => {
        expect(await tx.saveNow(read[0]!)).toBe(false);
        (read[1] as Shot).meta = { b: 2 };
        expect(await tx.saveNow(read[1]!)).toBe(true);
      });
      const stored = await selectRows(db, (k) => k('Shot').select('id', 'meta').orderBy('id'));
      expect(stored.map((row) => (typeof row.meta === 'string' ? JSON.parse(row.meta) : row.meta))).toEqual([{ a: [1, 'x'] }, { b: 2 }]);
    });

    test('when a read row changes booleans, dates, JSON, a string set to undefined and its key then one save writes each as stored, and a too-long string is refused by name', async () => {
      const db = await openDb({ models: [Shot] });
      await db.engine.inTransaction(async (tx) => {
        await tx.save(new Shot({ ok: false, at: null, meta: null, note: 'first' }));
        await tx.save(new Shot({ ok: true, at: null, meta: { keep: 1 }, note: 'second' }));
      });
      const workSet = new WorkSet({ Model: Shot, conditions: [], ordering: undefined, chunkSize: 10 }, db.engine.store);
      const at = new Date('2025-01-02T03:04:05.006Z');
      await db.engine.inTransaction(async (tx) => {
        const chunk = await workSet.nextChunk(tx.db);
        const [first, second] = [chunk.instance(0) as Shot, chunk.instance(1) as Shot];
        Object.assign(first, { id: 40, ok: true, at, meta: { tags: ['a', 'b'] }, note: undefined });
        const saved = tx.saveProcessed(first);
        if (saved) await saved;
        // What was written is now the row's original: saved again unchanged, nothing is written.
        expect(await tx.saveNow(first)).toBe(false);
        second.note = 'x'.repeat(21);
        // Thrown at once on SQLite (its writes are synchronous), rejected on PostgreSQL.
        await expect(async () => tx.saveNow(second)).rejects.toThrow(/^Shot\.note: value too long for string\(20\) \(21 characters\)$/);
      });
      const stored = await selectRows(db, (k) => k('Shot').select('id', 'ok', 'at', 'meta', 'note').orderBy('id'), ['ok']);
      expect(stored.map((row) => ({ ...row, at: row.at === null ? null : new Date(row.at as string | number | Date).getTime(), meta: typeof row.meta === 'string' ? JSON.parse(row.meta) : row.meta }))).toEqual([
        { id: 2, ok: true, at: null, meta: { keep: 1 }, note: 'second' },
        { id: 40, ok: true, at: at.getTime(), meta: { tags: ['a', 'b'] }, note: null },
      ]);
    });

    test('when a transaction saves, commits and rolls back then only the committed rows are stored', async () => {
      const db = await openDb({ models: [Star] });
      const kept = await db.engine.store.begin(db.engine);
      const vega = new Star({ name: 'Vega', mag: 1 });
      expect(await kept.save(vega)).toBe(true);
      expect(vega.id).toBe(1);
      await kept.commit();
      expect(kept.isOpen).toBe(false);
      const dropped = await db.engine.begin();
      await dropped.save(new Star({ name: 'Deneb' }));
      await dropped.rollback();
      expect(await selectRows(db, (k) => k('Star').select('name', 'bright').orderBy('id'), ['bright'])).toEqual([{ name: 'Vega', bright: false }]);
    });

    test('when processed rows are saved through saveProcessed and saveNow then the commit writes every change', async () => {
      const db = await openDb({ models: [Star] });
      await seed(db, [{ name: 'a', mag: 1 }, { name: 'b', mag: 2 }, { name: 'c', mag: 3 }]);
      await db.engine.inTransaction(async (tx) => {
        const [a, b, c] = await starsRead(tx);
        a!.mag = 10;
        b!.bright = true;
        for (const row of [a!, b!, c!]) {
          const saved = tx.saveProcessed(row);
          if (saved) await saved;
        }
        c!.name = 'c2';
        expect(await tx.saveNow(c!)).toBe(true);
        expect(await tx.saveNow(c!)).toBe(false);
        expect(await tx.saveNow(new Star({ name: 'd' }))).toBe(true);
      });
      expect(await selectRows(db, (k) => k('Star').select('name', 'mag', 'bright').orderBy('id'), ['bright'])).toEqual([
        { name: 'a', mag: 10, bright: false },
        { name: 'b', mag: 2, bright: true },
        { name: 'c2', mag: 3, bright: false },
        { name: 'd', mag: null, bright: false },
      ]);
    });

    test('when a work set reads its chunks through the store then every matching row comes once, in key order', async () => {
      const db = await openDb({ models: [Star] });
      await seed(db, Array.from({ length: 25 }, (_, i) => ({ name: `s${i}`, mag: i % 2 })));
      const workSet = workSetOf(db, [{ mag: 1 }]);
      const seen: number[] = [];
      while (!workSet.done) {
        await db.engine.inTransaction(async (tx) => {
          for (const raw of await workSet.next(tx.db)) seen.push(Number(raw.id));
        });
      }
      expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => 2 * i + 2));
    });

    test('when an alert claims a row then a matching row is read back, a row that no longer matches is not, and a record is made once', async () => {
      const db = await openDb({ models: [Star] });
      await seed(db, [{ name: 'Vega', mag: 1 }, { name: 'Rigel', mag: 1 }]);
      const workSet = workSetOf(db, [{ mag: 1 }]);
      const claims = db.engine.store.alertClaims(workSet);
      await db.engine.knex('Star').where({ name: 'Rigel' }).update({ mag: 5 });
      const record = { alert: 'Bright', model_table: 'Star', model_key: '1', created_at: new Date() };
      const first = await db.engine.inTransaction(async (tx) => ({
        vega: await claims.claim(tx, { id: 1 }),
        rigel: await claims.claim(tx, { id: 2 }),
        recorded: await claims.record(tx, record),
      }));
      expect(first.vega).toMatchObject({ id: 1, name: 'Vega' });
      expect(first.rigel).toBeUndefined();
      expect(first.recorded).toBe(true);
      expect(await db.engine.inTransaction(async (tx) => claims.record(tx, record))).toBe(false);
      expect(await selectRows(db, (k) => k('corral_alerted').select('alert', 'model_key'))).toEqual([{ alert: 'Bright', model_key: '1' }]);
    });

    test('when the key text is written in SQL by the store then it equals the key text written in JavaScript', async () => {
      const db = await openDb({ models: [Plate] });
      await db.engine.inTransaction(async (tx) => {
        await tx.save(new Plate({ survey: 'ztf', night: 7 }));
        await tx.save(new Plate({ survey: 'with space', night: 12 }));
      });
      const sql = db.engine.store.keyTextSql(2);
      const rows = (await db.engine.knex('Plate').select(db.engine.knex.raw(`${sql} AS k`, ['survey', 'night']), 'survey', 'night').orderBy('night')) as Record<string, unknown>[];
      expect(rows.map((row) => row.k)).toEqual(rows.map((row) => keyText(Plate, row)));
      expect(rows.map((row) => row.k)).toEqual(['ztf\x1f7', 'with space\x1f12']);
    });

    test('when bookkeeping values are written as the store converts them then the database compares them as booleans and times', async () => {
      const db = await openDb({ models: [Star] });
      const { store } = db.engine;
      const spec = Failure.columns;
      const before = Date.now();
      await db.engine.autocommit((k) =>
        k(Failure.table).insert({
          processor: 'P',
          model_table: 'Star',
          model_key: '1',
          error: 'boom',
          attempts: 1,
          first_at: store.now(spec.first_at.spec),
          last_at: store.value(spec.last_at.spec, new Date(before)),
          next_at: store.value(spec.next_at.spec, new Date(before + 60_000)),
          quarantined: store.value(spec.quarantined.spec, true),
        }),
      );
      const found = (await db.engine
        .knex(Failure.table)
        .where('quarantined', store.value(spec.quarantined.spec, true) as never)
        .andWhere('next_at', '>', store.value(spec.next_at.spec, new Date(before + 30_000)) as never)) as Record<string, unknown>[];
      expect(found).toHaveLength(1);
      const firstAt = hydrate(Failure, found[0]!) as ModelInstance & { first_at: Date };
      // The server's clock on PostgreSQL, this process's on SQLite: the same machine here.
      expect(Math.abs(firstAt.first_at.getTime() - before)).toBeLessThan(60_000);
    });

    test('when work in autocommit throws then SQLite rolls its statements back, and on PostgreSQL each statement has committed alone', async () => {
      const db = await openDb({ models: [Star] });
      await expect(
        db.engine.autocommit(async (k) => {
          await k('Star').insert({ name: 'ghost', bright: db.engine.store.value(Star.columns.bright.spec, false) });
          throw new Error('stop here');
        }),
      ).rejects.toThrow('stop here');
      // On SQLite the statement was inside the rolled-back transaction; on PostgreSQL it committed alone.
      expect(await selectRows(db, (k) => k('Star').select('name'))).toEqual(dialect === 'sqlite' ? [] : [{ name: 'ghost' }]);
    });

    test('when a transaction is healthy then its connection is not lost', async () => {
      const db = await openDb({ models: [Star] });
      const tx = await db.engine.begin();
      expect(await tx.connectionLost()).toBe(false);
      await tx.rollback();
    });
  });
});

describe('the SQLite store', () => {
  const openDb = useUnitDb('sqlite');

  test('when a chunk query runs again with other bindings then its prepared statement is reused', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, Array.from({ length: 30 }, (_, i) => ({ name: `s${i}` })));
    const store = db.engine.store as SqliteStore;
    const workSet = workSetOf(db);
    await db.engine.inTransaction(async (tx) => void (await workSet.next(tx.db)));
    const prepared = store.preparedCount;
    let rows = 0;
    while (!workSet.done) await db.engine.inTransaction(async (tx) => void (rows += (await workSet.next(tx.db)).length));
    expect(rows).toBe(20);
    // The first chunk (no lower bound) and the others (one) are two SQL texts: one more, then none.
    expect(store.preparedCount - prepared).toBe(1);
  });

  test('when rows change the same columns then one UPDATE statement serves them, and a new column set prepares one more', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const store = db.engine.store as SqliteStore;
    await db.engine.inTransaction(async (tx) => {
      const [a, b, c] = await starsRead(tx);
      a!.mag = 1;
      expect(tx.saveNow(a!)).toBe(true);
      const prepared = store.preparedCount;
      b!.mag = 2;
      expect(tx.saveNow(b!)).toBe(true);
      expect(store.preparedCount).toBe(prepared);
      c!.bright = true;
      expect(tx.saveNow(c!)).toBe(true);
      expect(store.preparedCount).toBe(prepared + 1);
    });
    expect(await selectRows(db, (k) => k('Star').select('mag', 'bright').orderBy('id'), ['bright'])).toEqual([
      { mag: 1, bright: false },
      { mag: 2, bright: false },
      { mag: null, bright: true },
    ]);
  });

  test('when a row is saved, claimed or recorded then the answer is there at once, with no promise', async () => {
    const db = await openDb({ models: [Star] });
    const claims = db.engine.store.alertClaims(workSetOf(db));
    const tx = await db.engine.begin();
    try {
      const star = new Star({ name: 'Vega' });
      expect(tx.saveNow(star)).toBe(true);
      expect(tx.saveProcessed(star)).toBeUndefined();
      expect(claims.claim(tx, { id: star.id })).toMatchObject({ id: 1, name: 'Vega' });
      expect(claims.record(tx, { alert: 'A', model_table: 'Star', model_key: '1', created_at: new Date() })).toBe(true);
    } finally {
      await tx.rollback();
    }
  });

  test('when a chunk is read with locks then the SQL is the same (the write lock serialises whole transactions)', async () => {
    const db = await openDb({ models: [Star] });
    const query = db.engine.knex('Star').select('*');
    expect(db.engine.store.lockingRows(query).toString()).toBe(db.engine.knex('Star').select('*').toString());
  });
});

describePg('the PostgreSQL store', () => {
  const openDb = useUnitDb('postgres');

  /** What a second session sees of the stars' magnitudes. */
  async function mags(db: UnitDb): Promise<unknown[]> {
    return ((await db.engine.knex('Star').select('mag').orderBy('id')) as { mag: unknown }[]).map((r) => r.mag);
  }

  test('when processed rows are saved then their updates wait for flush and go out together', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, [{ name: 'a', mag: 1 }, { name: 'b', mag: 2 }]);
    const tx = await db.engine.begin();
    try {
      const rows = await starsRead(tx);
      for (const row of rows) {
        row.mag = Number(row.mag) * 10;
        expect(tx.saveProcessed(row)).toBeUndefined();
      }
      const inTx = async () => ((await tx.db('Star').select('mag').orderBy('id')) as { mag: unknown }[]).map((r) => r.mag);
      expect(await inTx()).toEqual([1, 2]);
      await tx.flush();
      expect(await inTx()).toEqual([10, 20]);
      await tx.commit();
    } finally {
      await tx.rollback();
    }
    expect(await mags(db)).toEqual([10, 20]);
  });

  test('when the batched update is refused then the rows are applied one by one and the refused one is named by its place in the chunk', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'taken' }]);
    const tx = await db.engine.begin();
    try {
      const [a, b, c] = await starsRead(tx);
      a!.name = 'a2';
      b!.name = 'taken';
      c!.name = 'c2';
      for (const row of [a!, b!, c!]) tx.saveProcessed(row);
      const refusal = await tx.flush().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(RowRefusedAt);
      expect((refusal as RowRefusedAt).index).toBe(1);
      expect((refusal as Error).message).toMatch(/name/);
    } finally {
      await tx.rollback();
    }
    expect(await selectRows(db, (k) => k('Star').select('name').orderBy('id'))).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'taken' }]);
  });

  test('when a loader transaction has an insert refused then the rows before are replayed and the rest of the chunk is stored', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, [{ name: 'taken' }]);
    const tx = await db.engine.begin();
    tx.keepInsertJournal();
    await tx.saveNow(new Star({ name: 'first' }));
    await expect(tx.saveNow(new Star({ name: 'taken' }))).rejects.toBeInstanceOf(RowRefused);
    await tx.saveNow(new Star({ name: 'after' }));
    await expect(tx.saveNow(new Star({ name: 'taken' }))).rejects.toBeInstanceOf(RowRefused);
    await tx.saveNow(new Star({ name: 'last' }));
    await tx.commit();
    expect(await selectRows(db, (k) => k('Star').select('name').orderBy('id'))).toEqual([{ name: 'taken' }, { name: 'first' }, { name: 'after' }, { name: 'last' }]);
  });

  test('when a loader transaction holds its inserts back then each row has its key at once, a read through knex sees the rows, and a refused one is handed back by its place at commit', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, [{ name: 'taken' }]);
    const refused: [string, number, string][] = [];
    const tx = await db.engine.begin();
    tx.keepInsertJournal();
    tx.batchInserts({
      idsPerTrip: 10,
      refused: async (row, refusal, place) => {
        refused.push([String((row as Star).name), place, (refusal as Error).message]);
      },
    });
    const first = new Star({ name: 'first' });
    expect(await tx.saveNow(first)).toBe(true);
    expect(first.id).toBe(2);
    // Synchronous once the ids are taken: no promise per row.
    const second = new Star({ name: 'second' });
    expect(tx.saveNow(second)).toBe(true);
    expect(second.id).toBe(first.id! + 1);
    expect((await starsRead(tx)).map((s) => s.name)).toEqual(['taken', 'first', 'second']);
    const dup = new Star({ name: 'taken' });
    tx.saveNow(dup);
    tx.saveNow(new Star({ name: 'last' }));
    await tx.commit();
    expect(refused).toEqual([['taken', 2, expect.stringMatching(/^Star\.name: duplicate key/)]]);
    expect(dup.id).toBeUndefined();
    expect(await selectRows(db, (k) => k('Star').select('name').orderBy('id'))).toEqual(['taken', 'first', 'second', 'last'].map((name) => ({ name })));
  });

  test('when a loader transaction also wrote through knex then a refusal cannot be replayed and fails the chunk', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, [{ name: 'taken' }]);
    const tx = await db.engine.begin();
    try {
      tx.keepInsertJournal();
      await tx.db('Star').insert({ name: 'by knex', bright: false });
      const refusal = await Promise.resolve(tx.saveNow(new Star({ name: 'taken' }))).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(DBError);
      expect((refusal as Error).message).toMatch(/cannot replay/);
    } finally {
      await tx.rollback();
    }
  });

  test('when a chunk is read with locks then rows another transaction holds are skipped', async () => {
    const db = await openDb({ models: [Star] });
    await seed(db, [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const { store } = db.engine;
    const holder = await db.engine.begin();
    const other = await db.engine.begin();
    try {
      const lockedRows = async (tx: Transaction, query: (k: Knex) => Knex.QueryBuilder) => (await store.readRows(store.lockingRows(query(tx.db)))).map((r) => r.name);
      expect(await lockedRows(holder, (k) => k('Star').select('name').where('id', '<=', 2).orderBy('id'))).toEqual(['a', 'b']);
      expect(await lockedRows(other, (k) => k('Star').select('name').orderBy('id'))).toEqual(['c']);
    } finally {
      await other.rollback();
      await holder.rollback();
    }
  });
});
