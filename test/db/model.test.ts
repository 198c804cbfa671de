import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { boolean, datetime, float, integer, json, string, text } from '../../src/db/columns.js';
import { ROW_STATE, describeKey, foreignKeys, hydrate, isModelClass, isModelInstance, model } from '../../src/db/model.js';
import { toDb } from '../../src/db/values.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { DIST_DIR } from '../helpers/paths.js';
import { useUnitDb } from '../helpers/unit-db.js';

class Planet extends model('Planet', {
  id: integer().primaryKey(),
  name: string(40).notNull().unique(),
  mass: float(),
  habitable: boolean().notNull().default(false),
  found: datetime(),
  extra: json(),
  notes: text().describe('free text'),
}) {}

describe('column builders', () => {
  test('when a column is declared then its spec records kind, length and nullability', () => {
    expect(string(40).spec).toMatchObject({ kind: 'string', length: 40, nullable: true, primaryKey: false });
    expect(string().spec.length).toBe(255);
    expect(float().notNull().spec.nullable).toBe(false);
    expect(integer().notNull().nullable().spec.nullable).toBe(true);
    expect(integer().primaryKey().spec).toMatchObject({ primaryKey: true, nullable: false });
    expect(boolean().default(true).spec).toMatchObject({ hasDefault: true, defaultValue: true });
    expect(text().unique().index().describe('why').spec).toMatchObject({ unique: true, index: true, description: 'why' });
  });

  test('when a builder method is called then the original column is left unchanged', () => {
    const base = integer();
    const strict = base.notNull();
    expect(base.spec.nullable).toBe(true);
    expect(strict.spec.nullable).toBe(false);
    expect(Object.isFrozen(strict.spec)).toBe(true);
  });

  test('when a column references "Table.column" then the foreign key names both', () => {
    expect(integer().references('Star.code', { onDelete: 'cascade' }).spec.references).toEqual({ table: 'Star', column: 'code', onDelete: 'cascade' });
    expect(integer().references('Star').spec.references).toEqual({ table: 'Star', column: undefined, onDelete: undefined });
  });

  test('when each kind is declared then it carries its kind name', () => {
    const kinds = [integer(), float(), string(), text(), boolean(), datetime(), json()].map((c) => c.spec.kind);
    expect(kinds).toEqual(['integer', 'float', 'string', 'text', 'boolean', 'datetime', 'json']);
  });
});

describe('model()', () => {
  test('when a model is declared then its table, columns and primary key are exposed on the class', () => {
    expect(Planet.table).toBe('Planet');
    expect(Planet.name).toBe('Planet');
    expect(Object.keys(Planet.columns)).toEqual(['id', 'name', 'mass', 'habitable', 'found', 'extra', 'notes']);
    expect(Planet.primaryKey).toEqual(['id']);
    expect(isModelClass(Planet)).toBe(true);
    expect(isModelClass({ table: 'Planet' })).toBe(false);
  });

  test('when several columns are primary keys then the key is composite, in declaration order', () => {
    const Obs = model('Obs', { night: integer().primaryKey(), survey: string().primaryKey(), flux: float() });
    expect(Obs.primaryKey).toEqual(['night', 'survey']);
    expect(describeKey(Obs, { night: 3, survey: 'A' })).toBe('night=3, survey=A');
  });

  test('when a model has no primary key then an ImproperlyConfigured names its table', () => {
    expect(() => model('Loose', { a: integer(), b: string() })).toThrow(ImproperlyConfigured);
    expect(() => model('Loose', { a: integer(), b: string() })).toThrow(/table 'Loose' has no primary key/);
  });

  test('when an index lists an unknown column then an ImproperlyConfigured names the column', () => {
    expect(() => model('T', { id: integer().primaryKey() }, { indexes: [['nope']] })).toThrow(/unknown column 'nope'/);
  });

  test('when the table name is missing then an ImproperlyConfigured says so', () => {
    expect(() => model('', { id: integer().primaryKey() })).toThrow(ImproperlyConfigured);
  });

  test('when an instance is constructed then it holds the given values and is not persisted', () => {
    const planet = new Planet({ name: 'Earth', mass: 1 });
    expect(isModelInstance(planet)).toBe(true);
    expect(planet.name).toBe('Earth');
    expect(planet.model).toBe(Planet);
    expect(planet[ROW_STATE]).toBeUndefined();
    expect(String(planet)).toBe('<Planet id=unsaved>');
  });

  test('when foreign keys are declared then foreignKeys() resolves table and target column', () => {
    const Star = model('Star', { code: string().primaryKey() });
    const Orbit = model('Orbit', {
      id: integer().primaryKey(),
      star: string().references(() => Star),
      planet_id: integer().references('Planet'),
    });
    expect(foreignKeys(Orbit)).toEqual([
      { column: 'star', table: 'Star', targetColumn: 'code' },
      { column: 'planet_id', table: 'Planet', targetColumn: 'id' },
    ]);
  });
});

describe('hydrate()', () => {
  test('when a stored row is hydrated then values are converted back and the row counts as persisted', () => {
    const when = new Date('2020-01-02T03:04:05.678Z');
    const row = hydrate(Planet, { id: 7, name: 'Mars', mass: 0.1, habitable: 0, found: when.getTime(), extra: '{"moons":2}', notes: null }) as Planet;
    expect(row).toBeInstanceOf(Planet);
    expect(row.id).toBe(7);
    expect(row.habitable).toBe(false);
    expect(row.found).toEqual(when);
    expect(row.extra).toEqual({ moons: 2 });
    expect(row.notes).toBeNull();
    expect(row[ROW_STATE]).toMatchObject({ persisted: true });
    expect(row.toJSON()).toEqual({ id: 7, name: 'Mars', mass: 0.1, habitable: false, found: when, extra: { moons: 2 }, notes: null });
  });

  test('when a stored row lacks a column then the hydrated instance has null there', () => {
    const row = hydrate(Planet, { id: 1, name: 'X' }) as Planet;
    expect(row.mass).toBeNull();
    expect(row.habitable).toBeNull();
  });
});

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  describe('hydrate() on what the database returns', () => {
    test('when a row is written with toDb values and read back raw then hydrate gives the JavaScript values again', async () => {
      const db = await openDb({ models: [Planet] });
      const found = new Date('2020-01-02T03:04:05.678Z');
      const values = { name: 'Mars', mass: 0.107, habitable: true, found, extra: { moons: ['Phobos', 'Deimos'], n: 2 }, notes: null };
      const stored: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(values)) stored[name] = toDb(Planet.columns[name as keyof typeof Planet.columns].spec, value, dialect);
      await db.engine.knex('Planet').insert(stored);
      const [raw] = (await db.engine.knex('Planet').select('*')) as Record<string, unknown>[];
      // What each database hands back differs (1 or true, milliseconds or a Date, text or an object)...
      if (dialect === 'sqlite') expect(raw).toMatchObject({ habitable: 1, found: found.getTime(), extra: '{"moons":["Phobos","Deimos"],"n":2}' });
      else expect(raw).toMatchObject({ habitable: true, found, extra: { moons: ['Phobos', 'Deimos'], n: 2 } });
      // ...and the instance is the same.
      const planet = hydrate(Planet, raw!) as Planet;
      expect(planet.toJSON()).toEqual({ id: 1, ...values });
      expect(planet.found).toBeInstanceOf(Date);
      expect(planet[ROW_STATE]).toMatchObject({ persisted: true });
    });

    test('when a unique column gets a duplicate then the database refuses it and the first row still reads back', async () => {
      const db = await openDb({ models: [Planet] });
      await db.engine.knex('Planet').insert([{ name: "O'Neill", habitable: toDb(Planet.columns.habitable.spec, false, dialect) }]);
      await expect(db.engine.knex('Planet').insert([{ name: "O'Neill", habitable: toDb(Planet.columns.habitable.spec, false, dialect) }])).rejects.toThrow(
        /UNIQUE constraint failed|duplicate key value/,
      );
      const [raw] = (await db.engine.knex('Planet').where({ name: "O'Neill" })) as Record<string, unknown>[];
      expect((hydrate(Planet, raw!) as Planet).habitable).toBe(false);
    });
  });
});


describe('rows where Node forbids generating code', () => {
  test('when code generation from strings is disallowed then rows are hydrated, compared and inserted the same way', () => {
    // The per-model hot paths are generated functions; under this flag each keeps its general loop.
    const program = [
      `const { boolean, integer, json } = await import(${JSON.stringify(pathToFileURL(path.join(DIST_DIR, 'db', 'columns.js')).href)});`,
      `const { model, hydrate, hydrateValues, ROW_STATE } = await import(${JSON.stringify(pathToFileURL(path.join(DIST_DIR, 'db', 'model.js')).href)});`,
      `const { changeDetector, sqliteInsertPlan, snapshotOf } = await import(${JSON.stringify(pathToFileURL(path.join(DIST_DIR, 'db', 'store', 'layout.js')).href)});`,
      `class Note extends model('Note', { id: integer().primaryKey(), ok: boolean(), meta: json() }) {}`,
      `const a = hydrate(Note, { id: 1, ok: 1, meta: '{"k":2}' });`,
      `const b = hydrateValues(Note, ['meta', 'id', 'ok'], ['[3]', 2, 0]);`,
      `b.ok = true;`,
      `console.log(JSON.stringify({ a: a.toJSON(), b: b.toJSON(), aIsNote: a instanceof Note, original: b[ROW_STATE].original, detector: changeDetector(Note), plan: sqliteInsertPlan(Note), snapshot: snapshotOf(Note)(a) }));`,
    ].join('\n');
    const result = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', program], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      a: { id: 1, ok: true, meta: { k: 2 } },
      b: { id: 2, ok: true, meta: [3] },
      aIsNote: true,
      original: { id: 2, ok: false, meta: [3] },
      detector: null,
      plan: null,
      snapshot: { id: 1, ok: true, meta: { k: 2 } },
    });
  });
});
