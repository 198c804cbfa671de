/**
 * Opening and closing a command's environment, as `node in_corral.js <cmd>` meets it:
 * - a `pipelineSetup.teardown` that throws fails the command (exit 1, one Error line),
 *   in the command's process and in a forked child, and loses no committed row;
 * - `test` on a PostgreSQL testConnection whose tables cannot be created leaves no
 *   corral_test_* schema behind, though each TestCase opened (and failed) its own.
 * The teardown runs the same code on both databases, so that part runs on SQLite.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { pgLeftovers, setTestConnection, truthy, usePipelineDb, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { describePg, pgDatabaseForFile } from '../helpers/postgres.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-envclose-');
const TEARDOWN_ERROR = 'teardown could not flush the audit log';
/** Set in a command's environment: the pipeline's teardown throws (its setup and everything else work). */
const FAILING_TEARDOWN = { CORRAL_TEST_TEARDOWN_FAILS: '1' };

let scaffold: ScaffoldedPipeline;
beforeAll(async () => {
  scaffold = await createPipeline(tempDir(), 'envpipe');
});

describe('a pipelineSetup.teardown that throws', () => {
  let pipe: ScaffoldedPipeline;
  let db: PipelineDb;

  beforeAll(async () => {
    pipe = copyPipeline(scaffold, tempDir(), 'teardown');
    pipe.edit(
      'pipeline.ts',
      'override teardown(_error?: unknown): void {}',
      `override teardown(_error?: unknown): void {\n    if (process.env.CORRAL_TEST_TEARDOWN_FAILS) throw new Error('${TEARDOWN_ERROR}');\n  }`,
    );
    db = usePipelineDb(pipe, 'sqlite');
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  });

  test('when the teardown works then count exits 0 (the pipeline is sound otherwise)', async () => {
    const result = await pipe.cli(['count']);
    expectExit(result, 0);
    expect(result.stdout).toBe('Example rows: 0\n');
  });

  test('when a pipeline command has run and the teardown throws then the exit code is 1, the error is named once, and the output is kept', async () => {
    const result = await pipe.cli(['count'], FAILING_TEARDOWN);
    expectExit(result, 1);
    expect(result.stdout).toBe('Example rows: 0\n');
    expect(result.stderr.match(/^Error: .*$/gm)).toEqual([`Error: ${TEARDOWN_ERROR}`]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  test('when a built-in command has run and the teardown throws then the exit code is 1', async () => {
    const result = await pipe.cli(['status'], FAILING_TEARDOWN);
    expectExit(result, 1);
    expect(result.stdout).toContain('MyStep');
    expect(result.stderr.match(/^Error: .*$/gm)).toEqual([`Error: ${TEARDOWN_ERROR}`]);
  });

  test('when a forked step has committed its rows and its teardown throws then run exits 1 and the rows stay done', async () => {
    await db.insertExamples(3);
    const result = await pipe.cli(['run', '-s', 'MyStep'], FAILING_TEARDOWN);
    expectExit(result, 1);
    // The child's teardown, then the parent's: two processes, each names its own.
    expect(result.stderr).toContain(`Error: MyStep: ${TEARDOWN_ERROR}`);
    expect(result.stderr).toMatch(/^ {2}FAILED +step +MyStep +3 rows/m);
    const rows = await db.query<{ processed: unknown }>('SELECT processed FROM "Example"');
    expect(rows.map((row) => truthy(row.processed))).toEqual([true, true, true]);
  });
});

describePg('test on a PostgreSQL testConnection whose tables cannot be created', () => {
  const testDatabase = pgDatabaseForFile();

  test('when every TestCase fails to set up its database then test exits 1 and leaves no schema or table behind', async () => {
    const pipe = copyPipeline(scaffold, tempDir(), 'broken-tables');
    const { url } = await testDatabase();
    setTestConnection(pipe, url);
    // A foreign key to a table that no model creates: PostgreSQL refuses the table
    // once the TestCase's schema exists (SQLite would accept it).
    pipe.edit('models.ts', '  doubled: float(),\n', "  doubled: float(),\n  gate_id: integer().references('Gate'),\n");

    const result = await pipe.cli(['test']);
    expectExit(result, 1);
    expect(result.stdout + result.stderr).toContain('relation "Gate" does not exist');
    expect(await pgLeftovers(url)).toEqual([]);
  });
});
