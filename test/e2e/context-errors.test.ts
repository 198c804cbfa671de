/**
 * `this.db`, `this.settings`... of a processor, a command or a TestCase exist while
 * it runs. Used earlier, in a field initializer (the constructor), a user of the
 * scaffold gets one line naming the class, the member and where to use it instead,
 * and exit code 1, from the command they ran.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { queryDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-context-');
let scaffold: ScaffoldedPipeline;

beforeAll(async () => {
  scaffold = await createPipeline(tempDir(), 'ctxpipe');
});

/** Only the `Error:` lines of a command's stderr. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('Error:'));
}

describe('the context used before the run', () => {
  test('when a step reads this.settings in a field initializer then run fails the step with one line that says where to use it, and the other rows wait', async () => {
    const pipe = copyPipeline(scaffold, tempDir(), 'step-early');
    pipe.edit('steps.ts', 'static override conditions = [{ processed: false }];', 'static override conditions = [{ processed: false }];\n  readonly factor = Number(this.settings.resolved.chunkSize);');
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await pipe.cli(['load']), 0);

    const run = await pipe.cli(['run']);
    expectExit(run, 1);
    expect(errorLines(run.stderr)).toEqual([
      'Error: MyStep.settings is not available before the processor runs: use it in setup(), generate(), process(), renderAlert() or teardown(), not in the constructor or a field initializer.',
    ]);
    // Nothing was processed: the rows wait for the fixed step.
    expect(queryDb(pipe.dbFile, 'SELECT name, processed FROM "Example" ORDER BY id')).toEqual([
      { name: 'example-1', processed: 0 },
      { name: 'example-2', processed: 0 },
      { name: 'example-3', processed: 0 },
    ]);
  });

  test('when a command reads this.db in a field initializer then it exits 1 with one line that says to use it in handle()', async () => {
    const pipe = copyPipeline(scaffold, tempDir(), 'command-early');
    pipe.edit('commands.ts', "static override description = 'Print how many Example rows the stream holds';", "static override description = 'Print how many Example rows the stream holds';\n  readonly early = this.db;");
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);

    const count = await pipe.cli(['count']);
    expectExit(count, 1);
    expect(errorLines(count.stderr)).toEqual(['Error: CountCommand.db is not available before the command runs: use it in handle(), not in the constructor or a field initializer.']);
    expect(count.stdout).toBe('');
  });

  test('when a TestCase reads this.db in a field initializer then test fails that test with the same kind of line, and the other tests pass', async () => {
    const pipe = copyPipeline(scaffold, tempDir(), 'test-early');
    pipe.edit('tests.ts', 'export class MyStepTest extends TestCase {\n  static override subject = MyStep;\n', 'export class MyStepTest extends TestCase {\n  static override subject = MyStep;\n  readonly early = this.db;\n');

    const run = await pipe.cli(['test', '-v']);
    expectExit(run, 1);
    const output = run.stdout + run.stderr;
    expect(output).toContain('MyStepTest.db is not available before the test runs: use it in setup(), validate() or teardown(), not in the constructor or a field initializer.');
    expect(output).toMatch(/Tests +1 failed \| 4 passed/);
  });
});
