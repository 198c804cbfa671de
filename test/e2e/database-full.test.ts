/**
 * Issue 11: a database that cannot write is nobody's row. SQLite, from the command
 * line: the step's setup caps the file's size with `PRAGMA max_page_count` (a real
 * SQLITE_FULL from the real engine, as a full disk gives), and the step makes every
 * row longer, so the file fills up part way through the run.
 * (PostgreSQL's disk full, SQLSTATE 53100, is blamed the same way: test/db/blame.test.ts
 * covers the class; filling a shared server's disk is not something a test may do.)
 */
import { beforeAll, expect, test } from 'vitest';
import { configureSettings, usePipelineDb } from '../helpers/pipeline-db.js';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { describeResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-full-');
let pipe: ScaffoldedPipeline;
const CHUNK = 100;
const ROWS = 3000;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'fullpipe');
  configureSettings(pipe, { chunkSize: CHUNK, maxAttempts: 1, logLevel: 'warn' });
  pipe.edit(
    'steps.ts',
    '  process(row: Example) {\n    row.doubled = row.value * 2;',
    `  override async setup() {
    // Room for a few more pages only when the test asks for it: the file is "full" after them.
    if (process.env.FULL_AFTER_PAGES) {
      const [{ page_count }] = (await this.db.raw('PRAGMA page_count')) as { page_count: number }[];
      await this.db.raw(\`PRAGMA max_page_count = \${page_count + Number(process.env.FULL_AFTER_PAGES)}\`);
    }
  }

  process(row: Example) {
    row.name = row.name.padEnd(90, 'x');
    row.doubled = row.value * 2;`,
  );
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
});

test('when the database file cannot grow (SQLITE_FULL) part way through a step then it stops with one line saying so, blames no row, keeps the committed chunks, and the next run finishes', async () => {
  const db = usePipelineDb(pipe, 'sqlite');
  await db.insertExamples(ROWS);

  const full = await pipe.cli(['run'], { FULL_AFTER_PAGES: '60' });
  expectExit(full, 1);
  const errors = full.stderr.split('\n').filter((line) => line.startsWith('Error:'));
  expect(errors, describeResult(full)).toEqual(['Error: MyStep failed: database or disk is full']);
  expect(full.stderr).toContain('no row was blamed and the committed chunks are kept');
  expect(full.stderr).not.toMatch(/^\s+at /m);
  expect(await db.count('true', 'corral_failures')).toBe(0);
  const done = await db.count('processed');
  // Some chunks committed before the file was full, whole chunks only, and not all of them.
  expect(done % CHUNK, `${done} rows processed`).toBe(0);
  expect(done).toBeGreaterThan(0);
  expect(done).toBeLessThan(ROWS);

  const rest = await pipe.cli(['run']);
  expectExit(rest, 0);
  expect(await db.count('processed')).toBe(ROWS);
  expect(await db.count('true', 'corral_failures')).toBe(0);
});
