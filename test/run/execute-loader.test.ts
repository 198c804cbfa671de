import { describe, expect, test } from 'vitest';
import { ProcessorError, ValidationError } from '../../src/core/errors.js';
import { float, integer, string } from '../../src/db/columns.js';
import { Failure } from '../../src/db/bookkeeping/models.js';
import { model } from '../../src/db/model.js';
import { executeProcessor } from '../../src/run/execute.js';
import { Loader } from '../../src/processors/loader.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { countWhere, selectRows, useUnitDb, type UnitDb } from '../helpers/unit-db.js';

class Reading extends model('Reading', {
  id: integer().primaryKey(),
  sensor: string().notNull(),
  value: float().notNull(),
}) {}

/** A unique tag, for a refusal in the middle of a chunk. */
class Tagged extends model('Tagged', {
  id: integer().primaryKey(),
  tag: string(20).notNull().unique(),
}) {}

/** A key the pipeline gives: a string, numbered by no sequence. */
class Station extends model('Station', {
  code: string(10).primaryKey(),
  name: string(40).notNull(),
}) {}

/** An integer key the pipeline gives itself. */
class Site extends model('Site', {
  id: integer().primaryKey(),
  name: string(40).notNull(),
}) {}

/** Given keys too, and a reference to a site: rows of two models that must be written in order. */
class Visit extends model('Visit', {
  id: integer().primaryKey(),
  site: integer().notNull().references('Site'),
}) {}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  function run(db: UnitDb, Class: Parameters<typeof executeProcessor>[0]) {
    return executeProcessor(Class, { engine: db.engine, settings: db.settings, logger: db.logger });
  }

  function count(db: UnitDb): Promise<number> {
    return countWhere(db, 'Reading');
  }

  describe('the loader stores what generate() yields', () => {
    test('when generate is a sync generator then every yielded row is stored', async () => {
      const db = await openDb({ models: [Reading] });
      class SyncLoader extends Loader {
        *generate() {
          for (let i = 1; i <= 4; i++) yield new Reading({ sensor: 's', value: i });
        }
      }
      expect(await run(db, SyncLoader)).toMatchObject({ status: 'ok', rows: 4, kind: 'loader' });
      expect(await selectRows(db, (k) => k('Reading').select('id', 'value').orderBy('id'))).toEqual([1, 2, 3, 4].map((i) => ({ id: i, value: i })));
    });

    test('when generate is an async generator then every yielded row is stored', async () => {
      const db = await openDb({ models: [Reading] });
      class AsyncLoader extends Loader {
        async *generate() {
          for (let i = 1; i <= 3; i++) {
            await new Promise((resolve) => setImmediate(resolve));
            yield new Reading({ sensor: 'async', value: i });
          }
        }
      }
      expect((await run(db, AsyncLoader)).rows).toBe(3);
      expect(await count(db)).toBe(3);
    });

    test('when generate returns an array or a promise of one then the rows are stored', async () => {
      const db = await openDb({ models: [Reading] });
      class ArrayLoader extends Loader {
        generate() {
          return [new Reading({ sensor: 'a', value: 1 }), new Reading({ sensor: 'a', value: 2 })];
        }
      }
      class PromiseLoader extends Loader {
        async generate() {
          return new Reading({ sensor: 'p', value: 3 });
        }
      }
      expect((await run(db, ArrayLoader)).rows).toBe(2);
      expect((await run(db, PromiseLoader)).rows).toBe(1);
      expect(await count(db)).toBe(3);
    });

    test('when code after a yield runs then the previously yielded row is already saved', async () => {
      const db = await openDb({ models: [Reading] });
      const idsAfterYield: (number | null)[] = [];
      const countsAfterYield: number[] = [];
      class SyncLazy extends Loader {
        *generate() {
          for (let i = 1; i <= 3; i++) {
            const reading = new Reading({ sensor: 'lazy', value: i });
            yield reading;
            idsAfterYield.push(reading.id);
          }
        }
      }
      class AsyncLazy extends Loader {
        async *generate() {
          for (let i = 1; i <= 3; i++) {
            yield new Reading({ sensor: 'lazy-async', value: i });
            countsAfterYield.push(await this.count(Reading, [{ sensor: 'lazy-async' }]));
          }
        }
      }
      await run(db, SyncLazy);
      await run(db, AsyncLazy);
      expect(idsAfterYield).toEqual([1, 2, 3]);
      expect(countsAfterYield).toEqual([1, 2, 3]);
    });
  });

  describe('rows written a chunk at a time (PostgreSQL holds them back until the chunk ends)', () => {
    test('when code after a yield reads through this.db or this.find then it sees every row yielded before', async () => {
      const db = await openDb({ models: [Reading], chunkSize: 100 });
      const seen: { viaDb: number; viaFind: number[] }[] = [];
      class Reader extends Loader {
        async *generate() {
          for (let i = 1; i <= 3; i++) {
            const reading = new Reading({ sensor: 'r', value: i });
            yield reading;
            const [{ n }] = (await this.db('Reading').count({ n: '*' })) as [{ n: number | string }];
            const found = await this.find(Reading, [{ sensor: 'r' }]);
            seen.push({ viaDb: Number(n), viaFind: found.map((r) => r.id!).sort((a, b) => a - b) });
            expect(found.map((r) => r.id)).toContain(reading.id);
          }
        }
      }
      expect(await run(db, Reader)).toMatchObject({ status: 'ok', rows: 3 });
      expect(seen.map((s) => s.viaDb)).toEqual([1, 2, 3]);
      expect(seen.map((s) => s.viaFind.length)).toEqual([1, 2, 3]);
    });

    test('when a row in the middle of a chunk is refused then it is recorded by its place, and the rows around it are stored with the ids code after their yield saw', async () => {
      const db = await openDb({ models: [Tagged], chunkSize: 50 });
      const seen: Record<string, number | null> = {};
      class Tags extends Loader {
        *generate() {
          for (let i = 1; i <= 10; i++) {
            const row = new Tagged({ tag: i === 4 || i === 7 ? 'dup' : `t${i}` });
            yield row;
            seen[`${i}`] = row.id;
          }
        }
      }
      const stats = await run(db, Tags);
      expect(stats).toMatchObject({ status: 'ok', rows: 9, failedRows: 1 });
      expect(stats.rowFailures.map((f) => f.key)).toEqual(['Tagged #7']);
      const stored = (await selectRows(db, (k) => k('Tagged').select('id', 'tag').orderBy('id'))) as { id: number; tag: string }[];
      expect(stored.map((r) => r.tag)).toEqual(['t1', 't2', 't3', 'dup', 't5', 't6', 't8', 't9', 't10']);
      for (const { id, tag } of stored) expect(seen[tag === 'dup' ? '4' : tag.slice(1)]).toBe(id);
      const recorded = await selectRows(db, (k) => k(Failure.table).select('processor', 'model_table', 'model_key'));
      expect(recorded).toEqual([{ processor: 'Tags', model_table: 'Tagged', model_key: '#7' }]);
    });

    test('when rows were already written in the chunk (a read made them go) and a later one is refused then the earlier rows are kept too', async () => {
      const db = await openDb({ models: [Tagged], chunkSize: 50 });
      const counted: number[] = [];
      class Reads extends Loader {
        async *generate() {
          yield new Tagged({ tag: 'a' });
          yield new Tagged({ tag: 'b' });
          counted.push(await this.count(Tagged));
          yield new Tagged({ tag: 'c' });
          yield new Tagged({ tag: 'a' });
          yield new Tagged({ tag: 'd' });
        }
      }
      const stats = await run(db, Reads);
      expect(counted).toEqual([2]);
      expect(stats).toMatchObject({ status: 'ok', rows: 4, failedRows: 1 });
      expect(stats.rowFailures.map((f) => f.key)).toEqual(['Tagged #4']);
      expect(await selectRows(db, (k) => k('Tagged').select('tag').orderBy('id'))).toEqual(['a', 'b', 'c', 'd'].map((tag) => ({ tag })));
    });

    test('when a chunk also wrote through this.db and a yielded row is then refused then the refusal is recorded, and the write and the other rows are kept', async () => {
      const db = await openDb({ models: [Tagged], chunkSize: 50 });
      class Mixed extends Loader {
        async *generate() {
          yield new Tagged({ tag: 'a' });
          await this.db('Tagged').insert({ tag: 'by knex' });
          yield new Tagged({ tag: 'a' });
          yield new Tagged({ tag: 'b' });
        }
      }
      const stats = await run(db, Mixed);
      expect(stats).toMatchObject({ status: 'ok', rows: 2, failedRows: 1 });
      expect(stats.rowFailures.map((f) => f.key)).toEqual(['Tagged #2']);
      // By tag: on PostgreSQL the yielded rows' ids were taken from the sequence before the knex insert took its own.
      expect(await selectRows(db, (k) => k('Tagged').select('tag').orderBy('tag'))).toEqual([{ tag: 'a' }, { tag: 'b' }, { tag: 'by knex' }]);
    });

    test('when the rows have keys the pipeline gives (a string, integers) and refer to rows yielded before them then all are stored as given', async () => {
      const db = await openDb({ models: [Station, Site, Visit], chunkSize: 50 });
      class Visits extends Loader {
        override async setup() {
          await this.save(new Site({ id: 1, name: 'one' }));
        }
        *generate() {
          yield new Station({ code: 'A', name: 'Alpha' });
          yield new Visit({ id: 100, site: 1 });
          // A site after a visit, then a visit of it: the rows must reach the database in the order they came.
          yield new Site({ id: 2, name: 'two' });
          const visit = new Visit({ id: 7, site: 2 });
          yield visit;
          expect(visit.id).toBe(7);
        }
      }
      const stats = await run(db, Visits);
      expect(stats.error?.message).toBeUndefined();
      expect(stats).toMatchObject({ status: 'ok', rows: 4, failedRows: 0 });
      expect(await selectRows(db, (k) => k('Station').select('code', 'name'))).toEqual([{ code: 'A', name: 'Alpha' }]);
      expect(await selectRows(db, (k) => k('Site').select('id', 'name').orderBy('id'))).toEqual([
        { id: 1, name: 'one' },
        { id: 2, name: 'two' },
      ]);
      expect(await selectRows(db, (k) => k('Visit').select('id', 'site').orderBy('id'))).toEqual([
        { id: 7, site: 2 },
        { id: 100, site: 1 },
      ]);
    });

    test('when code after a yield changes the row and saves it again then the stored row has the change', async () => {
      const db = await openDb({ models: [Reading], chunkSize: 50 });
      class Twice extends Loader {
        async *generate() {
          const reading = new Reading({ sensor: 'x', value: 1 });
          yield reading;
          reading.value = 2;
          await this.save(reading);
          yield new Reading({ sensor: 'y', value: 3 });
        }
      }
      expect(await run(db, Twice)).toMatchObject({ status: 'ok', rows: 2 });
      expect(await selectRows(db, (k) => k('Reading').select('id', 'sensor', 'value').orderBy('id'))).toEqual([
        { id: 1, sensor: 'x', value: 2 },
        { id: 2, sensor: 'y', value: 3 },
      ]);
    });
  });

  describe('rows written many to a statement (SQLite: 50 to an INSERT)', () => {
    test('when one row of a full statement is refused then the others of it and after it are stored with the ids code after their yield saw, and it is recorded by its place', async () => {
      const db = await openDb({ models: [Tagged], chunkSize: 200 });
      const seen = new Map<string, number | null>();
      class Many extends Loader {
        *generate() {
          for (let i = 1; i <= 130; i++) {
            const row = new Tagged({ tag: i === 75 ? 't3' : `t${i}` });
            yield row;
            seen.set(i === 75 ? 'refused' : row.tag, row.id);
          }
        }
      }
      const stats = await run(db, Many);
      expect(stats).toMatchObject({ status: 'ok', rows: 129, failedRows: 1 });
      expect(stats.rowFailures.map((f) => f.key)).toEqual(['Tagged #75']);
      const stored = (await selectRows(db, (k) => k('Tagged').select('id', 'tag').orderBy('id'))) as { id: number; tag: string }[];
      expect(stored).toHaveLength(129);
      expect(stored.map((r) => r.tag)).toEqual(Array.from({ length: 130 }, (_, i) => `t${i + 1}`).filter((tag) => tag !== 't75'));
      for (const { id, tag } of stored) expect(seen.get(tag)).toBe(id);
      expect(await selectRows(db, (k) => k(Failure.table).select('model_key'))).toEqual([{ model_key: '#75' }]);
    });

    test('when a value too long comes while refused rows wait then the refusals are recorded in the order the rows were yielded', async () => {
      const db = await openDb({ models: [Tagged], chunkSize: 200 });
      class Order extends Loader {
        *generate() {
          yield new Tagged({ tag: 'a' });
          yield new Tagged({ tag: 'a' });
          yield new Tagged({ tag: 'b' });
          yield new Tagged({ tag: 'x'.repeat(30) });
          yield new Tagged({ tag: 'c' });
        }
      }
      const stats = await run(db, Order);
      expect(stats).toMatchObject({ status: 'ok', rows: 3, failedRows: 2 });
      expect(stats.rowFailures.map((f) => f.key)).toEqual(['Tagged #2', 'Tagged #4']);
      expect(await selectRows(db, (k) => k('Tagged').select('tag').orderBy('id'))).toEqual(['a', 'b', 'c'].map((tag) => ({ tag })));
    });

    test('when rows of two models of one table come in turns then each gets its own id, the one code after its yield saw', async () => {
      const db = await openDb({ models: [Reading], chunkSize: 200 });
      /** The same table under another class: its rows are numbered by the same table. */
      class Calibrated extends Reading {}
      const seen: [string, number | null][] = [];
      class Turns extends Loader {
        *generate() {
          for (let i = 1; i <= 120; i++) {
            const row = i % 3 === 0 ? new Calibrated({ sensor: `c${i}`, value: i }) : new Reading({ sensor: `r${i}`, value: i });
            yield row;
            seen.push([row.sensor, row.id]);
          }
        }
      }
      expect(await run(db, Turns)).toMatchObject({ status: 'ok', rows: 120 });
      const stored = (await selectRows(db, (k) => k('Reading').select('id', 'sensor').orderBy('id'))) as { id: number; sensor: string }[];
      expect(stored.map((r) => [r.sensor, r.id])).toEqual(seen);
    });

    test('when the table had rows, some deleted, and a row gives its own id then each new row gets the id the database would have given it', async () => {
      const db = await openDb({ models: [Reading], chunkSize: 200 });
      await db.engine.inTransaction(async (tx) => {
        for (let i = 1; i <= 5; i++) await tx.save(new Reading({ sensor: 'before', value: i }));
        await tx.db('Reading').whereIn('id', [4, 5]).delete();
      });
      const ids: (number | null)[] = [];
      class After extends Loader {
        *generate() {
          for (const given of [undefined, 20, undefined]) {
            const row = new Reading({ sensor: 'after', value: 0, ...(given === undefined ? {} : { id: given }) });
            yield row;
            ids.push(row.id);
          }
        }
      }
      expect(await run(db, After)).toMatchObject({ status: 'ok', rows: 3 });
      // A deleted id is not given again; after a given id SQLite numbers from it, a PostgreSQL sequence goes on.
      expect(ids).toEqual(dialect === 'sqlite' ? [6, 20, 21] : [6, 20, 7]);
      const stored = (await selectRows(db, (k) => k('Reading').select('id').where({ sensor: 'after' }).orderBy('id'))) as { id: number }[];
      expect(stored.map((r) => r.id)).toEqual([...ids].sort((a, b) => a! - b!));
    });
  });

  describe('loader failures', () => {
    test('when the loader throws after 25 rows with chunkSize 10 then 20 rows are committed and teardown receives the error', async () => {
      const db = await openDb({ models: [Reading], chunkSize: 10 });
      const seen: unknown[] = [];
      class Breaks extends Loader {
        *generate() {
          for (let i = 1; i <= 25; i++) yield new Reading({ sensor: 'b', value: i });
          throw new Error('source went away');
        }
        override teardown(error?: unknown) {
          seen.push(error);
        }
      }
      const stats = await run(db, Breaks);
      expect(stats.status).toBe('failed');
      expect(stats.error).toBeInstanceOf(ProcessorError);
      expect(stats.error!.message).toBe('Breaks failed: source went away');
      expect(await count(db)).toBe(20);
      expect(seen).toHaveLength(1);
      expect((seen[0] as Error).message).toBe('source went away');
    });

    // The summary line of a failed loader counts what it committed (it once said 0 rows).
    test('when the loader fails after committed chunks then its stats count the committed rows', async () => {
      const db = await openDb({ models: [Reading], chunkSize: 10 });
      class Breaks extends Loader {
        *generate() {
          for (let i = 1; i <= 25; i++) yield new Reading({ sensor: 'b', value: i });
          throw new Error('source went away');
        }
      }
      const stats = await run(db, Breaks);
      expect(await count(db)).toBe(20);
      expect(stats.rows).toBe(20);
    });

    test('when a stop is requested then the loader stops after the chunk in flight, keeps what it committed, and says stopped', async () => {
      const db = await openDb({ models: [Reading], chunkSize: 10 });
      const stop = { requested: false };
      let generated = 0;
      class Endless extends Loader {
        *generate() {
          for (;;) {
            generated += 1;
            yield new Reading({ sensor: 'e', value: generated });
          }
        }
      }
      const stats = await executeProcessor(Endless, {
        engine: db.engine,
        settings: db.settings,
        logger: db.logger,
        stop,
        onProgress: (rows) => {
          if (rows >= 20) stop.requested = true;
        },
      });
      expect(stats).toMatchObject({ status: 'stopped', rows: 20 });
      expect(stats.error).toBeUndefined();
      expect(await count(db)).toBe(20);
    });

    test('when the loader succeeds then teardown receives no error', async () => {
      const db = await openDb({ models: [Reading] });
      const seen: unknown[] = [];
      class Fine extends Loader {
        *generate() {
          yield new Reading({ sensor: 'f', value: 1 });
        }
        override teardown(error?: unknown) {
          seen.push(error);
        }
      }
      await run(db, Fine);
      expect(seen).toEqual([undefined]);
    });

    test('when the loader yields something that is not a model instance then a ValidationError fails it and the chunk is rolled back', async () => {
      const db = await openDb({ models: [Reading] });
      class Sloppy extends Loader {
        *generate() {
          yield new Reading({ sensor: 's', value: 1 });
          yield 42 as never;
        }
      }
      const stats = await run(db, Sloppy);
      expect(stats.error).toBeInstanceOf(ProcessorError);
      expect(stats.error!.cause).toBeInstanceOf(ValidationError);
      expect(stats.error!.message).toBe('Sloppy failed: Sloppy produced 42 (number); it must produce model instances');
      expect(await count(db)).toBe(0);
    });
  });
});
