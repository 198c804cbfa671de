import { describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { float, integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { createMissingTables, orderByDependencies } from '../../src/db/schema.js';
import { queryDb, tablesOf } from '../helpers/sqlite.js';
import { useUnitDb } from '../helpers/unit-db.js';

class Galaxy extends model('Galaxy', { id: integer().primaryKey(), name: string().notNull() }) {}
class Cluster extends model('Cluster', { id: integer().primaryKey(), galaxy_id: integer().notNull().references('Galaxy') }) {}
class Member extends model('Member', {
  id: integer().primaryKey(),
  cluster_id: integer().references(() => Cluster),
  galaxy_id: integer().references('Galaxy.id'),
}) {}

const openDb = useUnitDb();

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
});

describe('createMissingTables', () => {
  test('when tables are missing then they are created with the framework table, children after parents', async () => {
    const { file, engine } = await openDb({ models: [Member, Cluster, Galaxy] });
    // useUnitDb already ran createMissingTables once.
    expect(tablesOf(file)).toEqual(['Cluster', 'Galaxy', 'Member', 'corral_alerted']);
    const fks = queryDb<{ table: string; from: string }>(file, "SELECT \"table\", \"from\" FROM pragma_foreign_key_list('Member') ORDER BY \"from\"");
    expect(fks).toEqual([
      { table: 'Cluster', from: 'cluster_id' },
      { table: 'Galaxy', from: 'galaxy_id' },
    ]);
    await engine.knex('Galaxy').insert({ name: 'M31' });
    await expect(engine.knex('Cluster').insert({ galaxy_id: 99 })).rejects.toThrow(/FOREIGN KEY/);
  });

  test('when called again then existing tables are left alone and their rows survive', async () => {
    const { engine, file } = await openDb({ models: [Galaxy] });
    await engine.knex('Galaxy').insert({ name: 'Milky Way' });
    const second = await createMissingTables(engine, [Galaxy]);
    expect(second).toEqual({ created: [], existing: ['Galaxy'] });
    expect(queryDb(file, 'SELECT name FROM Galaxy')).toEqual([{ name: 'Milky Way' }]);
  });

  test('when a model gains a column then the existing table is not altered', async () => {
    const { engine, file } = await openDb({ models: [Galaxy] });
    await engine.knex('Galaxy').insert({ name: 'kept' });
    const Wider = model('Galaxy', { id: integer().primaryKey(), name: string().notNull(), redshift: float() });
    const New = model('Newcomer', { id: integer().primaryKey() });
    const result = await createMissingTables(engine, [Wider, New]);
    expect(result).toEqual({ created: ['Newcomer'], existing: ['Galaxy'] });
    const columns = queryDb<{ name: string }>(file, "SELECT name FROM pragma_table_info('Galaxy')").map((c) => c.name);
    expect(columns).toEqual(['id', 'name']);
    expect(queryDb(file, 'SELECT name FROM Galaxy')).toEqual([{ name: 'kept' }]);
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
    const { engine, file } = await openDb({ models: [Obs] });
    const pk = queryDb<{ name: string; pk: number }>(file, "SELECT name, pk FROM pragma_table_info('Obs') WHERE pk > 0 ORDER BY pk");
    expect(pk).toEqual([{ name: 'night', pk: 1 }, { name: 'survey', pk: 2 }]);
    await engine.knex('Obs').insert({ night: 1, survey: 'A', flux: 1 });
    await expect(engine.knex('Obs').insert({ night: 2, survey: 'A', flux: 1 })).rejects.toThrow(/UNIQUE/);
    const indexed = queryDb<{ columns: string; unique: number }>(
      file,
      "SELECT group_concat(ii.name) AS columns, il.\"unique\" AS \"unique\" FROM pragma_index_list('Obs') il, pragma_index_info(il.name) ii WHERE il.origin = 'c' GROUP BY il.name ORDER BY columns",
    );
    expect(indexed).toEqual([
      { columns: 'flux', unique: 0 },
      { columns: 'survey,flux', unique: 1 },
    ]);
  });
});
