/**
 * A step that throws on one row, in a scaffolded pipeline run as a user runs it:
 * earlier chunks are kept, the other processors finish, one line names the step,
 * the row and the message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import type { CliResult } from '../helpers/run-cli.js';
import { queryDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-fail-');
let pipe: ScaffoldedPipeline;
let runAll: CliResult;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'failpipe');
  // 12 rows in chunks of 5; the step throws on the 8th: chunk 1-5 commits, 6-10 rolls back, 11-12 never run.
  pipe.edit('settings.ts', 'chunkSize: 1000', 'chunkSize: 5');
  pipe.edit('settings.ts', 'exampleRows: 3', 'exampleRows: 12');
  pipe.edit('steps.ts', 'row.doubled = row.value * 2;', "if (row.value === 8) throw new Error(`cannot double ${row.name}`);\n    row.doubled = row.value * 2;");
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  runAll = await pipe.cli(['run-all']);
});

describe('a step that throws on one row', () => {
  test('when run-all meets it then the exit code is 1 and one line names the step, the row key and the message', () => {
    expectExit(runAll, 1);
    expect(runAll.stderr).toContain('Error: MyStep failed on row id=8: cannot double example-8\n');
    expect(runAll.stderr).toContain('(run again with --traceback for the stack)');
    expect(runAll.stderr).not.toMatch(/^\s+at /m);
  });

  test('when run-all meets it then the loader and the alert still finish', () => {
    expect(runAll.stderr).toMatch(/ok +loader +Loader +12 rows/);
    expect(runAll.stderr).toMatch(/FAILED +step +MyStep +5 rows/);
    expect(runAll.stderr).toMatch(/ok +alert +MyAlert +5 rows/);
    const lines = fs.readFileSync(path.join(pipe.root, 'my_alert.log'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5);
  });

  test('when it fails then the chunks before the failing one are kept and the rest are untouched', () => {
    const rows = queryDb<{ id: number; processed: number; doubled: number | null }>(pipe.dbFile, 'SELECT id, processed, doubled FROM Example ORDER BY id');
    expect(rows).toHaveLength(12);
    expect(rows.filter((r) => r.processed === 1).map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.filter((r) => r.id > 5).every((r) => r.processed === 0 && r.doubled === null)).toBe(true);
  });

  test('when run is repeated with --traceback then it fails on the same row again and shows the stack', async () => {
    const result = await pipe.cli(['run', '--traceback']);
    expectExit(result, 1);
    expect(result.stderr).toContain('Error: MyStep failed on row id=8: cannot double example-8\n');
    expect(result.stderr).toMatch(/Error: cannot double example-8\n\s+at MyStep\.process \(.*steps\.ts/);
    expect(queryDb(pipe.dbFile, 'SELECT count(*) AS n FROM Example WHERE processed = 1')).toEqual([{ n: 5 }]);
  });
});
