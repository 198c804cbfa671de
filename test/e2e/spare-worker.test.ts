/**
 * The worker forked ahead (workers/spare.ts): `run`, `run-all` and `check-alerts`
 * fork their first worker process as the entry point imports `corral/cli`, before
 * corral and the settings load. What a user may rely on all the same: the worker sees
 * the environment the entry point set after its imports, and a worker forked ahead
 * that no command takes never outlives the command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { beforeAll, expect, test } from 'vitest';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { runCli } from '../helpers/run-cli.js';
import { queryDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-spare-');
let scaffold: ScaffoldedPipeline;

beforeAll(async () => {
  scaffold = await createPipeline(tempDir(), 'sparepipe');
}, 120_000);

/** Live (not zombie) processes whose environment holds `NAME=value`. */
function processesWith(name: string, value: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`${name}=${value}`)) found.push(Number(entry));
    } catch {
      // Gone while being read, or not ours to read.
    }
  }
  return found;
}

/** Waits (up to 20 s) until no process carries the probe; returns those still there. */
async function leftOver(probe: string): Promise<number[]> {
  const deadline = Date.now() + 20_000;
  while (processesWith('SPARE_PROBE', probe).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return processesWith('SPARE_PROBE', probe);
}

test('when in_corral.js sets an environment variable after its imports then the step, in its worker process, sees it', async () => {
  const pipe = copyPipeline(scaffold, tempDir(), 'entry-env');
  const entry = path.join(pipe.root, 'in_corral.js');
  const source = fs.readFileSync(entry, 'utf8');
  fs.writeFileSync(entry, source.replace('exitWhenIdle(', "process.env.SPARE_MARK = 'set by in_corral.js';\nexitWhenIdle("));
  pipe.edit('steps.ts', '    row.doubled = row.value * 2;', "    row.doubled = process.env.SPARE_MARK === 'set by in_corral.js' ? row.value * 2 : -1;");
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  expectExit(await pipe.cli(['load']), 0);

  const run = await pipe.cli(['run']);
  expectExit(run, 0);
  expect(queryDb(pipe.dbFile, 'SELECT value, doubled FROM "Example" ORDER BY id')).toEqual([
    { value: 1, doubled: 2 },
    { value: 2, doubled: 4 },
    { value: 3, doubled: 6 },
  ]);
  // In a worker process of its own, not in the command's.
  const [step] = queryDb(pipe.dbFile, "SELECT pid FROM corral_runs WHERE processor = 'MyStep'") as { pid: number }[];
  const [load] = queryDb(pipe.dbFile, "SELECT pid FROM corral_runs WHERE processor = 'Loader'") as { pid: number }[];
  expect(step!.pid).not.toBe(load!.pid);
}, 120_000);

test('when a command that would fork workers fails before it runs any then no worker process is left behind', async () => {
  // No database yet: the command ends with that error.
  const probe = randomUUID();
  const noDatabase = await scaffold.cli(['run'], { SPARE_PROBE: probe });
  expectExit(noDatabase, 1);
  expect(noDatabase.stderr).toContain('does not exist');
  expect(await leftOver(probe)).toEqual([]);

  // A step name that names no step.
  const pipe = copyPipeline(scaffold, tempDir(), 'typo');
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  const typo = await pipe.cli(['run', '-s', 'NoSuchStep'], { SPARE_PROBE: probe });
  expectExit(typo, 1);
  expect(typo.stderr).toContain('NoSuchStep');
  expect(await leftOver(probe)).toEqual([]);
}, 120_000);

test('when a script imports corral/cli with `run` on its command line but runs no command then it ends, and no worker process is left behind', async () => {
  const script = path.join(scaffold.root, 'only-imports.mjs');
  fs.writeFileSync(script, "import { runFromCommandLine } from 'corral/cli';\nconsole.log(typeof runFromCommandLine);\n");
  const probe = randomUUID();
  const result = await runCli([script, 'run'], { cwd: scaffold.root, env: { SPARE_PROBE: probe } });
  expect(result.code).toBe(0);
  expect(result.stdout.trim()).toBe('function');
  expect(await leftOver(probe)).toEqual([]);
}, 120_000);
