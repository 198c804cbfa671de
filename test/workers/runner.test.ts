/**
 * The runner forks one child per processor; children run dist/workers/child.js, so this
 * file drives the built dist/ (not src/) and a small pipeline written as plain
 * JavaScript that imports dist/ too: parent, children and pipeline share classes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { memoryOutput } from '../../dist/core/output.js';
import { createMissingTables } from '../../dist/db/schema.js';
import { allModels, openEnvironment } from '../../dist/run/environment.js';
import { exitCodeOf, printReport } from '../../dist/cli/report.js';
import { runPhases, type RunReport } from '../../dist/workers/runner.js';
import { DIST_DIR } from '../helpers/paths.js';
import { queryDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempRoot = tempDirForFile('corral-runner-');
// This file imports modules of dist/ one by one, so the pipeline, and the children the
// runner forks, must use those same modules rather than dist/corral.cjs (scripts/bundle-corral.js).
process.env.CORRAL_UNBUNDLED = '1';

function writePipeline(root: string): string {
  const corral = pathToFileURL(path.join(DIST_DIR, 'index.js')).href;
  const pkg = path.join(root, 'runpipe');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(
    path.join(pkg, 'settings.js'),
    `import { Alert, File, Loader, Step, boolean, defineSettings, float, integer, model, string } from '${corral}';

export class Item extends model('Item', {
  id: integer().primaryKey(),
  value: float().notNull(),
  processed: boolean().notNull().default(false),
  doubled: float(),
  parity: string(),
  noted: boolean().notNull().default(false),
}) {}

export class Note extends model('Note', {
  id: integer().primaryKey(),
  item_id: integer().notNull(),
  text: string(),
}) {}

/** Creates a Note per Item, in the same phase as NoteWriter, which fills them in. */
export class NoteMaker extends Step {
  static model = Item;
  static conditions = [{ noted: false }];
  process(row) {
    row.noted = true;
    return new Note({ item_id: row.id });
  }
}

export class NoteWriter extends Step {
  static model = Note;
  static conditions = [{ text: null }];
  process(row) {
    row.text = 'note of item ' + row.item_id;
  }
}

export class Feed extends Loader {
  *generate() {
    for (let i = 1; i <= 30; i++) yield new Item({ value: i });
  }
}

export class Doubler extends Step {
  static model = Item;
  static conditions = [{ processed: false }];
  process(row) {
    row.doubled = row.value * 2;
    row.processed = true;
  }
}

export class Broken extends Step {
  static model = Item;
  static conditions = [];
  process(row) {
    if (row.id === 5) throw new Error('no luck');
  }
}

export class Crashing extends Step {
  static model = Item;
  static conditions = [];
  setup() {
    throw new Error('cannot start');
  }
  process() {}
}

export class Parity extends Step {
  static model = Item;
  static conditions = [{ parity: null }];
  process(row) {
    row.parity = row.value % 2 === 0 ? 'even' : 'odd';
  }
}

export class Notify extends Alert {
  static model = Item;
  static conditions = [{ processed: true }];
  static alertTo = [new File('alerts.log')];
}

export default defineSettings({
  name: 'runpipe',
  connection: 'sqlite:runpipe.db',
  models: [Item, Note],
  loader: Feed,
  steps: [Doubler, Broken, Crashing, Parity, NoteMaker, NoteWriter],
  alerts: [Notify],
  chunkSize: 10,
  logLevel: 'silent',
});
`,
  );
  return path.join(pkg, 'settings.js');
}

async function runWholePipeline(sync: boolean): Promise<{ root: string; report: RunReport; printed: string }> {
  const root = path.join(tempRoot(), sync ? 'sync' : 'forked');
  const settingsFile = writePipeline(root);
  const env = await openEnvironment({ settingsFile, mode: 'in', logLevel: 'silent', createDatabase: true });
  try {
    await createMissingTables(env.engine!, allModels(env.settings));
    const { loader, steps, alerts } = env.registry;
    const output = memoryOutput();
    const report = await runPhases(env, [[loader!], [...steps], [...alerts]], { sync, output, logLevel: 'silent', progress: false });
    printReport(report, output, false);
    return { root, report, printed: output.stderr };
  } finally {
    await env.close();
  }
}

function contents(root: string) {
  const db = path.join(root, 'runpipe.db');
  return {
    items: queryDb(db, 'SELECT id, value, processed, doubled, parity FROM Item ORDER BY id'),
    alerted: queryDb(db, 'SELECT alert, model_table, model_key FROM corral_alerted ORDER BY CAST(model_key AS INTEGER)'),
    alertLines: fs.readFileSync(path.join(root, 'alerts.log'), 'utf8').trim().split('\n').length,
    failures: queryDb(db, 'SELECT processor, model_table, model_key, attempts, quarantined, error FROM corral_failures ORDER BY id'),
    notes: queryDb(db, 'SELECT item_id, text FROM Note ORDER BY item_id'),
  };
}

/** The live worker processes (workers/child.js) this process forked for the pipeline of `settingsFile`. */
function workersOf(settingsFile: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after its last ')' are fixed.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`CORRAL_SETTINGS=${settingsFile}`)) found.push(Number(entry));
    } catch {
      // Gone while being read.
    }
  }
  return found;
}

describe('runPhases', () => {
  type Outcome = Awaited<ReturnType<typeof runWholePipeline>>;
  const outcomes: { forked?: Outcome; sync?: Outcome } = {};

  beforeAll(async () => {
    outcomes.forked = await runWholePipeline(false);
    outcomes.sync = await runWholePipeline(true);
  });

  test('when the same pipeline runs forked and --sync then the databases end up identical', () => {
    const forked = contents(outcomes.forked!.root);
    const sync = contents(outcomes.sync!.root);
    expect(forked).toEqual(sync);
    expect(forked.items).toHaveLength(30);
    expect(forked.items[3]).toEqual({ id: 4, value: 4, processed: 1, doubled: 8, parity: 'even' });
    expect(forked.alerted).toHaveLength(30);
    expect(forked.alertLines).toBe(30);
    expect(forked.failures).toEqual([{ processor: 'Broken', model_table: 'Item', model_key: '5', attempts: 1, quarantined: 0, error: 'no luck' }]);
  });

  test('when a step has no rows as its phase begins then it still gets, in the same run, the rows its phase peers create', () => {
    // NoteWriter's table is empty when the steps' phase starts; NoteMaker fills it during the phase.
    const { notes } = contents(outcomes.forked!.root);
    expect(notes).toHaveLength(30);
    expect(notes[6]).toEqual({ item_id: 7, text: 'note of item 7' });
    const byName = Object.fromEntries(outcomes.forked!.report.stats.map((s) => [s.processor, s]));
    expect(byName.NoteMaker).toMatchObject({ status: 'ok', rows: 30 });
    expect(byName.NoteWriter).toMatchObject({ status: 'ok', rows: 30 });
    // With rows by then, it got a process of its own, as any step with work does.
    const [run] = queryDb(path.join(outcomes.forked!.root, 'runpipe.db'), "SELECT pid FROM corral_runs WHERE processor = 'NoteWriter'") as { pid: number }[];
    expect(run!.pid).not.toBe(process.pid);
  });

  test('when a step has nothing to do then it runs in the runner\'s own process, with its run recorded, and no process is forked for it', async () => {
    const root = outcomes.forked!.root;
    const env = await openEnvironment({ settingsFile: path.join(root, 'runpipe', 'settings.js'), mode: 'in', logLevel: 'silent' });
    try {
      const doubler = env.registry.steps.find((Class) => Class.name === 'Doubler')!;
      const report = await runPhases(env, [[doubler]], { sync: false, output: memoryOutput(), logLevel: 'silent', progress: false });
      expect(report.stats).toMatchObject([{ processor: 'Doubler', status: 'ok', rows: 0 }]);
    } finally {
      await env.close();
    }
    const runs = queryDb(path.join(root, 'runpipe.db'), "SELECT pid, status FROM corral_runs WHERE processor = 'Doubler' ORDER BY id") as { pid: number; status: string }[];
    expect(runs).toHaveLength(2);
    expect(runs[0]!.pid).not.toBe(process.pid);
    expect(runs[1]).toMatchObject({ pid: process.pid });
  });

  test('when `run` finds nothing to do then the worker process it forked ahead is let go: it ends, and writes no run record', async () => {
    const root = outcomes.forked!.root;
    const db = path.join(root, 'runpipe.db');
    const settingsFile = path.join(root, 'runpipe', 'settings.js');
    const [{ last }] = queryDb(db, 'SELECT max(id) AS last FROM corral_runs') as [{ last: number }];
    // Imported now: the bundle's wrapper reads CORRAL_UNBUNDLED (set above, after the static imports) as it loads.
    const { runFromCommandLine } = await import('../../dist/cli/main.js');
    const output = memoryOutput();
    const code = await runFromCommandLine(['run', '-s', 'Doubler'], { settingsFile, output });
    expect(code, output.stderr).toBe(0);
    // One record, this process's: Doubler ran here, and the worker forked ahead never got its `run` message.
    expect(queryDb(db, 'SELECT processor, pid FROM corral_runs WHERE id > ?', [last])).toEqual([{ processor: 'Doubler', pid: process.pid }]);
    // And it ends by itself (its channel closed), though this process lives on.
    const deadline = Date.now() + 20_000;
    while (workersOf(settingsFile).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(workersOf(settingsFile)).toEqual([]);
  });

  test.each(['forked', 'sync'] as const)('when a row fails in one step and another step fails as a whole (%s) then the others still run and the report names both', (mode) => {
    const { report, printed } = outcomes[mode]!;
    const byName = Object.fromEntries(report.stats.map((s) => [s.processor, s]));
    expect(Object.keys(byName).sort()).toEqual(['Broken', 'Crashing', 'Doubler', 'Feed', 'NoteMaker', 'NoteWriter', 'Notify', 'Parity']);
    expect(byName.Feed).toMatchObject({ status: 'ok', kind: 'loader', rows: 30, failedRows: 0 });
    expect(byName.Doubler).toMatchObject({ status: 'ok', rows: 30, failedRows: 0 });
    expect(byName.Parity).toMatchObject({ status: 'ok', rows: 30, failedRows: 0 });
    expect(byName.Notify).toMatchObject({ status: 'ok', kind: 'alert', rows: 30 });
    // The row that threw is set aside; its 29 neighbours are done.
    expect(byName.Broken).toMatchObject({ status: 'ok', rows: 29, failedRows: 1 });
    expect(byName.Broken!.rowFailures.map((f) => [f.key, f.message, f.attempts, f.quarantined])).toEqual([['id=5', 'no luck', 1, false]]);
    expect(byName.Broken!.rowFailures[0]!.stack).toContain('no luck');
    expect(byName.Crashing).toMatchObject({ status: 'failed', rows: 0 });
    expect(report.failures.map((f) => [f.processor, f.message])).toEqual([['Crashing', 'Crashing failed: cannot start']]);
    expect(report.failures[0]!.stack).toContain('cannot start');
    expect(report.interrupted).toBe(false);
    expect(exitCodeOf(report)).toBe(1);
    expect(printed).toMatch(/^ {2}ROWS FAILED step {3}Broken +29 rows, 1 failed +\d+\.\d\d s$/m);
    expect(printed).toMatch(/^ {2}FAILED {6}step {3}Crashing +0 rows +\d+\.\d\d s$/m);
    expect(printed).toMatch(/^ {2}ok {10}step {3}Doubler +30 rows +\d+\.\d\d s$/m);
    expect(printed.split('\n').filter((line) => line.startsWith('Error:'))).toEqual([
      'Error: Broken failed on row id=5: no luck (attempt 1; retried on a later run)',
      'Error: Crashing failed: cannot start',
    ]);
    expect(printed).toContain('(run again with --traceback for the stack)');
    expect(printed).not.toMatch(/^\s+at /m);
  });
});
