import { describe, expect, test, vi } from 'vitest';
import { DBError } from '../../src/core/errors.js';
import { boolean, datetime, float, integer, json, string } from '../../src/db/columns.js';
import { hasContext } from '../../src/db/context.js';
import { Engine } from '../../src/db/engine.js';
import { ROW_STATE, model, type ModelInstance } from '../../src/db/model.js';
import { queryDb } from '../helpers/sqlite.js';
import { useUnitDb } from '../helpers/unit-db.js';

class Star extends model('Star', {
  id: integer().primaryKey(),
  name: string(50).notNull(),
  mag: float(),
  variable: boolean().notNull().default(false),
  seen: datetime(),
  meta: json(),
}) {}

class Name extends model('Name', { id: integer().primaryKey(), name: string().notNull() }) {}
class Flower extends model('Flower', {
  id: integer().primaryKey(),
  petals: integer().notNull(),
  name_id: integer().references('Name'),
}) {}

const openDb = useUnitDb();

describe('Transaction.save', () => {
  test('when a new instance is saved then it is inserted and gets its id and defaults back', async () => {
    const { engine, file } = await openDb({ models: [Star] });
    const star = new Star({ name: 'Vega', mag: 0.03 });
    const wrote = await engine.inTransaction((tx) => tx.save(star));
    expect(wrote).toBe(true);
    expect(star.id).toBe(1);
    expect(star.variable).toBe(false);
    expect(star.seen).toBeNull();
    expect(star[ROW_STATE]).toMatchObject({ persisted: true });
    expect(queryDb(file, 'SELECT id, name, mag, variable, seen, meta FROM Star')).toEqual([
      { id: 1, name: 'Vega', mag: 0.03, variable: 0, seen: null, meta: null },
    ]);
  });

  test('when a saved instance is saved again unchanged then nothing is written', async () => {
    const { engine } = await openDb({ models: [Star] });
    const star = new Star({ name: 'Deneb' });
    await engine.inTransaction((tx) => tx.save(star));
    expect(await engine.inTransaction((tx) => tx.save(star))).toBe(false);
  });

  test('when one column of a saved row changes then only that column is updated', async () => {
    const { engine, file } = await openDb({ models: [Star] });
    const star = new Star({ name: 'Altair', mag: 0.77 });
    await engine.inTransaction((tx) => tx.save(star));
    // Another writer changes `mag` behind this instance's back: an update of `name` alone must keep it.
    await engine.knex('Star').where({ id: star.id }).update({ mag: 9.9 });
    star.name = 'Altair A';
    expect(await engine.inTransaction((tx) => tx.save(star))).toBe(true);
    expect(queryDb(file, 'SELECT name, mag FROM Star')).toEqual([{ name: 'Altair A', mag: 9.9 }]);
  });

  test('when a hydrated row is changed and saved then the update targets its primary key', async () => {
    const { engine, file } = await openDb({ models: [Star] });
    await engine.inTransaction(async (tx) => {
      await tx.save(new Star({ name: 'a' }));
      await tx.save(new Star({ name: 'b' }));
    });
    const [first] = await engine.inTransaction(async (tx) => {
      const { hydrate } = await import('../../src/db/model.js');
      const raw = (await tx.db('Star').where({ name: 'b' })) as Record<string, unknown>[];
      return raw.map((r) => hydrate(Star, r) as Star);
    });
    first!.variable = true;
    await engine.inTransaction((tx) => tx.save(first!));
    expect(queryDb(file, 'SELECT name, variable FROM Star ORDER BY id')).toEqual([
      { name: 'a', variable: 0 },
      { name: 'b', variable: 1 },
    ]);
  });

  test('when a transaction throws then its writes are rolled back', async () => {
    const { engine, file } = await openDb({ models: [Star] });
    await expect(
      engine.inTransaction(async (tx) => {
        await tx.save(new Star({ name: 'lost' }));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(queryDb(file, 'SELECT * FROM Star')).toEqual([]);
    expect(hasContext()).toBe(false);
  });

  test('when a row is deleted then it is gone and saving it again writes nothing', async () => {
    const { engine, file } = await openDb({ models: [Star] });
    const star = new Star({ name: 'gone' });
    await engine.inTransaction((tx) => tx.save(star));
    await engine.inTransaction((tx) => tx.delete(star));
    expect(await engine.inTransaction((tx) => tx.save(star))).toBe(false);
    expect(queryDb(file, 'SELECT * FROM Star')).toEqual([]);
  });
});

describe('value round trips', () => {
  test('when booleans, dates, JSON and nulls are saved then reading the row back gives the same values', async () => {
    const { engine } = await openDb({ models: [Star] });
    const seen = new Date('2021-06-01T12:34:56.789Z');
    const values = [
      { name: 'full', mag: -1.5, variable: true, seen, meta: { bands: ['g', 'r'], n: 2, ok: true, nested: { x: null } } },
      { name: 'empty', mag: null, variable: false, seen: null, meta: null },
      { name: 'scalar-json', mag: 0, variable: false, seen: new Date(0), meta: [1, 'two', null] },
    ];
    await engine.inTransaction(async (tx) => {
      for (const v of values) await tx.save(new Star(v));
    });
    const read = await engine.inTransaction(async (tx) => {
      const { hydrate } = await import('../../src/db/model.js');
      const raw = (await tx.db('Star').orderBy('id')) as Record<string, unknown>[];
      return raw.map((r) => (hydrate(Star, r) as ModelInstance).toJSON());
    });
    expect(read).toEqual(values.map((v, i) => ({ id: i + 1, ...v })));
    expect(read[0]!.seen).toBeInstanceOf(Date);
  });
});

describe('related and relatedMany', () => {
  test('when a row follows its foreign key then related() returns the referenced row and relatedMany() the referencing ones', async () => {
    const { engine } = await openDb({ models: [Name, Flower] });
    await engine.inTransaction(async (tx) => {
      const rose = new Name({ name: 'rose' });
      const lily = new Name({ name: 'lily' });
      await tx.save(rose);
      await tx.save(lily);
      await tx.save(new Flower({ petals: 5, name_id: rose.id }));
      await tx.save(new Flower({ petals: 6, name_id: lily.id }));
      await tx.save(new Flower({ petals: 7, name_id: rose.id }));
      await tx.save(new Flower({ petals: 0, name_id: null }));
    });
    await engine.inTransaction(async (tx) => {
      const { hydrate } = await import('../../src/db/model.js');
      const flowers = ((await tx.db('Flower').orderBy('id')) as Record<string, unknown>[]).map((r) => hydrate(Flower, r) as Flower);
      const name = await flowers[1]!.related(Name);
      expect(name).toBeInstanceOf(Name);
      expect(name?.name).toBe('lily');
      expect(await flowers[3]!.related(Name)).toBeNull();
      const rose = (await flowers[0]!.related(Name))!;
      const roses = await rose.relatedMany(Flower);
      expect(roses.map((f) => f.petals)).toEqual([5, 7]);
    });
  });

  test('when there is no foreign key between two models then related() names both', async () => {
    const { engine } = await openDb({ models: [Name, Flower, Star] });
    await engine.inTransaction(async () => {
      const flower = new Flower({ petals: 1 });
      await expect(flower.related(Star)).rejects.toThrow(/Flower has no foreign key to Star/);
    });
  });
});

describe('Engine.open', () => {
  test('when the SQLite folder does not exist then a DBError names the database and knex prints nothing', async () => {
    const printed = vi.spyOn(console, 'log');
    const label = 'sqlite:/nonexistent-corral-dir/x/db.sqlite';
    const opening = Engine.open({ knex: { client: 'better-sqlite3', connection: { filename: '/nonexistent-corral-dir/x/db.sqlite' }, useNullAsDefault: true }, label });
    await expect(opening).rejects.toThrow(DBError);
    await expect(opening).rejects.toThrow(/Cannot connect to the database \(sqlite:\/nonexistent-corral-dir/);
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
  });
});
