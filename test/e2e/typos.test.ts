/**
 * Issue 11, point 11: typos are errors, said before anything runs. A settings key
 * that is a near miss of one of corral's own (it would be ignored and the default
 * used), a `procs` key naming no step or alert (it would be ignored), and a step
 * whose model is not in `models` (it failed mid-run with "no such table", after the
 * other steps had written) each stop the command at once: one `Error:` line with
 * the suggestion or the fix, exit 1, nothing written. A key of the pipeline's own
 * (the scaffold's `exampleRows`) is no error.
 */
import fs from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { configureSettings, pipelineOnDatabase } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { describeResult, type CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-typos-');
let scaffold: ScaffoldedPipeline | undefined;

const errorLines = (result: CliResult) => result.stderr.split('\n').filter((line) => line.startsWith('Error:'));

/** Runs `run --sync` with `line` added to the settings, then puts the settings back. */
async function runWithSetting(pipe: ScaffoldedPipeline, line: string): Promise<CliResult> {
  const before = fs.readFileSync(pipe.settingsFile, 'utf8');
  pipe.edit('settings.ts', '  // Your own settings', `  ${line}\n\n  // Your own settings`);
  try {
    return await pipe.cli(['run', '--sync']);
  } finally {
    fs.writeFileSync(pipe.settingsFile, before);
  }
}

forEachDatabase((dialect) => {
  const on = pipelineOnDatabase(dialect, async () => {
    scaffold ??= await createPipeline(tempDir(), 'typopipe');
    return copyPipeline(scaffold, tempDir(), `typopipe-${dialect}`);
  });

  beforeAll(async () => {
    configureSettings(on.pipe, { chunkSize: 5, logLevel: 'warn' });
    expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
    await on.db.insertExamples(10);
  });

  // The settings are checked before any database is opened: SQLite only.
  const settingTypos: [string, string][] = [
    ['chunksize: 2,', 'chunkSize'],
    ['leaseSecond: 60,', 'leaseSeconds'],
    ['maxAttempt: 1,', 'maxAttempts'],
    ['retryDelay: 0,', 'retryDelaySeconds'],
    ['chunk_size: 2,', 'chunkSize'],
  ];
  for (const [line, meant] of settingTypos) {
    test.skipIf(dialect === 'postgres')(`when the settings say '${line}' then run stops with one Error line suggesting ${meant} and writes nothing`, async () => {
      const before = await on.db.snapshot();
      const result = await runWithSetting(on.pipe, line);
      expectExit(result, 1);
      const key = line.split(':')[0]!;
      expect(errorLines(result)).toEqual([`Error: Setting '${key}' in ${on.pipe.settingsFile} is not one of corral's settings (Did you mean ${meant}?)`]);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(await on.db.snapshot()).toEqual(before);
    });
  }

  test.skipIf(dialect === 'postgres')("when procs names a step that does not exist then run stops with one Error line suggesting the step and writes nothing", async () => {
    const before = await on.db.snapshot();
    const result = await runWithSetting(on.pipe, 'procs: { MyStpe: 2 },');
    expectExit(result, 1);
    expect(errorLines(result), describeResult(result)).toEqual(["Error: Setting 'procs' names 'MyStpe', which is no step or alert of the pipeline. (Did you mean MyStep?)"]);
    expect(result.stderr).toContain('Key \'procs\' by the class name of a step or alert: MyStep, MyAlert');
    expect(await on.db.snapshot()).toEqual(before);
  });

  test.skipIf(dialect === 'postgres')('when the settings have keys of the pipeline\'s own, even near a one-word name (lease, retry), then they are no error', async () => {
    const result = await runWithSetting(on.pipe, 'lease: 1, retry: 2, emails: [],');
    expectExit(result, 0);
    // Put the rows back for the next test.
    await on.db.exec(`UPDATE "Example" SET processed = ${dialect === 'postgres' ? 'false' : '0'}, doubled = NULL`);
    await on.db.exec('DELETE FROM corral_runs');
  });

  test('when a step works on a model missing from the models setting then every command stops at start naming the step, the model and the fix, and nothing is written', async () => {
    const { pipe, db } = on;
    pipe.edit('steps.ts', "import { Step } from 'corral';", "import { Step, integer, model } from 'corral';");
    fs.appendFileSync(
      pipe.file('steps.ts'),
      `
/** Declared here, not exported from models.ts: not in the settings' models. */
export class Orphan extends model('Orphan', { id: integer().primaryKey() }) {}

export class OrphanStep extends Step<Orphan> {
  static override model = Orphan;
  static override conditions = [];

  process() {}
}
`,
    );
    pipe.edit('settings.ts', "import { MyStep } from './steps.js';", "import { MyStep, OrphanStep } from './steps.js';");
    pipe.edit('settings.ts', 'steps: [MyStep],', 'steps: [MyStep, OrphanStep],');
    const before = await db.snapshot();
    for (const args of [['run', '--sync'], ['run-all'], ['lssteps']]) {
      const result = await pipe.cli(args);
      expectExit(result, 1);
      expect(errorLines(result), describeResult(result)).toEqual(["Error: OrphanStep's model Orphan (table 'Orphan') is not in the 'models' setting"]);
      expect(result.stderr).toContain('Export Orphan from the models module the settings import');
      expect(result.stderr).not.toContain('no such table');
    }
    expect(await db.snapshot()).toEqual(before);
  });
});
