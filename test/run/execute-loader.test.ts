import { describe, expect, test } from 'vitest';
import { ProcessorError, ValidationError } from '../../src/core/errors.js';
import { float, integer, string } from '../../src/db/columns.js';
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
