/**
 * `run-all --until-idle` (SQLite and PostgreSQL) and `run-all --loop` (PostgreSQL),
 * as a user runs them: the first returns 0 once a pass finds no work; the second
 * keeps processing rows that arrive while it runs and stops cleanly on SIGTERM.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { configureSettings, usePipelineDb, waitFor, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, startCommand, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/postgres.js';
import { describeResult } from '../helpers/run-cli.js';
import { alertFile } from '../helpers/scaffold-state.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-loop-');
let scaffold: ScaffoldedPipeline | undefined;

/** Example name → how many alert lines name it. */
function alertLinesPerRow(pipe: ScaffoldedPipeline): Map<string, number> {
  const counts = new Map<string, number>();
  if (!fs.existsSync(alertFile(pipe))) return counts;
  for (const line of fs.readFileSync(alertFile(pipe), 'utf8').split('\n').filter(Boolean)) {
    const name = /Check the object '<Example ([^>]+)>'$/.exec(line)?.[1] ?? `unexpected line: ${line}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

forEachDatabase((dialect) => {
  const databases: TestDatabase[] = [];
  const handles: PipelineDb[] = [];

  afterAll(async () => {
    for (const db of handles) await db.close();
    for (const database of databases) await database.drop();
  });

  beforeAll(async () => {
    scaffold ??= await createPipeline(tempDir(), 'looppipe');
  });

  async function pipeline(folder: string, settings: Record<string, unknown>): Promise<{ pipe: ScaffoldedPipeline; db: PipelineDb }> {
    const pipe = copyPipeline(scaffold!, tempDir(), `${folder}-${dialect}`);
    let database: TestDatabase | undefined;
    if (dialect === 'postgres') databases.push((database = await createTestDatabase()));
    const db = usePipelineDb(pipe, dialect, database);
    handles.push(db);
    configureSettings(pipe, settings);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    return { pipe, db };
  }

  test('when run-all --until-idle runs then it loads once, passes until no step or alert finds work, and exits 0 with everything done', async () => {
    const { pipe, db } = await pipeline('idle', { chunkSize: 50 });
    await db.insertExamples(100, 1001);
    const result = await pipe.cli(['run-all', '--until-idle']);
    expectExit(result, 0);
    expect(result.stderr).toContain('Pass 1');
    expect(result.stderr).toContain('Pass 2');
    expect(result.stderr).not.toContain('Pass 3');
    expect(result.stderr).toContain('Idle after 2 passes: no step or alert found work');
    // Pass 1: the loader's 3 rows and the 100 inserted; pass 2: nothing left.
    expect(result.stderr).toMatch(/ok +loader +Loader +3 rows[^]*ok +step +MyStep +103 rows[^]*ok +alert +MyAlert +103 rows[^]*ok +step +MyStep +0 rows[^]*ok +alert +MyAlert +0 rows/);
    expect((result.stderr.match(/ loader +Loader /g) ?? []).length, describeResult(result)).toBe(1);
    expect(await db.count('NOT processed')).toBe(0);
    const lines = alertLinesPerRow(pipe);
    expect(lines.size).toBe(103);
    expect([...lines.values()].every((n) => n === 1)).toBe(true);
  });

  // On PostgreSQL only: a pass forks three processes, so a loop costs many seconds; the
  // loop itself does not depend on the database, the passes do (run on both above).
  test.skipIf(dialect === 'sqlite')('when run-all --loop runs then rows inserted while it runs are processed and alerted once, and SIGTERM stops it with 130', async () => {
    const { pipe, db } = await pipeline('loop', { chunkSize: 50, exampleRows: 0 });
    const loop = startCommand(pipe, ['run-all', '--loop', '--interval', '1']);
    const alerted = () => db.count('true', 'corral_alerted');
    try {
      await db.insertExamples(30, 1);
      await waitFor('the first 30 rows alerted', async () => (await alerted()) === 30, 90_000, 200);
      await db.insertExamples(30, 31);
      await waitFor('the next 30 rows alerted', async () => (await alerted()) === 60, 90_000, 200);
    } finally {
      loop.kill('SIGTERM');
    }
    const result = await loop.result;
    expectExit(result, 130);
    expect(result.stderr).toContain('Stopped by a signal: committed chunks are kept.');
    expect(result.stderr).toContain('Pass 2');
    expect(await db.count('NOT processed')).toBe(0);
    expect(await db.count('processed AND doubled = 2 * value')).toBe(60);
    const lines = alertLinesPerRow(pipe);
    expect(lines.size).toBe(60);
    expect([...lines.values()].every((n) => n === 1)).toBe(true);
  });
});
