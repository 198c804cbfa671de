/**
 * Two `check-alerts` at once, on SQLite and on PostgreSQL: each row is claimed by
 * one of them (FOR UPDATE SKIP LOCKED on PostgreSQL, the file's write lock on
 * SQLite), so the alert log has each row's line exactly once and corral_alerted one
 * row per alerted row. The two commands overlap by construction: each one's alert
 * waits at a start barrier until both have started (helpers/barrier.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { addStartBarrier, barrierArrivals, barrierEnv } from '../helpers/barrier.js';
import { summaryRows, usePipelineDb, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/postgres.js';
import { alertFile } from '../helpers/scaffold-state.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-alerts-');
let scaffold: ScaffoldedPipeline | undefined;
const ROWS = 1500;

forEachDatabase((dialect) => {
  let pipe: ScaffoldedPipeline;
  let db: PipelineDb;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    scaffold ??= await createPipeline(tempDir(), 'alertpipe');
    pipe = copyPipeline(scaffold, tempDir(), `alertpipe-${dialect}`);
    if (dialect === 'postgres') database = await createTestDatabase();
    db = usePipelineDb(pipe, dialect, database);
    pipe.edit('settings.ts', "logLevel: 'info'", "logLevel: 'warn'");
    addStartBarrier(pipe, 'alerts.ts', 'MyAlert');
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    await db.insertExamples(ROWS);
    await db.exec(`UPDATE "Example" SET processed = ${dialect === 'postgres' ? 'true' : '1'} WHERE id % 3 <> 0`);
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  test('when two check-alerts run at once then every matching row is alerted exactly once, by one of them', async () => {
    const matching = await db.ids('processed');
    expect(matching).toHaveLength(ROWS - ROWS / 3);
    const barrier = path.join(pipe.root, 'barrier');
    const env = barrierEnv(barrier, 2);
    const results = await Promise.all([startCommand(pipe, ['check-alerts'], { env }).result, startCommand(pipe, ['check-alerts'], { env }).result]);
    for (const result of results) expectExit(result, 0);

    const lines = fs.readFileSync(alertFile(pipe), 'utf8').trimEnd().split('\n');
    const perRow = new Map<string, number>();
    for (const line of lines) {
      const name = /^\[alertpipe-ALERT @ [^\]]+\] Check the object '<Example (r\d+)>'$/.exec(line)?.[1];
      expect(name, `unexpected line in the alert log: ${line}`).toBeDefined();
      perRow.set(name!, (perRow.get(name!) ?? 0) + 1);
    }
    expect([...perRow.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...perRow.keys()].map((name) => Number(name.slice(1))).sort((a, b) => a - b)).toEqual(matching);

    const alerted = await db.query<{ alert: string; model_table: string; model_key: string }>('SELECT alert, model_table, model_key FROM corral_alerted');
    expect(alerted).toHaveLength(matching.length);
    expect(new Set(alerted.map((r) => `${r.alert}/${r.model_table}/${r.model_key}`)).size).toBe(matching.length);
    expect(alerted.map((r) => Number(r.model_key)).sort((a, b) => a - b)).toEqual(matching);

    // What the two commands report adds up to every row once; they ran at the same time.
    const reported = results.map((r) => summaryRows(r.stderr).MyAlert!);
    expect(reported.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(reported[0]!.rows + reported[1]!.rows).toBe(matching.length);
    const runs = await db.query<{ pid: number; started_at: unknown; ended_at: unknown; status: string }>(`SELECT pid, started_at, ended_at, status FROM corral_runs WHERE processor = 'MyAlert'`);
    const time = (value: unknown) => (value instanceof Date ? value.getTime() : Number(value));
    expect(runs.map((r) => r.status)).toEqual(['ok', 'ok']);
    // Both reached the start barrier, so neither sent a row before the other had started.
    expect(barrierArrivals(barrier).sort()).toEqual(runs.map((r) => Number(r.pid)).sort());
    expect(Math.max(...runs.map((r) => time(r.started_at)))).toBeLessThan(Math.min(...runs.map((r) => time(r.ended_at))));
  });

  // SQLite: test/e2e/pipeline-flow.test.ts runs check-alerts twice.
  test.skipIf(dialect === 'sqlite')('when check-alerts runs again then nothing is sent twice', async () => {
    const before = fs.readFileSync(alertFile(pipe), 'utf8');
    const again = await pipe.cli(['check-alerts']);
    expectExit(again, 0);
    expect(summaryRows(again.stderr).MyAlert).toEqual({ status: 'ok', rows: 0, failed: 0 });
    expect(fs.readFileSync(alertFile(pipe), 'utf8')).toBe(before);
    expect(await db.count('true', 'corral_alerted')).toBe(ROWS - ROWS / 3);
  });
});
