/**
 * Runs that could not write their corral_runs row when they started (db/bookkeeping/unrecorded.ts),
 * on a real SQLite file whose write lock another connection holds: the run that gives
 * up waiting is recorded `not-started` beside the database, `runs` lists it, and the
 * next run that gets the lock moves it into the table. The stop while waiting is
 * test/e2e/signals.test.ts.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { boolean, float, integer } from '../../../src/db/columns.js';
import { Engine } from '../../../src/db/engine.js';
import { model } from '../../../src/db/model.js';
import { executeProcessor } from '../../../src/run/execute.js';
import { listRuns } from '../../../src/db/bookkeeping/run-list.js';
import { Step } from '../../../src/processors/step.js';
import { spoolOf } from '../../../src/db/bookkeeping/unrecorded.js';
import { useUnitDb } from '../../helpers/unit-db.js';

class Item extends model('Item', {
  id: integer().primaryKey(),
  value: float().notNull(),
  processed: boolean().notNull().default(false),
}) {}

class Marker extends Step<Item> {
  static override model = Item;
  static override conditions = [{ processed: false }];
  process(row: Item) {
    row.processed = true;
  }
}

const openDb = useUnitDb('sqlite');

test('when a run cannot get the write lock within the busy timeout then it is recorded not-started beside the database, listed by runs, and moved into corral_runs by the next run', async () => {
  const db = await openDb({ models: [Item] });
  await db.engine.knex('Item').insert([{ value: 1 }, { value: 2 }]);
  // A second process's engine, patient for 100 ms only.
  const impatient = await Engine.open({ knex: db.settings.connection.knex, label: 'unit.db', busyTimeoutMs: 100 });
  const holder = new Database(db.file);
  holder.exec('BEGIN IMMEDIATE');
  try {
    const stats = await executeProcessor(Marker, { engine: impatient, settings: db.settings, logger: db.logger });
    expect(stats).toMatchObject({ status: 'failed', rows: 0 });
    expect(fs.readdirSync(spoolOf(db.engine)!)).toHaveLength(1);
    // A read: it does not need the lock the holder keeps.
    const listed = await listRuns(db.engine);
    expect(listed).toEqual([expect.objectContaining({ id: null, processor: 'Marker', kind: 'step', outcome: 'not-started', rows: 0, failedRows: 0, pid: process.pid })]);
    expect(listed[0]!.error).toMatch(/stayed locked for 0 s/);
    expect(await db.engine.knex('corral_runs').count({ n: '*' })).toEqual([{ n: 0 }]);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
    await impatient.destroy();
  }
  const next = await executeProcessor(Marker, { engine: db.engine, settings: db.settings, logger: db.logger });
  expect(next).toMatchObject({ status: 'ok', rows: 2 });
  const rows = (await db.engine.knex('corral_runs').orderBy('started_at').select('status', 'rows_done', 'error')) as { status: string; rows_done: number; error: string | null }[];
  expect(rows.map((r) => [r.status, r.rows_done])).toEqual([
    ['not-started', 0],
    ['ok', 2],
  ]);
  expect(fs.existsSync(spoolOf(db.engine)!), 'the folder goes once empty').toBe(false);
  expect((await listRuns(db.engine, { outcomes: ['not-started'] })).map((r) => r.id)).toEqual([expect.any(Number)]);
});

test('when nothing holds the lock then a run writes its row at its start and nothing waits beside the database', async () => {
  const db = await openDb({ models: [Item] });
  await db.engine.knex('Item').insert([{ value: 1 }]);
  await executeProcessor(Marker, { engine: db.engine, settings: db.settings, logger: db.logger });
  expect(fs.existsSync(spoolOf(db.engine)!)).toBe(false);
  expect((await listRuns(db.engine)).map((r) => [r.processor, r.outcome])).toEqual([['Marker', 'ok']]);
});
