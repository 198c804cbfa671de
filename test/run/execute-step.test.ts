import { describe, expect, test } from 'vitest';
import { ProcessorError, ValidationError } from '../../src/core/errors.js';
import { boolean, float, integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { executeProcessor } from '../../src/run/execute.js';
import { Step, type Ordering } from '../../src/run/step.js';
import { queryDb } from '../helpers/sqlite.js';
import { useUnitDb, type UnitDb } from '../helpers/unit-db.js';

class Item extends model('Item', {
  id: integer().primaryKey(),
  value: float().notNull(),
  processed: boolean().notNull().default(false),
  doubled: float(),
}) {}

class Derived extends model('Derived', {
  id: integer().primaryKey(),
  item_id: integer().notNull(),
  how: string().notNull(),
}) {}

const openDb = useUnitDb();

async function withItems(count: number, chunkSize = 1000, values?: (i: number) => number): Promise<UnitDb> {
  const db = await openDb({ models: [Item, Derived], chunkSize });
  const rows = Array.from({ length: count }, (_, i) => ({ value: values ? values(i + 1) : i + 1 }));
  for (let i = 0; i < rows.length; i += 200) await db.engine.knex('Item').insert(rows.slice(i, i + 200));
  return db;
}

function run(db: UnitDb, Class: Parameters<typeof executeProcessor>[0]) {
  return executeProcessor(Class, { engine: db.engine, settings: db.settings, logger: db.logger });
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
    expect(queryDb(db.file, 'SELECT id, doubled, processed FROM Item ORDER BY id')).toEqual([
      { id: 1, doubled: 2, processed: 1 },
      { id: 2, doubled: 4, processed: 1 },
      { id: 3, doubled: 6, processed: 1 },
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
  test('when process throws on row 57 of 95 with chunkSize 10 then the first 5 chunks are kept, the 6th is rolled back, and the error names the step and id=57', async () => {
    const db = await withItems(95, 10);
    class Fragile extends Step<Item> {
      static override model = Item;
      static override conditions = [{ processed: false }];
      process(row: Item) {
        if (row.id === 57) throw new Error('bad value');
        row.processed = true;
      }
    }
    const stats = await run(db, Fragile);
    expect(stats.status).toBe('failed');
    expect(stats.rows).toBe(50);
    expect(stats.error).toBeInstanceOf(ProcessorError);
    const error = stats.error as ProcessorError;
    expect(error.processor).toBe('Fragile');
    expect(error.rowKey).toBe('id=57');
    expect(error.message).toBe('Fragile failed on row id=57: bad value');
    expect((error.cause as Error).message).toBe('bad value');
    const processed = queryDb<{ id: number }>(db.file, 'SELECT id FROM Item WHERE processed = 1 ORDER BY id').map((r) => r.id);
    expect(processed).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  test("when the step class sets its own chunkSize then it overrides the setting", async () => {
    const db = await withItems(12, 1000);
    class Small extends Step<Item> {
      static override model = Item;
      static override conditions = [];
      static override chunkSize = 5;
      process(row: Item) {
        if (row.id === 11) throw new Error('stop');
        row.processed = true;
      }
    }
    const stats = await run(db, Small);
    expect(stats.rows).toBe(10);
    expect(queryDb(db.file, 'SELECT count(*) AS n FROM Item WHERE processed = 1')).toEqual([{ n: 10 }]);
  });

  test('when a row fails then the teardown hook receives the error', async () => {
    const db = await withItems(3);
    const calls: string[] = [];
    class Hooked extends Step<Item> {
      static override model = Item;
      static override conditions = [];
      override setup() {
        calls.push('setup');
      }
      process() {
        throw new Error('nope');
      }
      override teardown(error?: unknown) {
        calls.push(`teardown:${(error as Error | undefined)?.message}`);
      }
    }
    await run(db, Hooked);
    expect(calls).toEqual(['setup', 'teardown:nope']);
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
    expect(queryDb(db.file, 'SELECT how, count(*) AS n FROM Derived GROUP BY how ORDER BY how')).toEqual([
      { how: 'array', n: 4 },
      { how: 'async', n: 2 },
      { how: 'generator', n: 6 },
      { how: 'one', n: 2 },
      { how: 'promise', n: 2 },
    ]);
  });

  test('when a step yields a string then it fails with a ValidationError naming the step and the value, and nothing of the chunk is kept', async () => {
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
    expect(stats.status).toBe('failed');
    expect(stats.error).toBeInstanceOf(ProcessorError);
    expect(stats.error!.cause).toBeInstanceOf(ValidationError);
    expect(stats.error!.message).toBe("Chatty failed on row id=1: Chatty produced 'hello' (string); it must produce model instances");
    expect(queryDb(db.file, 'SELECT count(*) AS n FROM Derived')).toEqual([{ n: 0 }]);
  });

  test('when a step returns a plain object then it fails with a ValidationError', async () => {
    const db = await withItems(1);
    class Plain extends Step<Item> {
      static override model = Item;
      static override conditions = [];
      process() {
        return { how: 'plain' } as never;
      }
    }
    const stats = await run(db, Plain);
    expect(stats.error!.cause).toBeInstanceOf(ValidationError);
    expect(stats.error!.message).toContain('Plain produced {"how":"plain"} (object)');
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
