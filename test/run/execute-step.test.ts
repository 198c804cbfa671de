import type { Knex } from 'knex';
import { describe, expect, test } from 'vitest';
import { ProcessorError } from '../../src/core/errors.js';
import { boolean, datetime, float, integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { executeProcessor } from '../../src/run/execute.js';
import { Step, type Ordering } from '../../src/processors/step.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { countWhere, idsWhere, selectRows, useUnitDb, type UnitDb } from '../helpers/unit-db.js';

class Item extends model('Item', {
  id: integer().primaryKey(),
  value: float().notNull(),
  processed: boolean().notNull().default(false),
  doubled: float(),
  /** Incremented in SQL by steps that count their committed visits. */
  hits: integer().notNull().default(0),
}) {}

class Derived extends model('Derived', {
  id: integer().primaryKey(),
  item_id: integer().notNull(),
  how: string().notNull(),
}) {}

class Tagged extends model('Tagged', {
  id: integer().primaryKey(),
  item_id: integer().notNull(),
  tag: string().notNull().unique(),
}) {}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  async function withItems(count: number, chunkSize = 1000, values?: (i: number) => number): Promise<UnitDb> {
    const db = await openDb({ models: [Item, Derived], chunkSize });
    const rows = Array.from({ length: count }, (_, i) => ({ value: values ? values(i + 1) : i + 1 }));
    for (let i = 0; i < rows.length; i += 200) await db.engine.knex('Item').insert(rows.slice(i, i + 200));
    return db;
  }

  function run(db: UnitDb, Class: Parameters<typeof executeProcessor>[0], onProgress?: (rows: number) => void) {
    return executeProcessor(Class, { engine: db.engine, settings: db.settings, logger: db.logger, ...(onProgress ? { onProgress } : {}) });
  }

  describe('a step visits each matching row once per run', () => {
    test('when process does not change the condition columns then every row is processed exactly once per run', async () => {
      const db = await withItems(25, 10);
      const seen: number[] = [];
      class Looker extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        process(row: Item) {
          seen.push(row.id);
        }
      }
      const first = await run(db, Looker);
      expect(first).toMatchObject({ status: 'ok', rows: 25, kind: 'step', processor: 'Looker' });
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      seen.length = 0;
      await run(db, Looker);
      expect(seen).toHaveLength(25);
      expect(new Set(seen).size).toBe(25);
    });

    test('when a condition is a function then it is asked again for every chunk', async () => {
      const db = await withItems(30, 10);
      let ceiling = 100;
      const seen: number[] = [];
      class Narrowing extends Step<Item> {
        static override model = Item;
        // Chunks after the first are read with a compiled query when the conditions are data; a function may bind another value each time.
        static override conditions = [{ processed: false }, (query: Knex.QueryBuilder) => query.where('value', '<=', ceiling)];
        process(row: Item) {
          seen.push(row.id);
          // In the second chunk: the third is read with the new bound.
          if (row.id === 12) ceiling = 15;
        }
      }
      expect((await run(db, Narrowing)).rows).toBe(20);
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    test('when process changes the row then the change is stored and the row no longer matches', async () => {
      const db = await withItems(3);
      class Doubler extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        process(row: Item) {
          row.doubled = row.value * 2;
          row.processed = true;
        }
      }
      expect((await run(db, Doubler)).rows).toBe(3);
      expect(await selectRows(db, (k) => k('Item').select('id', 'doubled', 'processed').orderBy('id'), ['processed'])).toEqual([
        { id: 1, doubled: 2, processed: true },
        { id: 2, doubled: 4, processed: true },
        { id: 3, doubled: 6, processed: true },
      ]);
      expect((await run(db, Doubler)).rows).toBe(0);
    });
  });

  describe('composite primary keys', () => {
    test('when the model has a composite key then keyset paging visits every row once across chunks', async () => {
      const Obs = model('Obs', { night: integer().primaryKey(), band: string().primaryKey(), seen: boolean().notNull().default(false) });
      const db = await openDb({ models: [Obs], chunkSize: 3 });
      await db.engine.knex('Obs').insert([3, 1, 2].flatMap((night) => ['r', 'g', 'i'].map((band) => ({ night, band }))));
      const visited: string[] = [];
      class Visit extends Step {
        static override model = Obs;
        static override conditions = [];
        process(row: InstanceType<typeof Obs>) {
          visited.push(`${row.night}${row.band}`);
        }
      }
      expect((await run(db, Visit)).rows).toBe(9);
      expect(visited).toEqual(['1g', '1i', '1r', '2g', '2i', '2r', '3g', '3i', '3r']);
    });
  });

  describe('chunked commits', () => {
    test('when process throws on row 57 of 95 with chunkSize 10 then only row 57 is set aside: every other row is committed once and the step does not fail', async () => {
      const db = await withItems(95, 10);
      const calls = new Map<number, number>();
      class Fragile extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        async process(row: Item) {
          calls.set(row.id, (calls.get(row.id) ?? 0) + 1);
          // In the chunk's transaction: rolled back with it, so hits counts commits.
          await this.db('Item').where({ id: row.id }).increment('hits', 1);
          if (row.id === 57) throw new Error('bad value');
          row.processed = true;
        }
      }
      const stats = await run(db, Fragile);
      expect(stats).toMatchObject({ status: 'ok', rows: 94, failedRows: 1 });
      expect(stats.error).toBeUndefined();
      expect(stats.rowFailures).toEqual([{ key: 'id=57', message: 'bad value', attempts: 1, quarantined: false, stack: expect.stringContaining('bad value') }]);
      const all = Array.from({ length: 95 }, (_, i) => i + 1);
      expect(await idsWhere(db, 'Item', { processed: true })).toEqual(all.filter((id) => id !== 57));
      // Committed exactly once each; row 57's own increment was rolled back with it.
      expect(await idsWhere(db, 'Item', { hits: 1 })).toEqual(all.filter((id) => id !== 57));
      expect(await idsWhere(db, 'Item', { hits: 0 })).toEqual([57]);
      // The rows before it in its chunk (51-56) ran again after the rollback; the others once.
      expect([...calls.entries()].filter(([, n]) => n !== 1).sort((a, b) => a[0] - b[0])).toEqual([51, 52, 53, 54, 55, 56].map((id) => [id, 2]));
      expect(calls.get(57)).toBe(1);
      expect(
        await selectRows(db, (k) => k('corral_failures').select('processor', 'model_table', 'model_key', 'attempts', 'error', 'quarantined'), ['quarantined']),
      ).toEqual([{ processor: 'Fragile', model_table: 'Item', model_key: '57', attempts: 1, error: 'bad value', quarantined: false }]);
    });

    test('when several rows of one chunk throw then each is set aside alone and the rows between them are committed', async () => {
      const db = await withItems(10, 10);
      class Picky extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        async process(row: Item) {
          await this.db('Item').where({ id: row.id }).increment('hits', 1);
          if ([1, 4, 5, 10].includes(row.id)) throw new Error(`odd ${row.id}`);
          row.processed = true;
        }
      }
      const stats = await run(db, Picky);
      expect(stats).toMatchObject({ status: 'ok', rows: 6, failedRows: 4 });
      expect(stats.rowFailures.map((f) => [f.key, f.message])).toEqual([
        ['id=1', 'odd 1'],
        ['id=4', 'odd 4'],
        ['id=5', 'odd 5'],
        ['id=10', 'odd 10'],
      ]);
      expect(await idsWhere(db, 'Item', { processed: true })).toEqual([2, 3, 6, 7, 8, 9]);
      expect(await idsWhere(db, 'Item', { hits: 1 })).toEqual([2, 3, 6, 7, 8, 9]);
      expect(await countWhere(db, 'corral_failures')).toBe(4);
    });

    test("when the step class sets its own chunkSize then it overrides the setting", async () => {
      const db = await withItems(12, 1000);
      class Small extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        static override chunkSize = 5;
        process(row: Item) {
          row.processed = true;
        }
      }
      // onProgress is called after each committed chunk with the rows done so far.
      const committed: number[] = [];
      const stats = await run(db, Small, (rows) => committed.push(rows));
      expect(stats.rows).toBe(12);
      expect(committed).toEqual([5, 10, 12]);
      expect(await countWhere(db, 'Item', { processed: true })).toBe(12);
    });

    test('when a stop is requested then the step stops after the chunk in flight and keeps whole chunks only', async () => {
      const db = await withItems(50, 10);
      const stop = { requested: false };
      class Stoppable extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        process(row: Item) {
          // Asked in the middle of the second chunk: that chunk still finishes.
          if (row.id === 15) stop.requested = true;
          row.processed = true;
        }
      }
      const stats = await executeProcessor(Stoppable, { engine: db.engine, settings: db.settings, logger: db.logger, stop });
      expect(stats).toMatchObject({ status: 'stopped', rows: 20, failedRows: 0 });
      expect(await idsWhere(db, 'Item', { processed: true })).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      stop.requested = false;
      expect(await run(db, Stoppable)).toMatchObject({ status: 'ok', rows: 30 });
      expect(await countWhere(db, 'Item', { processed: false })).toBe(0);
    });

    test('when a signal handler asks to stop during a synchronous step then the step sees it between chunks', async () => {
      // A signal handler runs on a turn of the event loop. A synchronous process() on
      // SQLite never awaits anything real, so the loop must make those turns itself.
      const db = await withItems(2000, 50);
      const stop = { requested: false };
      class Busy extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        process(row: Item) {
          const until = performance.now() + 0.2;
          while (performance.now() < until) {
            // at least 0.4 s of work in all, whatever the machine
          }
          row.processed = true;
        }
      }
      const timer = setTimeout(() => (stop.requested = true), 20);
      const stats = await executeProcessor(Busy, { engine: db.engine, settings: db.settings, logger: db.logger, stop });
      clearTimeout(timer);
      expect(stats.status).toBe('stopped');
      expect(stats.rows).toBeLessThan(2000);
      expect(stats.rows % 50).toBe(0);
      expect(await countWhere(db, 'Item', { processed: true })).toBe(stats.rows);
    });

    test('when a row fails then the step still succeeds and teardown receives no error', async () => {
      const db = await withItems(3);
      const calls: string[] = [];
      class Hooked extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        override setup() {
          calls.push('setup');
        }
        process(row: Item) {
          if (row.id === 2) throw new Error('nope');
        }
        override teardown(error?: unknown) {
          calls.push(`teardown:${(error as Error | undefined)?.message}`);
        }
      }
      const stats = await run(db, Hooked);
      expect(stats).toMatchObject({ status: 'ok', rows: 2, failedRows: 1 });
      expect(calls).toEqual(['setup', 'teardown:undefined']);
    });
  });

  describe('steps whose rows corral cannot remember fail as a whole', () => {
    // Failure memory names rows by integer or string keys; a datetime key has no
    // portable text form, so a throwing row fails such a step as before issue 5.
    class Night extends model('Night', { night: datetime().primaryKey(), done: boolean().notNull().default(false) }) {}
    const nights = Array.from({ length: 7 }, (_, i) => new Date(Date.UTC(2020, 0, i + 1)));

    test('when process throws on the 5th of 7 rows with chunkSize 2 then the first 2 chunks are kept, the step fails naming the row, and teardown receives the error', async () => {
      const db = await openDb({ models: [Night], chunkSize: 2 });
      await db.engine.knex('Night').insert(nights.map((night) => ({ night: dialect === 'sqlite' ? night.getTime() : night, done: false })));
      const seen: unknown[] = [];
      class Observe extends Step {
        static override model = Night;
        static override conditions = [{ done: false }];
        process(row: InstanceType<typeof Night>) {
          if (row.night.getTime() === nights[4]!.getTime()) throw new Error('cloudy');
          row.done = true;
        }
        override teardown(error?: unknown) {
          seen.push(error);
        }
      }
      const stats = await run(db, Observe);
      expect(stats.status).toBe('failed');
      expect(stats.rows).toBe(4);
      expect(stats.error).toBeInstanceOf(ProcessorError);
      const error = stats.error as ProcessorError;
      expect(error.processor).toBe('Observe');
      expect(error.rowKey).toBe('night=2020-01-05T00:00:00.000Z');
      expect(error.message).toBe('Observe failed on row night=2020-01-05T00:00:00.000Z: cloudy');
      expect((error.cause as Error).message).toBe('cloudy');
      expect(seen.map((e) => (e as Error).message)).toEqual(['cloudy']);
      expect(await countWhere(db, 'Night', { done: true })).toBe(4);
      expect(await countWhere(db, 'corral_failures')).toBe(0);
    });
  });

  describe('what a step produces is stored', () => {
    test('when process returns one instance, an array, a generator or an async generator then every produced row is stored', async () => {
      const db = await withItems(2);
      class ReturnsOne extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        process(row: Item) {
          return new Derived({ item_id: row.id, how: 'one' });
        }
      }
      class ReturnsArray extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        process(row: Item) {
          return [new Derived({ item_id: row.id, how: 'array' }), new Derived({ item_id: row.id, how: 'array' })];
        }
      }
      class Generates extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        *process(row: Item) {
          yield new Derived({ item_id: row.id, how: 'generator' });
          yield new Derived({ item_id: row.id, how: 'generator' });
          yield new Derived({ item_id: row.id, how: 'generator' });
        }
      }
      class GeneratesAsync extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        async *process(row: Item) {
          await new Promise((resolve) => setImmediate(resolve));
          yield new Derived({ item_id: row.id, how: 'async' });
        }
      }
      class ResolvesArray extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        async process(row: Item) {
          return [new Derived({ item_id: row.id, how: 'promise' })];
        }
      }
      for (const Class of [ReturnsOne, ReturnsArray, Generates, GeneratesAsync, ResolvesArray]) {
        expect((await run(db, Class)).status).toBe('ok');
      }
      const counts = await selectRows(db, (k) => k('Derived').select('how').count({ n: '*' }).groupBy('how').orderBy('how'));
      expect(counts.map((c) => ({ how: c.how, n: Number(c.n) }))).toEqual([
        { how: 'array', n: 4 },
        { how: 'async', n: 2 },
        { how: 'generator', n: 6 },
        { how: 'one', n: 2 },
        { how: 'promise', n: 2 },
      ]);
    });

    test('when a yielded row is refused by the database then the row that yielded it is set aside alone, also when the refusal shows at a later row\'s own query, and every other row and what it yielded is kept with the ids code after its yield saw', async () => {
      const db = await openDb({ models: [Item, Tagged], chunkSize: 10 });
      await db.engine.knex('Item').insert(Array.from({ length: 12 }, (_, i) => ({ value: i + 1 })));
      await db.engine.knex('Tagged').insert({ item_id: 0, tag: 'taken' });
      const seenIds = new Map<number, number>();
      class Tagger extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        async *process(row: Item) {
          // Row 4 yields a tag that is taken; row 6 reads through this.db, which writes the rows held back first.
          const first = new Tagged({ item_id: row.id, tag: row.id === 4 ? 'taken' : `a${row.id}` });
          yield first;
          const second = new Tagged({ item_id: row.id, tag: `b${row.id}` });
          yield second;
          seenIds.set(row.id, second.id);
          if (row.id === 6) {
            try {
              await this.db('Tagged').count({ n: '*' });
            } catch {
              // A step that swallows the error does not hide the refusal.
            }
          }
          row.processed = true;
        }
      }
      const stats = await run(db, Tagger);
      expect(stats).toMatchObject({ status: 'ok', rows: 11, failedRows: 1 });
      expect(stats.rowFailures.map((f) => f.key)).toEqual(['id=4']);
      expect(stats.rowFailures[0]!.message).toMatch(/tag/);
      const stored = (await selectRows(db, (k) => k('Tagged').select('id', 'item_id', 'tag').where('item_id', '>', 0).orderBy('id'))) as { id: number; item_id: number; tag: string }[];
      expect(stored.map((r) => r.item_id).sort((a, b) => a - b)).toEqual([1, 1, 2, 2, 3, 3, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12]);
      for (const r of stored) if (r.tag.startsWith('b')) expect(r.id).toBe(seenIds.get(r.item_id));
      expect(await idsWhere(db, 'Item', { processed: false })).toEqual([4]);
    });

    test('when a step yields a string then each row fails with a message naming the step and the value, and nothing of those rows is kept', async () => {
      const db = await withItems(2);
      class Chatty extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        *process(row: Item) {
          yield new Derived({ item_id: row.id, how: 'ok' });
          yield 'hello' as never;
        }
      }
      const stats = await run(db, Chatty);
      expect(stats).toMatchObject({ status: 'ok', rows: 0, failedRows: 2 });
      const message = "Chatty produced 'hello' (string); it must produce model instances";
      expect(stats.rowFailures.map((f) => [f.key, f.message])).toEqual([
        ['id=1', message],
        ['id=2', message],
      ]);
      expect(stats.rowFailures[0]!.stack).toMatch(/^ValidationError: /);
      expect(await countWhere(db, 'Derived')).toBe(0);
      expect(await selectRows(db, (k) => k('corral_failures').select('model_key', 'error').orderBy('model_key'))).toEqual([
        { model_key: '1', error: message },
        { model_key: '2', error: message },
      ]);
    });

    test('when a step returns a plain object then the row fails with a ValidationError message', async () => {
      const db = await withItems(1);
      class Plain extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        process() {
          return { how: 'plain' } as never;
        }
      }
      const stats = await run(db, Plain);
      expect(stats.failedRows).toBe(1);
      expect(stats.rowFailures[0]!.message).toBe('Plain produced {"how":"plain"} (object); it must produce model instances');
      expect(stats.rowFailures[0]!.stack).toMatch(/^ValidationError: /);
    });
  });

  describe('rows the step creates itself', () => {
    test('when a step creates rows matching its own conditions then they wait for the next run', async () => {
      const db = await withItems(3);
      const seen: number[][] = [];
      let current: number[] = [];
      class Spawner extends Step<Item> {
        static override model = Item;
        static override conditions = [{ processed: false }];
        process(row: Item) {
          current.push(row.id);
          row.processed = true;
          return new Item({ value: row.value * 10 });
        }
      }
      for (let runNo = 0; runNo < 3; runNo++) {
        current = [];
        await run(db, Spawner);
        seen.push(current);
      }
      expect(seen).toEqual([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ]);
    });

    test('when an ordered step creates rows matching its own conditions then they also wait for the next run', async () => {
      const db = await withItems(2);
      let calls = 0;
      class OrderedSpawner extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        static override ordering = ['-value'];
        process(row: Item) {
          calls += 1;
          return new Item({ value: row.value + 100 });
        }
      }
      await run(db, OrderedSpawner);
      expect(calls).toBe(2);
    });
  });

  describe('ordering', () => {
    const values = [5, 3, 9, 1, 7, 3, 8];

    test.each<[string, readonly Ordering[], number[]]>([
      ['primary key (default)', [], [5, 3, 9, 1, 7, 3, 8]],
      ["'value' ascending", ['value'], [1, 3, 3, 5, 7, 8, 9]],
      ["'-value' descending", ['-value'], [9, 8, 7, 5, 3, 3, 1]],
      ['{ column, order: desc }', [{ column: 'value', order: 'desc' }], [9, 8, 7, 5, 3, 3, 1]],
    ])('when ordering is %s then rows are processed in that order across chunks', async (_label, ordering, expected) => {
      const db = await withItems(values.length, 3, (i) => values[i - 1]!);
      const order: number[] = [];
      class Ordered extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        static override ordering = ordering.length ? ordering : undefined;
        process(row: Item) {
          order.push(row.value);
        }
      }
      await run(db, Ordered);
      expect(order).toEqual(expected);
    });

    test('when two rows tie on the ordering column then the primary key breaks the tie', async () => {
      const db = await withItems(4, 2, () => 1);
      const ids: number[] = [];
      class Tied extends Step<Item> {
        static override model = Item;
        static override conditions = [];
        static override ordering = ['-value'];
        process(row: Item) {
          ids.push(row.id);
        }
      }
      await run(db, Tied);
      expect(ids).toEqual([1, 2, 3, 4]);
    });
  });

  describe('badly declared steps', () => {
    test('when a step has no conditions then running it fails with an ImproperlyConfigured naming it', async () => {
      const db = await withItems(1);
      class NoConditions extends Step<Item> {
        static override model = Item;
        process() {}
      }
      const stats = await run(db, NoConditions);
      expect(stats.status).toBe('failed');
      expect(stats.error!.message).toBe('NoConditions.conditions is not set');
    });

    test('when a step has no model then running it fails with an ImproperlyConfigured naming it', async () => {
      const db = await withItems(1);
      class NoModel extends Step<Item> {
        static override conditions = [];
        process() {}
      }
      expect((await run(db, NoModel)).error!.message).toBe('NoModel.model is not set to a model class');
    });
  });
});
