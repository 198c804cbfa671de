/**
 * Issue 5 in one process, on SQLite and PostgreSQL: a row whose `process` throws
 * is rolled back alone, remembered in corral_failures, retried on later runs after
 * its backoff, quarantined after maxAttempts, forgotten once it succeeds; the
 * functions behind `failures --retry/--clear`; row partitions (`procs`); the run
 * history in corral_runs.
 */
import os from 'node:os';
import { expect, test } from 'vitest';
import { integer, string } from '../../../src/db/columns.js';
import { model } from '../../../src/db/model.js';
import { executeProcessor, type RunContext } from '../../../src/run/execute.js';
import { clearFailures, listFailures, retryFailures } from '../../../src/run/status.js';
import { Step } from '../../../src/processors/step.js';
import { forEachDatabase } from '../../helpers/postgres.js';
import { countWhere, idsWhere, normalizeRow, selectRows, useUnitDb, type UnitDb } from '../../helpers/unit-db.js';

class Job extends model('Job', {
  id: integer().primaryKey(),
  done: integer().notNull().default(0),
  /** Incremented in SQL inside the chunk: counts commits, not calls. */
  hits: integer().notNull().default(0),
}) {}

class Pair extends model('Pair', { a: integer().primaryKey(), b: string(10).primaryKey(), done: integer().notNull().default(0) }) {}

/** A step over Job that throws for the ids in `poison` (while `poison` holds them). */
function poisonStep(poison: Set<number>, name = 'Poisoned', ordering?: string[]) {
  const Class = class extends Step<Job> {
    static override model = Job;
    static override conditions = [{ done: 0 }];
    static override ordering = ordering;
    async process(row: Job) {
      await this.db('Job').where({ id: row.id }).increment('hits', 1);
      if (poison.has(row.id)) throw new Error(`poison ${row.id}`);
      row.done = 1;
    }
  };
  Object.defineProperty(Class, 'name', { value: name });
  return Class;
}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  async function withJobs(count: number, settings: { chunkSize?: number; maxAttempts?: number; retryDelaySeconds?: number } = {}): Promise<UnitDb> {
    const db = await openDb({ models: [Job, Pair], chunkSize: 10, ...settings });
    const rows = Array.from({ length: count }, () => ({ done: 0 }));
    for (let i = 0; i < rows.length; i += 200) await db.engine.knex('Job').insert(rows.slice(i, i + 200));
    return db;
  }

  function run(db: UnitDb, Class: Parameters<typeof executeProcessor>[0], extra: Partial<RunContext> = {}) {
    return executeProcessor(Class, { engine: db.engine, settings: db.settings, logger: db.logger, ...extra });
  }

  async function failureRows(db: UnitDb) {
    const rows = await selectRows(db, (k) => k('corral_failures').select('processor', 'model_table', 'model_key', 'attempts', 'quarantined', 'error').orderBy('id'), ['quarantined']);
    return rows.map((r) => ({ ...r, attempts: Number(r.attempts) }) as { processor: string; model_table: string; model_key: string; attempts: number; quarantined: boolean; error: string });
  }

  test('when a row fails with the default retry delay then the next run leaves it alone while it backs off, and does the new rows', async () => {
    const db = await withJobs(20);
    const Step1 = poisonStep(new Set([13]));
    expect(await run(db, Step1)).toMatchObject({ status: 'ok', rows: 19, failedRows: 1 });
    await db.engine.knex('Job').insert([{ done: 0 }, { done: 0 }]);
    const second = await run(db, Step1);
    expect(second).toMatchObject({ status: 'ok', rows: 2, failedRows: 0 });
    expect(await idsWhere(db, 'Job', { done: 0 })).toEqual([13]);
    expect(await idsWhere(db, 'Job', { hits: 0 })).toEqual([13]);
    // The first retry waits retryDelaySeconds (60) after the failure.
    const [record] = (await db.engine.knex('corral_failures').select('last_at', 'next_at', 'first_at')) as Record<string, unknown>[];
    const millis = (value: unknown) => (value instanceof Date ? value.getTime() : Number(value));
    expect(millis(record!.next_at) - millis(record!.last_at)).toBe(60_000);
    expect(millis(record!.first_at)).toBe(millis(record!.last_at));
  });

  test('when a poison row keeps failing with retryDelaySeconds 0 then it is retried on each run and quarantined at maxAttempts, while the other rows are done', async () => {
    const db = await withJobs(30, { retryDelaySeconds: 0, maxAttempts: 3 });
    const Poisoned = poisonStep(new Set([13]));
    const seen: { rows: number; failures: [string, string, number, boolean][] }[] = [];
    for (let runNo = 1; runNo <= 4; runNo++) {
      // New work arrives between runs: each run still does it.
      if (runNo > 1) await db.engine.knex('Job').insert({ done: 0 });
      const stats = await run(db, Poisoned);
      expect(stats.status).toBe('ok');
      seen.push({ rows: stats.rows, failures: stats.rowFailures.map((f) => [f.key, f.message, f.attempts, f.quarantined]) });
    }
    expect(seen).toEqual([
      { rows: 29, failures: [['id=13', 'poison 13', 1, false]] },
      { rows: 1, failures: [['id=13', 'poison 13', 2, false]] },
      { rows: 1, failures: [['id=13', 'poison 13', 3, true]] },
      { rows: 1, failures: [] },
    ]);
    expect(await idsWhere(db, 'Job', { done: 0 })).toEqual([13]);
    expect(await countWhere(db, 'Job', { done: 1 })).toBe(32);
    expect(await failureRows(db)).toEqual([{ processor: 'Poisoned', model_table: 'Job', model_key: '13', attempts: 3, quarantined: true, error: 'poison 13' }]);
  });

  test('when failures are retried then even a quarantined row gets another attempt (attempts kept), and cleared failures start again at attempt 1', async () => {
    const db = await withJobs(5, { retryDelaySeconds: 3600, maxAttempts: 2 });
    const poison = new Set([2, 4]);
    const Poisoned = poisonStep(poison);
    await run(db, Poisoned);
    expect((await run(db, Poisoned)).rows).toBe(0);
    expect(await retryFailures(db.engine)).toBe(2);
    // Attempt 2 of 2: quarantined now.
    expect((await run(db, Poisoned)).rowFailures.map((f) => [f.key, f.attempts, f.quarantined])).toEqual([
      ['id=2', 2, true],
      ['id=4', 2, true],
    ]);
    expect((await run(db, Poisoned)).rowFailures).toEqual([]);
    expect(await retryFailures(db.engine, ['Poisoned'])).toBe(2);
    expect((await failureRows(db)).map((f) => f.quarantined)).toEqual([false, false]);
    // Row 4 is fixed: its retry succeeds and corral forgets it; row 2 fails again.
    poison.delete(4);
    const retried = await run(db, Poisoned);
    expect(retried.rows).toBe(1);
    expect(retried.rowFailures.map((f) => [f.key, f.attempts, f.quarantined])).toEqual([['id=2', 3, true]]);
    expect((await failureRows(db)).map((f) => [f.model_key, f.attempts])).toEqual([['2', 3]]);
    expect(await clearFailures(db.engine)).toBe(1);
    expect(await failureRows(db)).toEqual([]);
    const cleared = await run(db, Poisoned);
    expect(cleared.rowFailures.map((f) => [f.key, f.attempts, f.quarantined])).toEqual([['id=2', 1, false]]);
    expect(await idsWhere(db, 'Job', { hits: 1 })).toEqual([1, 3, 4, 5]);
  });

  test('when retries are due then the delay doubles with each attempt', async () => {
    const db = await withJobs(1, { retryDelaySeconds: 10, maxAttempts: 5 });
    const Poisoned = poisonStep(new Set([1]));
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await run(db, Poisoned);
      const [record] = (await db.engine.knex('corral_failures').select('last_at', 'next_at', 'attempts')) as Record<string, unknown>[];
      const millis = (value: unknown) => (value instanceof Date ? value.getTime() : Number(value));
      expect(Number(record!.attempts)).toBe(attempt);
      delays.push((millis(record!.next_at) - millis(record!.last_at)) / 1000);
      await retryFailures(db.engine);
    }
    expect(delays).toEqual([10, 20, 40]);
  });

  test('when listFailures, retryFailures and clearFailures name processors then only theirs are touched', async () => {
    const db = await withJobs(3, { retryDelaySeconds: 0 });
    await run(db, poisonStep(new Set([1]), 'Alpha'));
    // Alpha did rows 2 and 3: row 1 is all Beta sees.
    await run(db, poisonStep(new Set([1]), 'Beta'));
    const all = await listFailures(db.engine);
    expect(all.map((f) => [f.processor, f.table, f.key, f.attempts, f.quarantined, f.error])).toEqual([
      ['Alpha', 'Job', '1', 1, false, 'poison 1'],
      ['Beta', 'Job', '1', 1, false, 'poison 1'],
    ]);
    for (const f of all) {
      expect(f.stack).toContain(`poison ${f.key}`);
      for (const at of [f.firstAt, f.lastAt, f.nextAt]) expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect((await listFailures(db.engine, ['Beta'])).map((f) => f.processor)).toEqual(['Beta']);
    expect(await clearFailures(db.engine, ['Alpha'])).toBe(1);
    expect((await listFailures(db.engine)).map((f) => f.processor)).toEqual(['Beta']);
    expect(await retryFailures(db.engine, ['Alpha'])).toBe(0);
  });

  test('when an ordered step fails on a row then the rows around it are done once each, in order', async () => {
    const db = await withJobs(25, { chunkSize: 10 });
    const order: number[] = [];
    const Ordered = class extends Step<Job> {
      static override model = Job;
      static override conditions = [{ done: 0 }];
      static override ordering = ['-id'];
      async process(row: Job) {
        order.push(row.id);
        await this.db('Job').where({ id: row.id }).increment('hits', 1);
        if (row.id === 17) throw new Error('seventeen');
        row.done = 1;
      }
    };
    const stats = await run(db, Ordered);
    expect(stats).toMatchObject({ status: 'ok', rows: 24, failedRows: 1 });
    // 25..18 ran, 17 failed, 25..18 ran again (rolled back with it) and were committed; then 16..1.
    const descending = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => from - i);
    expect(order).toEqual([...descending(25, 17), ...descending(25, 18), ...descending(16, 1)]);
    expect(await idsWhere(db, 'Job', { hits: 1 })).toEqual(descending(25, 1).filter((id) => id !== 17).reverse());
    expect(await idsWhere(db, 'Job', { done: 0 })).toEqual([17]);
  });

  test('when the model has a composite key then the failed row is remembered by its whole key and retried alone', async () => {
    const db = await openDb({ models: [Job, Pair], chunkSize: 10, retryDelaySeconds: 0 });
    await db.engine.knex('Pair').insert([1, 2].flatMap((a) => ['x', 'y'].map((b) => ({ a, b, done: 0 }))));
    let fixed = false;
    class Pairs extends Step {
      static override model = Pair;
      static override conditions = [{ done: 0 }];
      process(row: InstanceType<typeof Pair>) {
        if (!fixed && row.a === 1 && row.b === 'y') throw new Error('bad pair');
        row.done = 1;
      }
    }
    const first = await run(db, Pairs);
    expect(first).toMatchObject({ rows: 3, failedRows: 1 });
    expect(first.rowFailures[0]!.key).toBe('a=1, b=y');
    expect((await failureRows(db)).map((f) => f.model_key)).toEqual(['1\x1fy']);
    fixed = true;
    expect(await run(db, Pairs)).toMatchObject({ rows: 1, failedRows: 0 });
    expect(await failureRows(db)).toEqual([]);
    expect(await countWhere(db, 'Pair', { done: 1 })).toBe(4);
  });

  test('when a step runs as 3 partitions then each does the rows whose id % 3 is its index, and together every row once', async () => {
    const db = await withJobs(31);
    const seen: number[][] = [];
    for (let index = 0; index < 3; index++) {
      const ids: number[] = [];
      class Share extends Step<Job> {
        static override model = Job;
        static override conditions = [{ done: 0 }];
        async process(row: Job) {
          ids.push(row.id);
          await this.db('Job').where({ id: row.id }).increment('hits', 1);
          row.done = 1;
        }
      }
      const stats = await run(db, Share, { partition: { index, count: 3 } });
      expect(stats.rows).toBe(ids.length);
      seen.push(ids);
    }
    seen.forEach((ids, index) => expect(ids.every((id) => id % 3 === index)).toBe(true));
    expect(seen.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(await countWhere(db, 'Job', { hits: 1 })).toBe(31);
  });

  test('when processors run then corral_runs keeps one row per run: who, which partition, how it ended and how far it got', async () => {
    const db = await withJobs(12, { retryDelaySeconds: 0 });
    await run(db, poisonStep(new Set([5]), 'Tracked'), { partition: { index: 1, count: 2 } });
    const Broken = class extends Step<Job> {
      static override model = Job;
      static override conditions = [];
      override setup() {
        throw new Error('no setup for you');
      }
      process() {}
    };
    Object.defineProperty(Broken, 'name', { value: 'Broken' });
    await run(db, Broken);
    const stop = { requested: true };
    await run(db, poisonStep(new Set(), 'Halted'), { stop });
    const runs = await selectRows(db, (k) =>
      k('corral_runs').select('processor', 'kind', 'host', 'pid', 'partition', 'status', 'rows_done', 'rows_failed', 'in_flight', 'error', 'ended_at').orderBy('id'),
    );
    expect(runs.map((r) => normalizeRow({ ...r, rows_done: Number(r.rows_done), rows_failed: Number(r.rows_failed), in_flight: Number(r.in_flight), ended: r.ended_at !== null, ended_at: undefined }))).toEqual([
      { processor: 'Tracked', kind: 'step', host: os.hostname(), pid: process.pid, partition: '1/2', status: 'ok', rows_done: 5, rows_failed: 1, in_flight: 0, error: null, ended: true, ended_at: undefined },
      { processor: 'Broken', kind: 'step', host: os.hostname(), pid: process.pid, partition: null, status: 'failed', rows_done: 0, rows_failed: 0, in_flight: 0, error: 'Broken failed: no setup for you', ended: true, ended_at: undefined },
      { processor: 'Halted', kind: 'step', host: os.hostname(), pid: process.pid, partition: null, status: 'stopped', rows_done: 0, rows_failed: 0, in_flight: 0, error: null, ended: true, ended_at: undefined },
    ]);
  });
});
