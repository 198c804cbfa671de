import { describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { checkConditions, conditionWarnings, conditionsToSql, applyConditions, type Condition } from '../../src/db/conditions.js';
import { boolean, datetime, float, integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { useUnitDb, type UnitDb } from '../helpers/unit-db.js';

class Source extends model('Source', {
  id: integer().primaryKey(),
  name: string().notNull(),
  mag: float(),
  status: string(),
}) {}

const ROWS = [
  { name: 'a', mag: 10, status: 'raw' },
  { name: 'b', mag: 12, status: 'raw' },
  { name: 'c', mag: 14, status: 'done' },
  { name: 'd', mag: null, status: null },
  { name: "e'; DROP TABLE Source; --", mag: 16, status: 'raw' },
];

const openSqlite = useUnitDb();

async function namesMatching(openDb: (user: { models: typeof Source[] }) => Promise<UnitDb>, conditions: readonly Condition[]): Promise<string[]> {
  const { engine } = await openDb({ models: [Source] });
  await engine.knex('Source').insert(ROWS);
  checkConditions('TestStep', Source, conditions);
  const rows = (await applyConditions(engine.knex('Source').select('name'), conditions).orderBy('id')) as { name: string }[];
  return rows.map((r) => r.name.slice(0, 1));
}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  describe('condition forms select the right rows', () => {
    test.each<[string, Condition[], string[]]>([
      ['an empty list', [], ['a', 'b', 'c', 'd', 'e']],
      ['an object (equality, ANDed)', [{ status: 'raw', mag: 12 }], ['b']],
      ['an object with null (IS NULL)', [{ mag: null }], ['d']],
      ['a [column, value] pair', [['status', 'done']], ['c']],
      ['a [column, null] pair', [['status', null]], ['d']],
      ['a [column, op, value] triple', [['mag', '<', 13]], ['a', 'b']],
      ["'is not', null", [['mag', 'is not', null]], ['a', 'b', 'c', 'e']],
      ["'in'", [['name', 'in', ['a', 'c']]], ['a', 'c']],
      ["'not in'", [['status', 'not in', ['raw']]], ['c']],
      ["'between'", [['mag', 'between', [11, 15]]], ['b', 'c']],
      ["'like'", [['name', 'like', 'e%']], ['e']],
      ['several conditions (ANDed)', [{ status: 'raw' }, ['mag', '>=', 12]], ['b', 'e']],
      ['a function (OR)', [(q) => q.where('mag', '<', 11).orWhere('status', 'done')], ['a', 'c']],
    ])('when the condition is %s then the matching rows are selected', async (_label, conditions, expected) => {
      expect(await namesMatching(openDb, conditions)).toEqual(expected);
    });

    test('when the condition is knex.raw then its SQL and bindings apply', async () => {
      const { engine } = await openDb({ models: [Source] });
      await engine.knex('Source').insert(ROWS);
      const raw = engine.knex.raw('?? > ? AND ?? IS NOT NULL', ['mag', 13, 'status']);
      const rows = (await applyConditions(engine.knex('Source').select('name'), [raw]).orderBy('id')) as { name: string }[];
      expect(rows.map((r) => r.name.slice(0, 1))).toEqual(['c', 'e']);
    });
  });

  describe('condition values of converted kinds', () => {
    test('when a condition compares a boolean or a Date then it matches the stored representation', async () => {
      const Visit = model('Visit', { id: integer().primaryKey(), done: boolean().notNull(), at: datetime().notNull() });
      const { engine } = await openDb({ models: [Visit] });
      await engine.inTransaction(async (tx) => {
        await tx.save(new Visit({ done: true, at: new Date('2020-01-01T00:00:00Z') }));
        await tx.save(new Visit({ done: false, at: new Date('2021-01-01T00:00:00Z') }));
        await tx.save(new Visit({ done: true, at: new Date('2022-01-01T00:00:00Z') }));
      });
      const ids = async (conditions: Condition[]) =>
        ((await applyConditions(engine.knex('Visit').select('id'), conditions).orderBy('id')) as { id: number }[]).map((r) => r.id);
      expect(await ids([{ done: true }])).toEqual([1, 3]);
      expect(await ids([['at', '>', new Date('2020-06-01T00:00:00Z')]])).toEqual([2, 3]);
      expect(await ids([{ done: true }, ['at', 'between', [new Date('2021-06-01T00:00:00Z'), new Date('2023-01-01T00:00:00Z')]]])).toEqual([3]);
    });
  });

});

describe('conditions are checked against the model', () => {
  test('when a condition names an unknown column then ImproperlyConfigured names the owner, the column and the known ones', () => {
    expect(() => checkConditions('MyStep', Source, [{ magnitude: 3 }])).toThrow(ImproperlyConfigured);
    expect(() => checkConditions('MyStep', Source, [{ magnitude: 3 }])).toThrow("MyStep: condition on unknown column 'magnitude' of Source");
    expect(() => checkConditions('MyStep', Source, [['magnitude', '<', 3]])).toThrow(/unknown column 'magnitude'/);
    try {
      checkConditions('MyStep', Source, [{ magnitude: 3 }]);
    } catch (error) {
      expect((error as ImproperlyConfigured).hint).toBe('Source has: id, name, mag, status');
    }
  });

  test('when a condition uses an unknown operator then ImproperlyConfigured names it', () => {
    expect(() => checkConditions('MyStep', Source, [['mag', '=~', 3]])).toThrow("MyStep: unknown operator '=~' in condition on 'mag'");
  });

  test('when a list condition has the wrong length then ImproperlyConfigured shows it', () => {
    expect(() => checkConditions('MyStep', Source, [['mag']])).toThrow(/is not \[column, value\] or \[column, operator, value\]/);
  });

  test('when conditions are not a list then ImproperlyConfigured says so', () => {
    expect(() => checkConditions('MyStep', Source, { mag: 1 } as never)).toThrow('MyStep.conditions must be a list');
  });

  test('when a condition is neither object, list, function nor raw then ImproperlyConfigured says what it got', () => {
    expect(() => checkConditions('MyStep', Source, ['mag' as never])).toThrow(/a condition must be an object/);
  });
});

describe('conditionsToSql', () => {
  test('when values are given then they are bound as parameters, never spliced into the SQL', async () => {
    const { engine } = await openSqlite({ models: [Source] });
    const evil = "x'); DROP TABLE Source; --";
    const { sql, bindings } = conditionsToSql(engine.knex, Source, [{ name: evil }, ['mag', '<', 12], ['status', 'in', ['raw', 'done']]]);
    expect(sql).toBe('`name` = ? and `mag` < ? and `status` in (?, ?)');
    expect(sql).not.toContain('DROP');
    expect(bindings).toEqual([evil, 12, 'raw', 'done']);
  });

  test('when a condition is IS NULL then no binding is produced', async () => {
    const { engine } = await openSqlite({ models: [Source] });
    expect(conditionsToSql(engine.knex, Source, [{ mag: null }, ['status', 'is not', null]])).toEqual({
      sql: '`mag` is null and `status` is not null',
      bindings: [],
    });
  });

  test('when there are no conditions then the WHERE clause is empty', async () => {
    const { engine } = await openSqlite({ models: [Source] });
    expect(conditionsToSql(engine.knex, Source, [])).toEqual({ sql: '', bindings: [] });
  });

  test('when a value looks like SQL then querying with it matches it literally', async () => {
    expect(await namesMatching(openSqlite, [{ name: "e'; DROP TABLE Source; --" }])).toEqual(['e']);
  });
});

describe('conditions that are valid but surely a mistake', () => {
  test('when a between has its bounds reversed (the paper\'s dec.between(-29.007, -29.008)) then one warning names the owner, the column and the bounds', () => {
    expect(conditionWarnings('MyStep', [['mag', 'between', [-29.007, -29.008]]])).toEqual([
      "MyStep: condition on 'mag' between [-29.007, -29.008] has its bounds reversed and matches no row; write [-29.008, -29.007]",
    ]);
    expect(conditionWarnings('MyStep', [['mag', 'NOT BETWEEN', [new Date('2020-01-02T00:00:00Z'), new Date('2020-01-01T00:00:00Z')]]])).toEqual([
      "MyStep: condition on 'mag' not between [2020-01-02T00:00:00.000Z, 2020-01-01T00:00:00.000Z] has its bounds reversed and matches every row; write [2020-01-01T00:00:00.000Z, 2020-01-02T00:00:00.000Z]",
    ]);
  });

  test('when bounds are in order, equal, or not comparable then there is no warning', () => {
    expect(conditionWarnings('MyStep', [['mag', 'between', [-29.008, -29.007]], ['mag', 'between', [3, 3]], ['name', 'between', ['b', 'a']], { mag: 1 }, ['mag', '<', 3]])).toEqual([]);
  });

  test('when the bounds are reversed then the condition indeed matches no row: the warning is the only sign', async () => {
    expect(await namesMatching(openSqlite, [['mag', 'between', [14, 10]]])).toEqual([]);
  });
});
