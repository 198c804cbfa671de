/**
 * Issue 13, points 3 and 5, from the command line on SQLite and on PostgreSQL:
 * `runs` lists the history with its filters, `status` calls a run with failed rows
 * `rows failed`, and `--dry-run` of run, check-alerts and run-all prints the plan
 * (phases, processes, backlogs) and changes nothing, even while another session
 * holds the write lock (SQLite) or an EXCLUSIVE lock on the tables (PostgreSQL),
 * which any write would wait for. `run-all` takes the selection of `run` and
 * `check-alerts`, and `--exclude`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { beforeAll, describe, expect, test } from 'vitest';
import { configureSettings, pipelineOnDatabase } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { forEachDatabase } from '../helpers/postgres.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-runs-');
let scaffold: Promise<ScaffoldedPipeline> | undefined;

/** 12 rows in chunks of 5; MyStep throws on the 8th; MyStep may take 2 processes. */
async function failingScaffold(): Promise<ScaffoldedPipeline> {
  const pipe = await createPipeline(tempDir(), 'runspipe');
  pipe.edit('settings.ts', 'exampleRows: 3', 'exampleRows: 12');
  configureSettings(pipe, { chunkSize: 5, retryDelaySeconds: 0, logLevel: 'warn', procs: { MyStep: 2 } });
  pipe.edit('steps.ts', 'row.doubled = row.value * 2;', "if (row.value === 8) throw new Error(`cannot double ${row.name}`);\n    row.doubled = row.value * 2;");
  return pipe;
}

interface RunJson {
  id: number | null;
  processor: string;
  kind: string;
  outcome: string;
  rows: number;
  failedRows: number;
  seconds: number;
  host: string;
  pid: number;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
}

/** The data rows of a rendered table, cells trimmed. */
function tableRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(1)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

/** Phase, kind, processor, backlog, processes of each row of a printed plan. */
function planOf(result: CliResult): string[][] {
  expectExit(result, 0);
  expect(result.stdout).toMatch(/^Dry run: nothing was run or written\./);
  return tableRows(result.stdout).map((row) => row.slice(0, 5));
}

forEachDatabase((dialect) => {
  const on = pipelineOnDatabase(dialect, async () => copyPipeline(await (scaffold ??= failingScaffold()), tempDir(), `runspipe-${dialect}`));

  /**
   * Runs `args` while another session holds what any write needs (SQLite's write lock;
   * on PostgreSQL an EXCLUSIVE lock, which lets reads through) and checks the database is
   * unchanged afterwards, row for row (and on SQLite byte for byte).
   */
  async function readOnly(args: readonly string[]): Promise<CliResult> {
    const before = await on.db.snapshot();
    const bytes = () => (dialect === 'sqlite' ? crypto.createHash('sha256').update(fs.readFileSync(on.pipe.dbFile)).digest('hex') : '');
    const fileBefore = bytes();
    let result: CliResult;
    if (dialect === 'sqlite') {
      const holder = new Database(on.pipe.dbFile);
      holder.exec('BEGIN IMMEDIATE');
      try {
        result = await on.pipe.cli(args);
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
    } else {
      const holder = new pg.Client({ connectionString: on.database!.url });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE "Example", corral_runs, corral_failures, corral_alerted IN EXCLUSIVE MODE');
        result = await on.pipe.cli(args);
        await holder.query('ROLLBACK');
      } finally {
        await holder.end();
      }
    }
    expect(await on.db.snapshot(), `${args.join(' ')} changed the database`).toEqual(before);
    expect(bytes(), `${args.join(' ')} changed the SQLite file`).toBe(fileBefore);
    return result;
  }

  beforeAll(async () => {
    expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
  });

  describe('--dry-run', () => {
    test('when run-all --dry-run runs on an empty pipeline then it lists the three phases, and the database is unchanged', async () => {
      expect(planOf(await readOnly(['run-all', '--dry-run']))).toEqual([
        ['1', 'loader', 'Loader', '-', '1'],
        ['2', 'step', 'MyStep', '0', 'this one'],
        ['3', 'alert', 'MyAlert', '0', 'this one'],
      ]);
    });

    test('when rows wait then run --dry-run shows the backlog and the procs processes, and check-alerts --dry-run and run-all with a selection list theirs', async () => {
      const load = await on.pipe.cli(['load']);
      expectExit(load, 0);
      expect(planOf(await readOnly(['run', '--dry-run']))).toEqual([['1', 'step', 'MyStep', '12', '2']]);
      expect(planOf(await readOnly(['check-alerts', '--dry-run', '--sync']))).toEqual([['1', 'alert', 'MyAlert', '0', 'this one']]);
      const selected = await readOnly(['run-all', '--dry-run', '-s', 'MyStep', '--exclude', 'Loader']);
      expect(planOf(selected)).toEqual([
        ['1', 'step', 'MyStep', '12', '2'],
        ['2', 'alert', 'MyAlert', '0', 'this one'],
      ]);
      expect(selected.stdout).toContain('2 phases, one after the other; 2 processes would be forked.');
      expect(planOf(await readOnly(['run-all', '--dry-run', '-a', 'MyAlert', '--exclude', 'Loader', 'MyStep']))).toEqual([['1', 'alert', 'MyAlert', '0', 'this one']]);
    });

    test('when run-all is given an unknown name then it says which, suggests the close one and runs nothing', async () => {
      for (const [args, message] of [
        [['run-all', '--exclude', 'Loadr'], "Error: Unknown processor 'Loadr' in --exclude. (Did you mean Loader?)"],
        [['run-all', '-s', 'MyStpe'], "Error: Unknown step 'MyStpe'. (Did you mean MyStep?)"],
        [['run-all', '--alert-groups', 'nightly'], "Error: Unknown alert group 'nightly'."],
      ] as const) {
        const result = await readOnly(args);
        expectExit(result, 1);
        expect(result.stderr.split('\n')[0]).toBe(message);
      }
    });
  });

  describe.skipIf(dialect !== 'sqlite')('--help', () => {
    test('when --help is asked of runs, run, check-alerts and run-all then each new option says what it does', async () => {
      const help = async (command: string) => {
        const result = await on.pipe.cli([command, '--help']);
        expectExit(result, 0);
        return result.stdout.replace(/\s+/g, ' ');
      };
      const runs = await help('runs');
      expect(runs).toContain('-p, --processors <names...> only the runs of these processors');
      expect(runs).toContain('--status <statuses...> only runs that ended so: running, ok, rows-failed, failed, stopped, stopped-waiting, not-started, dead');
      expect(runs).toContain('--since <when> only runs started since then: a time ago (30m, 6h, 2d)');
      expect(runs).toContain('-n, --limit <count> show at most this many runs (default: "50")');
      for (const command of ['run', 'check-alerts', 'run-all']) expect(await help(command)).toContain('--dry-run print what would run (phases, processes, each backlog) and run nothing: the database is only read');
      const runAll = await help('run-all');
      expect(runAll).toContain('-s, --steps <names...> only these steps');
      expect(runAll).toContain('--alert-groups <groups...> only the alerts in these groups (also -ag)');
      expect(runAll).toContain('--exclude <names...> leave out these processors, the loader included (class names)');
    });
  });

  describe('runs and status', () => {
    let runs: RunJson[];

    beforeAll(async () => {
      expectExit(await on.pipe.cli(['run']), 1);
      const listed = await on.pipe.cli(['runs', '--json']);
      expectExit(listed, 0);
      runs = JSON.parse(listed.stdout) as RunJson[];
    });

    test('when a step ran in 2 processes and one row failed then runs lists each process newest first, one of them rows-failed', () => {
      expect(runs.map((r) => r.processor)).toEqual(['MyStep', 'MyStep', 'Loader']);
      const steps = runs.filter((r) => r.processor === 'MyStep');
      expect(steps.map((r) => r.outcome).sort()).toEqual(['ok', 'rows-failed']);
      expect(steps.reduce((n, r) => n + r.rows, 0)).toBe(11);
      expect(steps.reduce((n, r) => n + r.failedRows, 0)).toBe(1);
      const loader = runs.find((r) => r.processor === 'Loader')!;
      expect(loader).toMatchObject({ kind: 'loader', outcome: 'ok', rows: 12, failedRows: 0, error: null });
      for (const r of runs) {
        expect(r.id).toEqual(expect.any(Number));
        expect(r.pid).toBeGreaterThan(0);
        expect(r.seconds).toBeGreaterThanOrEqual(0);
        expect(Date.parse(r.endedAt!)).toBeGreaterThanOrEqual(Date.parse(r.startedAt));
      }
    });

    test('when runs is filtered by processor, status, since and limit then only those show, in a table that says rows failed', async () => {
      const failed = await on.pipe.cli(['runs', '-p', 'MyStep', '--status', 'rows-failed']);
      expectExit(failed, 0);
      const rows = tableRows(failed.stdout);
      expect(rows).toHaveLength(1);
      expect(rows[0]![1]).toMatch(/^MyStep \([01]\/2\)$/);
      expect(rows[0]![2]).toBe('rows failed');
      expect(rows[0]![4]).toBe('1');
      const okOnly = JSON.parse((await on.pipe.cli(['runs', '--status', 'ok', '--since', '1h', '-n', '1', '--json'])).stdout) as RunJson[];
      expect(okOnly).toHaveLength(1);
      expect(okOnly[0]!.outcome).toBe('ok');
      const future = await on.pipe.cli(['runs', '--since', '2999-01-01']);
      expect(future.stdout).toBe('No runs.\n');
    });

    test('when runs gets a bad filter then one error line names it and the fix', async () => {
      for (const [args, message] of [
        [['runs', '--status', 'fine'], "Error: Unknown run status 'fine'"],
        [['runs', '-p', 'MyStpe'], "Error: Unknown processor 'MyStpe'. (Did you mean MyStep?)"],
        [['runs', '--since', 'yesterday'], "Error: --since takes a time ago or a date, got 'yesterday'"],
        [['runs', '-n', '0'], "Error: --limit takes a whole number >= 1, got '0'"],
      ] as const) {
        const result = await on.pipe.cli(args);
        expectExit(result, 1);
        expect(result.stderr.split('\n')[0]).toBe(message);
      }
    });

    test('when the last run of a step had a failed row then status says rows failed, not ok', async () => {
      // In this process: one run, the retried poison row its only row.
      expectExit(await on.pipe.cli(['run', '--sync']), 1);
      const status = await on.pipe.cli(['status']);
      expectExit(status, 0);
      const myStep = tableRows(status.stdout).find((row) => row[0] === 'MyStep')!;
      expect(myStep[6]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d rows failed 0 rows, 1 failed$/);
      const json = JSON.parse((await on.pipe.cli(['status', '--json'])).stdout) as { processor: string; lastRun: { status: string; outcome: string; failedRows: number } }[];
      expect(json.find((s) => s.processor === 'MyStep')!.lastRun).toMatchObject({ status: 'ok', outcome: 'rows-failed', failedRows: 1 });
    });
  });
});
