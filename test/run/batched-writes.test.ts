/**
 * The fast write paths (SQLite: prepared statements cached per column set, constant
 * defaults filled in before the INSERT; PostgreSQL: named prepared INSERTs and one
 * `UPDATE … FROM unnest(…)` per chunk and column set) must leave exactly the rows
 * that plain row-at-a-time knex statements leave. Both paths run here on twin tables
 * with the same data and the same changes, and the stored rows are compared.
 */
import type { Knex } from 'knex';
import { expect, test } from 'vitest';
import { bigint, boolean, datetime, float, integer, json, string, text } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { toDb } from '../../src/db/values.js';
import { executeProcessor } from '../../src/run/execute.js';
import { Loader } from '../../src/processors/loader.js';
import { Step } from '../../src/processors/step.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { useUnitDb, type UnitDb } from '../helpers/unit-db.js';

const columns = {
  id: integer().primaryKey(),
  label: string(40).notNull(),
  note: text(),
  count: integer().notNull().default(7),
  big: bigint(),
  ratio: float(),
  flag: boolean().notNull().default(false),
  maybe: boolean(),
  seen: datetime(),
  extra: json(),
  stage: string(20).notNull().default('new'),
};

class Fast extends model('FastRow', columns) {}
class Plain extends model('PlainRow', columns) {}

const ROWS = 1_000;
const CHUNK = 300;
const BASE = Date.UTC(2026, 0, 1, 12, 0, 0, 123);

/** Row i as the loader yields it: some columns left out (defaults, NULLs), some set. */
function initial(i: number): Record<string, unknown> {
  const row: Record<string, unknown> = { label: `row-${i}`, ratio: i % 5 === 0 ? null : i / 7 };
  if (i % 2 === 0) row.note = `note ${i} with 'quotes' and ünïcödé`;
  if (i % 3 === 0) row.count = i;
  if (i % 4 === 0) row.big = 2 ** 40 + i;
  if (i % 6 === 0) row.flag = true;
  if (i % 7 === 0) row.maybe = i % 14 === 0;
  if (i % 8 !== 0) row.seen = new Date(BASE + i * 1000);
  if (i % 9 !== 0) row.extra = { i, tags: ['a', `t${i % 4}`], nested: { ok: i % 2 === 0, none: null } };
  return row;
}

/** What the step does to row i: different rows change different sets of columns (or none). */
function change(row: Record<string, unknown>): void {
  const i = row.id as number;
  switch (i % 6) {
    case 0:
      row.note = null;
      row.flag = !row.flag;
      break;
    case 1:
      row.seen = row.seen ? new Date((row.seen as Date).getTime() + 86_400_000) : new Date(BASE);
      row.maybe = row.maybe === null ? false : null;
      break;
    case 2:
      row.extra = { replaced: true, list: [1, 2, 3], at: i };
      row.ratio = null;
      break;
    case 3:
      row.big = row.big === null ? -1 : null;
      row.count = (row.count as number) + 1;
      break;
    case 4:
      break; // nothing changes: nothing is written
    default:
      row.label = `${String(row.label)}-done`;
      row.extra = null;
      row.seen = null;
  }
  row.stage = i % 6 === 4 ? row.stage : 'done';
}

/** Every stored row of `table`, as the database hands it back, in key order. */
async function storedRows(knex: Knex, table: string): Promise<Record<string, unknown>[]> {
  return (await knex(table).select('*').orderBy('id')) as Record<string, unknown>[];
}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  async function bothPaths(): Promise<UnitDb> {
    const db = await openDb({ models: [Fast, Plain], chunkSize: CHUNK });
    const specs = Object.fromEntries(Object.entries(columns).map(([name, column]) => [name, column.spec]));

    // The fast path: a Loader and a Step, as a pipeline runs them.
    class FastLoader extends Loader {
      *generate() {
        for (let i = 1; i <= ROWS; i++) yield new Fast(initial(i) as Partial<Fast>);
      }
    }
    class FastStep extends Step<Fast> {
      static override model = Fast;
      static override conditions = [{ stage: 'new' }];
      process(row: Fast) {
        change(row as unknown as Record<string, unknown>);
      }
    }
    const loaded = await executeProcessor(FastLoader, { engine: db.engine, settings: db.settings, logger: db.logger });
    expect(loaded).toMatchObject({ status: 'ok', rows: ROWS });
    const stepped = await executeProcessor(FastStep, { engine: db.engine, settings: db.settings, logger: db.logger });
    expect(stepped).toMatchObject({ status: 'ok', rows: ROWS, failedRows: 0 });

    // The reference: one knex INSERT and one knex UPDATE per row, values converted the same way.
    const knex = db.engine.knex;
    for (let i = 1; i <= ROWS; i++) {
      const row = initial(i);
      const record: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(row)) record[name] = toDb(specs[name]!, value, dialect);
      await knex('PlainRow').insert(record);
    }
    for (const stored of await storedRows(knex, 'PlainRow')) {
      const before = Object.fromEntries(Object.entries(stored).map(([name, value]) => [name, fromStored(specs[name]!.kind, value)]));
      const after = { ...before };
      change(after);
      const set: Record<string, unknown> = {};
      for (const name of Object.keys(after)) {
        if (JSON.stringify(after[name]) !== JSON.stringify(before[name])) set[name] = toDb(specs[name]!, after[name], dialect);
      }
      if (Object.keys(set).length > 0) await knex('PlainRow').where({ id: stored.id }).update(set);
    }
    return db;
  }

  test('when a loader and a step write through the fast paths then the rows equal those written row by row with knex, NULLs, booleans, dates and JSON included', async () => {
    const db = await bothPaths();
    const fast = await storedRows(db.engine.knex, 'FastRow');
    const plain = await storedRows(db.engine.knex, 'PlainRow');
    expect(fast).toHaveLength(ROWS);
    expect(fast).toEqual(plain);

    // Spot checks of what the comparison covers, so that it cannot pass on empty or all-NULL rows.
    const byId = new Map(fast.map((row) => [Number(row.id), row]));
    const isTrue = (value: unknown) => value === true || value === 1;
    expect(byId.get(6)).toMatchObject({ note: null, count: 6, stage: 'done' });
    expect(isTrue(byId.get(6)!.flag)).toBe(false); // true, toggled
    expect(isTrue(byId.get(5)!.flag)).toBe(false); // the default, left alone
    expect(byId.get(10)).toMatchObject({ stage: 'new', count: 7 }); // i % 6 == 4: untouched, default count
    const json = byId.get(14)!.extra;
    expect(typeof json === 'string' ? JSON.parse(json) : json).toEqual({ replaced: true, list: [1, 2, 3], at: 14 });
    expect(byId.get(11)!.extra).toBeNull();
    const seen = byId.get(13)!.seen;
    expect(new Date(seen as string | number | Date).getTime()).toBe(BASE + 13_000 + 86_400_000);
    expect(Number(byId.get(15)!.big)).toBe(-1);
  });
});

/** A stored value back to what the step sees (the same conversion the framework applies). */
function fromStored(kind: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'boolean':
      return value === true || value === 1;
    case 'datetime':
      return value instanceof Date ? value : new Date(Number(value));
    case 'json':
      return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
    case 'bigint':
      return Number(value);
    default:
      return value;
  }
}
