/**
 * A step that throws on one row, in a scaffolded pipeline run as a user runs it, on
 * SQLite and on PostgreSQL: the row is set aside alone (rolled back, recorded for a
 * retry), every other row is committed once, the other processors finish, one line
 * names the step, the row, the message and what happens next, and the exit code is 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { pipelineOnDatabase, truthy } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-fail-');
let scaffold: Promise<ScaffoldedPipeline> | undefined;

/** The scaffold, edited once: 12 rows in chunks of 5; the step throws on the 8th. */
async function failingScaffold(): Promise<ScaffoldedPipeline> {
  const pipe = await createPipeline(tempDir(), 'failpipe');
  // Row 8 is rolled back alone; 6 and 7 are committed with their chunk.
  pipe.edit('settings.ts', 'chunkSize: 1000', 'chunkSize: 5,\n  retryDelaySeconds: 0');
  pipe.edit('settings.ts', 'exampleRows: 3', 'exampleRows: 12');
  pipe.edit('steps.ts', 'row.doubled = row.value * 2;', "if (row.value === 8) throw new Error(`cannot double ${row.name}`);\n    row.doubled = row.value * 2;");
  return pipe;
}

forEachDatabase((dialect) => {
  const on = pipelineOnDatabase(dialect, async () => copyPipeline(await (scaffold ??= failingScaffold()), tempDir(), `failpipe-${dialect}`));
  let runAll: CliResult;

  beforeAll(async () => {
    expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
    runAll = await on.pipe.cli(['run-all']);
  });

  async function examplesNow() {
    const rows = await on.db.query<{ id: number; processed: unknown; doubled: number | null }>('SELECT id, processed, doubled FROM "Example" ORDER BY id');
    return rows.map((r) => ({ ...r, processed: truthy(r.processed) }));
  }

  describe('a step that throws on one row', () => {
    test('when run-all meets it then the exit code is 1 and one line names the step, the row key, the message and the retry', () => {
      expectExit(runAll, 1);
      expect(runAll.stderr.split('\n').filter((line) => line.startsWith('Error:'))).toEqual([
        'Error: MyStep failed on row id=8: cannot double example-8 (attempt 1; retried on a later run)',
      ]);
      expect(runAll.stderr).toContain('(run again with --traceback for the stack)');
      expect(runAll.stderr).not.toMatch(/^\s+at /m);
    });

    test('when run-all meets it then the step finishes the other rows and the loader and the alert still finish', () => {
      expect(runAll.stderr).toMatch(/ok +loader +Loader +12 rows/);
      expect(runAll.stderr).toMatch(/ROWS FAILED +step +MyStep +11 rows, 1 failed/);
      expect(runAll.stderr).toMatch(/ok +alert +MyAlert +11 rows/);
      const lines = fs.readFileSync(path.join(on.pipe.root, 'my_alert.log'), 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(11);
      expect(lines.some((line) => line.includes('example-8'))).toBe(false);
    });

    test('when it fails then every other row is committed whole and the failed row is untouched', async () => {
      const rows = await examplesNow();
      expect(rows).toHaveLength(12);
      expect(rows.filter((r) => r.processed).map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]);
      expect(rows.filter((r) => r.processed).every((r) => r.doubled === 2 * r.id)).toBe(true);
      expect(rows.find((r) => r.id === 8)).toEqual({ id: 8, processed: false, doubled: null });
      const failures = await on.db.query<Record<string, unknown>>('SELECT processor, model_table, model_key, attempts, quarantined, error FROM corral_failures');
      expect(failures.map((f) => ({ ...f, quarantined: truthy(f.quarantined) }))).toEqual([
        { processor: 'MyStep', model_table: 'Example', model_key: '8', attempts: 1, quarantined: false, error: 'cannot double example-8' },
      ]);
    });

    test('when run is repeated with --traceback then it retries the same row alone, fails again and shows the stack', async () => {
      const result = await on.pipe.cli(['run', '--traceback']);
      expectExit(result, 1);
      expect(result.stderr).toContain('Error: MyStep failed on row id=8: cannot double example-8 (attempt 2; retried on a later run)\n');
      expect(result.stderr).toMatch(/Error: cannot double example-8\n\s+at MyStep\.process \(.*steps\.ts/);
      expect(result.stderr).toMatch(/ROWS FAILED +step +MyStep +0 rows, 1 failed/);
      expect(await on.db.count('processed')).toBe(11);
      expect(await on.db.query('SELECT attempts FROM corral_failures')).toEqual([{ attempts: 2 }]);
    });
  });
});
