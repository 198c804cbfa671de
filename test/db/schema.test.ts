import { describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { frameworkModels } from '../../src/db/bookkeeping/models.js';
import { bigint, boolean, datetime, float, integer, json, string } from '../../src/db/columns.js';
import { model, type ModelClass } from '../../src/db/model.js';
import { columnDefinition, createMissingTables, orderByDependencies } from '../../src/db/schema.js';
import { columnNames, columnTypes, foreignKeysOf, indexesOf, primaryKeyColumns, tableNames } from '../helpers/introspect.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { selectRows, useUnitDb } from '../helpers/unit-db.js';

class Galaxy extends model('Galaxy', { id: integer().primaryKey(), name: string().notNull() }) {}
class Cluster extends model('Cluster', { id: integer().primaryKey(), galaxy_id: integer().notNull().references('Galaxy') }) {}
class Member extends model('Member', {
  id: integer().primaryKey(),
  cluster_id: integer().references(() => Cluster),
  galaxy_id: integer().references('Galaxy.id'),
}) {}

describe('orderByDependencies', () => {
  test('when models reference each other then each table comes after the tables it references', () => {
    const ordered = orderByDependencies([Member, Cluster, Galaxy]).map((m) => m.table);
    expect(ordered).toEqual(['Galaxy', 'Cluster', 'Member']);
  });

  test('when models have no references then their order is kept', () => {
    const A = model('A', { id: integer().primaryKey() });
    const B = model('B', { id: integer().primaryKey() });
    expect(orderByDependencies([B, A]).map((m) => m.table)).toEqual(['B', 'A']);
  });

  test('when two models reference each other then each comes once, in the order given', () => {
    const Egg: ModelClass = model('Egg', { id: integer().primaryKey(), hen_id: integer().references(() => Hen) });
    const Hen: ModelClass = model('Hen', { id: integer().primaryKey(), egg_id: integer().references(() => Egg) });
    expect(orderByDependencies([Egg, Hen]).map((m) => m.table)).toEqual(['Hen', 'Egg']);
    expect(orderByDependencies([Hen, Egg]).map((m) => m.table)).toEqual(['Egg', 'Hen']);
  });
});

describe('columnDefinition', () => {
  test('when a key names a table of no known model then it references that table\'s id', () => {
    const Ref = model('Ref', { id: integer().primaryKey(), other_id: integer().references('Elsewhere') });
    expect(columnDefinition(Ref, 'other_id', 'sqlite').foreign).toEqual([
      { method: 'foreign', args: ['other_id'] },
      { method: 'references', args: ['id'] },
      { method: 'inTable', args: ['Elsewhere'] },
    ]);
  });

  test('when a primary key is declared nullable then it is not declared NULL, and a bigint key is numbered by the database', () => {
    const Keyed = model('Keyed', { code: string(8).primaryKey().nullable() });
    expect(columnDefinition(Keyed, 'code', 'postgres').column).toEqual([{ method: 'string', args: ['code', 8] }]);
    const Big = model('Big', { id: bigint().primaryKey() });
    expect(columnDefinition(Big, 'id', 'postgres').column).toEqual([{ method: 'bigIncrements', args: ['id', { primaryKey: true }] }, { method: 'notNullable', args: [] }]);
  });
});

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);
  const FOREIGN_KEY_VIOLATION = /FOREIGN KEY constraint failed|violates foreign key constraint/;
  const UNIQUE_VIOLATION = /UNIQUE constraint failed|duplicate key value violates unique constraint/;

  describe('createMissingTables', () => {
    test("when tables are missing then they are created with corral's own tables, children after parents", async () => {
      const db = await openDb({ models: [Member, Cluster, Galaxy] });
      const { engine } = db;
      // useUnitDb already ran createMissingTables once.
      expect(await tableNames(db)).toEqual(['Cluster', 'Galaxy', 'Member', 'corral_alerted', 'corral_failures', 'corral_runs']);
      expect(await foreignKeysOf(db, 'Member')).toEqual([
        { table: 'Cluster', from: 'cluster_id' },
        { table: 'Galaxy', from: 'galaxy_id' },
      ]);
      await engine.knex('Galaxy').insert({ name: 'M31' });
      await expect(engine.knex('Cluster').insert({ galaxy_id: 99 })).rejects.toThrow(FOREIGN_KEY_VIOLATION);
    });

    test("when corral's own tables are created then each remembers a row once per processor", async () => {
      const db = await openDb({ models: [Galaxy] });
      expect(await columnNames(db, 'corral_failures')).toEqual([
        'id', 'processor', 'model_table', 'model_key', 'error', 'stack', 'attempts', 'first_at', 'last_at', 'next_at', 'quarantined',
      ]);
      expect(await columnNames(db, 'corral_runs')).toEqual([
        'id', 'processor', 'kind', 'host', 'pid', 'partition', 'started_at', 'heartbeat_at', 'ended_at', 'rows_done', 'rows_failed', 'in_flight', 'status', 'error', 'session', 'wrote',
      ]);
      // Keyed by what an alert remembers: no numbered id, no index beside the key.
      expect(await columnNames(db, 'corral_alerted')).toEqual(['alert', 'model_table', 'model_key', 'created_at']);
      expect(await primaryKeyColumns(db, 'corral_alerted')).toEqual(['alert', 'model_table', 'model_key']);
      expect(await indexesOf(db, 'corral_alerted')).toEqual([]);
      if (dialect === 'sqlite') {
        const [table] = (await db.engine.knex.raw("SELECT sql FROM sqlite_master WHERE name = 'corral_alerted'")) as { sql: string }[];
        expect(table!.sql).toMatch(/WITHOUT ROWID$/);
      }
      const alerted = { alert: 'A', model_table: 'Galaxy', model_key: '1', created_at: new Date() };
      await db.engine.knex('corral_alerted').insert(alerted);
      await expect(db.engine.knex('corral_alerted').insert(alerted)).rejects.toThrow(UNIQUE_VIOLATION);
      expect(await indexesOf(db, 'corral_failures')).toEqual([{ columns: 'processor,model_table,model_key', unique: true }]);
      expect(await indexesOf(db, 'corral_runs')).toEqual([{ columns: 'processor,started_at', unique: false }]);
      const when = new Date();
      const failure = { processor: 'S', model_table: 'Galaxy', model_key: '1', error: 'x', attempts: 1, first_at: when, last_at: when, next_at: when };
      await db.engine.knex('corral_failures').insert(failure);
      await expect(db.engine.knex('corral_failures').insert(failure)).rejects.toThrow(UNIQUE_VIOLATION);
      expect(await selectRows(db, (k) => k('corral_failures').select('quarantined'), ['quarantined'])).toEqual([{ quarantined: false }]);
    });

    test('when called again then existing tables are left alone and their rows survive', async () => {
      const db = await openDb({ models: [Galaxy] });
      const { engine } = db;
      await engine.knex('Galaxy').insert({ name: 'Milky Way' });
      const second = await createMissingTables(engine, [Galaxy]);
      expect(second).toEqual({ created: [], existing: ['Galaxy'], added: [] });
      expect(await selectRows(db, (k) => k('Galaxy').select('name'))).toEqual([{ name: 'Milky Way' }]);
    });

    test('when a model gains a column then the existing table is not altered', async () => {
      const db = await openDb({ models: [Galaxy] });
      const { engine } = db;
      await engine.knex('Galaxy').insert({ name: 'kept' });
      const Wider = model('Galaxy', { id: integer().primaryKey(), name: string().notNull(), redshift: float() });
      const New = model('Newcomer', { id: integer().primaryKey() });
      const result = await createMissingTables(engine, [Wider, New]);
      expect(result).toEqual({ created: ['Newcomer'], existing: ['Galaxy'], added: [] });
      expect(await columnNames(db, 'Galaxy')).toEqual(['id', 'name']);
      expect(await selectRows(db, (k) => k('Galaxy').select('name'))).toEqual([{ name: 'kept' }]);
    });

    test("when corral's own table lacks a column a newer corral added then it is added, and its rows survive", async () => {
      const db = await openDb({ models: [Galaxy] });
      const { engine } = db;
      await engine.knex.schema.alterTable('corral_runs', (table) => table.dropColumn('wrote'));
      await engine.knex('corral_runs').insert({ processor: 'P', kind: 'step', host: 'h', pid: 1, started_at: engine.dialect === 'sqlite' ? 1 : new Date(1), heartbeat_at: engine.dialect === 'sqlite' ? 1 : new Date(1), rows_done: 0, rows_failed: 0, status: 'ok' });
      const result = await createMissingTables(engine, [Galaxy, ...frameworkModels]);
      expect(result.added).toEqual(['corral_runs.wrote']);
      expect(result.created).toEqual([]);
      expect(await columnNames(db, 'corral_runs')).toContain('wrote');
      expect(await selectRows(db, (k) => k('corral_runs').select('processor', 'wrote'))).toEqual([{ processor: 'P', wrote: null }]);
    });

    test('when two models share a table name then an ImproperlyConfigured names both', async () => {
      const { engine } = await openDb({ models: [Galaxy] });
      const Twin = model('Galaxy', { id: integer().primaryKey() });
      class OtherGalaxy extends Twin {}
      await expect(createMissingTables(engine, [Galaxy, OtherGalaxy])).rejects.toThrow(ImproperlyConfigured);
      await expect(createMissingTables(engine, [Galaxy, OtherGalaxy])).rejects.toThrow(/Galaxy and OtherGalaxy both use table 'Galaxy'/);
    });

    test('when a composite primary key, indexes and uniques are declared then the table has them', async () => {
      const Obs = model('Obs', { night: integer().primaryKey(), survey: string().primaryKey(), flux: float().index() }, { uniques: [['survey', 'flux']] });
      const db = await openDb({ models: [Obs] });
      const { engine } = db;
      expect(await primaryKeyColumns(db, 'Obs')).toEqual(['night', 'survey']);
      await engine.knex('Obs').insert({ night: 1, survey: 'A', flux: 1 });
      await engine.knex('Obs').insert({ night: 1, survey: 'B', flux: 1 });
      await expect(engine.knex('Obs').insert({ night: 1, survey: 'A', flux: 2 })).rejects.toThrow(UNIQUE_VIOLATION);
      await expect(engine.knex('Obs').insert({ night: 2, survey: 'A', flux: 1 })).rejects.toThrow(UNIQUE_VIOLATION);
      expect(await indexesOf(db, 'Obs')).toEqual([
        { columns: 'flux', unique: false },
        { columns: 'survey,flux', unique: true },
      ]);
    });

    test('when the primary key is a string then it is the PRIMARY KEY: duplicates are refused and a foreign key can reference it', async () => {
      const Survey = model('Survey', { code: string(12).primaryKey(), title: string() });
      const Night = model('Night', { id: integer().primaryKey(), survey_code: string(12).notNull().references('Survey') });
      const db = await openDb({ models: [Survey, Night] });
      const { engine } = db;
      expect(await primaryKeyColumns(db, 'Survey')).toEqual(['code']);
      expect(await foreignKeysOf(db, 'Night')).toEqual([{ table: 'Survey', from: 'survey_code' }]);
      await engine.knex('Survey').insert({ code: 'TOROS', title: 'first' });
      await expect(engine.knex('Survey').insert({ code: 'TOROS', title: 'again' })).rejects.toThrow(UNIQUE_VIOLATION);
      await engine.knex('Night').insert({ survey_code: 'TOROS' });
      await expect(engine.knex('Night').insert({ survey_code: 'NONE' })).rejects.toThrow(FOREIGN_KEY_VIOLATION);
    });

    test('when columns of every kind are declared then each gets the type of its dialect', async () => {
      const Kinds = model('Kinds', { id: integer().primaryKey(), s: string(20), f: float(), b: boolean(), d: datetime(), j: json() });
      const db = await openDb({ models: [Kinds] });
      const types = await columnTypes(db, 'Kinds');
      expect(types).toEqual(
        dialect === 'postgres'
          ? { id: 'integer', s: 'character varying', f: 'double precision', b: 'boolean', d: 'timestamp with time zone', j: 'jsonb' }
          : { id: 'integer', s: 'varchar(20)', f: 'float', b: 'boolean', d: 'datetime', j: 'text' },
      );
    });
  });
});
