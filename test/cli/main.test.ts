/**
 * The command line in-process (runFromCommandLine), on the CLI fixture pipeline: with
 * its database on SQLite (settings.ts) and on PostgreSQL (settings-postgres.ts). The
 * tables are created once; each test starts with no Sample rows and seeds its own.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { runFromCommandLine } from '../../src/cli/main.js';
import { memoryOutput } from '../../src/core/output.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { forEachDatabase, pgDatabaseForFile, pgQuery } from '../helpers/postgres.js';
import { queryDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'cli-pipeline', 'clipipe');
const tempDir = tempDirForFile('corral-cli-');

forEachDatabase((dialect) => {
  let settingsFile: string;
  /** What `createdb` names the database by. */
  let label: string;
  let rowsOf: <T = Record<string, unknown>>(sql: string) => Promise<T[]>;
  /** Runs a statement that returns no rows. */
  let execSql: (sql: string) => Promise<void>;
  const database = pgDatabaseForFile();

  /** Runs a command in-process; `answers` reply to its prompts in turn (then end of input). */
  async function cli(argv: string[], answers: string[] = []) {
    const output = memoryOutput();
    const questions: string[] = [];
    const ask = async (question: string) => {
      questions.push(question);
      return answers.shift();
    };
    const code = await runFromCommandLine(argv, { settingsFile, output, ask });
    return { code, stdout: output.stdout, stderr: output.stderr, questions };
  }

  /** `SELECT count(*) FROM "Sample" WHERE <where>` as a number. */
  async function countSamples(where = 'true'): Promise<number> {
    const [row] = await rowsOf<{ n: number | string }>(`SELECT count(*) AS n FROM "Sample" WHERE ${where}`);
    return Number(row!.n);
  }

  beforeAll(async () => {
    // The fixture's settings modules read these once, when the first command loads them.
    if (dialect === 'sqlite') {
      const dbFile = path.join(tempDir(), 'clipipe.db');
      process.env.CORRAL_FIXTURE_DB = dbFile;
      settingsFile = path.join(FIXTURE, 'settings.ts');
      label = `sqlite:${dbFile}`;
      rowsOf = async <T,>(sql: string) => queryDb<T>(dbFile, sql);
      execSql = async (sql) => {
        const db = new Database(dbFile, { fileMustExist: true });
        try {
          db.prepare(sql).run();
        } finally {
          db.close();
        }
      };
    } else {
      const { url } = await database();
      process.env.CORRAL_FIXTURE_PG_URL = url;
      settingsFile = path.join(FIXTURE, 'settings-postgres.ts');
      label = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1@'); // as corral labels it: no password
      rowsOf = async <T,>(sql: string) => (await pgQuery(url, sql)) as T[];
      execSql = async (sql) => void (await pgQuery(url, sql));
    }
    const created = await cli(['createdb', '--noinput']);
    expect(created.code, created.stderr).toBe(0);
  });

  beforeEach(async () => {
    await execSql('DELETE FROM "Sample"');
  });

  /** Seeds `n` samples (values 1..n) through the fixture's own command. */
  async function seed(n: number): Promise<void> {
    const seeded = await cli(['seed', String(n)]);
    expect(seeded.code, seeded.stderr).toBe(0);
  }

  describe('command names', () => {
    test('when the command is unknown then the exit code is 1 and the error suggests the closest command', async () => {
      const result = await cli(['lsstep']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Error: unknown command 'lsstep'");
      expect(result.stderr).toContain('(Did you mean lssteps?)');
      expect(result.stderr).toContain("Run 'node in_corral.js --help' for the list of commands");
      expect(result.stdout).toBe('');
    });

    test('when no arguments are given then the help goes to stderr and the exit code is 1', async () => {
      const result = await cli([]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Usage: node in_corral.js [options] [command]');
      expect(result.stderr).toContain('clipipe: Fixture pipeline of the CLI tests.');
    });

    test('when --help is asked then built-in and custom commands are listed with their summaries and the exit code is 0', async () => {
      const result = await cli(['--help']);
      expect(result.code).toBe(0);
      for (const name of ['create', 'createdb', 'load', 'run', 'check-alerts', 'run-all', 'lssteps', 'lsalerts', 'groups', 'test']) {
        expect(result.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
      }
      expect(result.stdout).toMatch(/^ {2}seed \[options\] <n> +Add N samples with values 1\.\.N$/m);
    });

    test('when a custom command runs then it gets its argument, writes through its transaction and prints', async () => {
      const result = await cli(['seed', '3']);
      expect(result).toMatchObject({ code: 0, stdout: 'seeded 3\n' });
      expect(await countSamples()).toBe(3);
    });

    test('when a custom command declares an option then its handle receives it by its camel-case name', async () => {
      const result = await cli(['seed', '2', '--first-value', '10']);
      expect(result).toMatchObject({ code: 0, stdout: 'seeded 2\n' });
      expect(await rowsOf('SELECT value FROM "Sample" ORDER BY value')).toEqual([{ value: 10 }, { value: 11 }]);
    });

    test('when the caller gives the output then it is plain text, even with FORCE_COLOR', async () => {
      const saved = { FORCE_COLOR: process.env.FORCE_COLOR, NO_COLOR: process.env.NO_COLOR };
      process.env.FORCE_COLOR = '1';
      delete process.env.NO_COLOR;
      try {
        const [table, help, unknown] = [await cli(['lssteps']), await cli(['--help']), await cli(['lsstep'])];
        for (const result of [table, help, unknown]) expect(result.stdout + result.stderr).not.toContain('\x1b[');
      } finally {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      }
    });
  });

  describe('listings', () => {
    test('when lssteps runs then it prints a table of steps and groups in settings order', async () => {
      const result = await cli(['lssteps']);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(
        [
          '+------------+-------------+',
          '| Step Class | Groups      |',
          '+============+=============+',
          '| Tag        | text:labels |',
          '| Double     | math        |',
          '| Flag       | math:labels |',
          '+------------+-------------+',
          '',
        ].join('\n'),
      );
    });

    test('when lssteps is filtered by group then only those steps are listed', async () => {
      const result = await cli(['lssteps', '-g', 'labels']);
      expect(result.stdout).toContain('| Tag ');
      expect(result.stdout).toContain('| Flag ');
      expect(result.stdout).not.toContain('| Double ');
    });

    test('when lsalerts runs on a pipeline without alerts then it says so', async () => {
      const result = await cli(['lsalerts']);
      expect(result).toMatchObject({ code: 0, stdout: '  NO ALERTS FOUND\n' });
    });

    test('when lssteps, lsalerts and groups get --json then each prints one JSON document', async () => {
      const steps = await cli(['lssteps', '--json', '-g', 'labels']);
      expect(steps.code).toBe(0);
      const listed = JSON.parse(steps.stdout) as { steps: { name: string; groups: string[]; procs: number; chunkSize: number }[] };
      expect(listed.steps.map((s) => [s.name, s.groups])).toEqual([
        ['Tag', ['text', 'labels']],
        ['Flag', ['math', 'labels']],
      ]);
      for (const step of listed.steps) expect(step).toEqual({ name: step.name, groups: step.groups, procs: expect.any(Number), chunkSize: expect.any(Number) });
      expect(JSON.parse((await cli(['lsalerts', '--json'])).stdout)).toEqual({ alerts: [] });
      expect(JSON.parse((await cli(['groups', '--json'])).stdout)).toEqual({ steps: ['labels', 'math', 'text'], alerts: [] });
    });

    test('when run gets --json then the summary is a document on stdout and not lines on stderr', async () => {
      await seed(2);
      const result = await cli(['run', '--sync', '--json', '-s', 'Double']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'ok', exitCode: 0, processors: [{ processor: 'Double', kind: 'step', outcome: 'ok', rows: 2, failedRows: 0, errors: [] }] });
      expect(result.stderr).not.toMatch(/^ {2}ok /m);
    });

    test('when groups runs then every group of steps is listed', async () => {
      const result = await cli(['groups']);
      expect(result.stdout).toContain('| Steps     | labels:math:text |');
      expect(result.stdout).toContain('| Alerts    | -                |');
    });
  });

  describe('step selection', () => {
    test('when a step name is unknown then the exit code is 1, the closest step is suggested and nothing runs', async () => {
      await seed(3);
      const before = await rowsOf('SELECT * FROM "Sample" ORDER BY id');
      const result = await cli(['run', '--sync', '-s', 'Dubble']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Error: Unknown step 'Dubble'. (Did you mean Double?)");
      expect(result.stderr).toContain('Known steps: Tag, Double, Flag');
      expect(await rowsOf('SELECT * FROM "Sample" ORDER BY id')).toEqual(before);
    });

    test('when a group is unknown then the error lists the known groups', async () => {
      const result = await cli(['run', '--sync', '-sg', 'maths']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Error: Unknown step group 'maths'. (Did you mean math?)");
    });

    test('when -sg names a group then only the steps of that group run', async () => {
      await seed(3);
      const result = await cli(['run', '--sync', '-sg', 'math']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/ok +step +Double +\d+ rows/);
      expect(result.stderr).toMatch(/ok +step +Flag +\d+ rows/);
      expect(result.stderr).not.toContain('Tag');
      const rows = await rowsOf<{ doubled: number | null; tag: string | null }>('SELECT doubled, tag FROM "Sample"');
      expect(rows).toHaveLength(3);
      expect(rows.every((r) => r.doubled !== null && r.tag === null)).toBe(true);
    });

    test('when a step is named with -s then only that step runs', async () => {
      await seed(3);
      const result = await cli(['run', '--sync', '-s', 'Tag']);
      expect(result.code, result.stderr).toBe(0);
      expect(await countSamples('tag IS NOT NULL')).toBe(3);
      expect(await countSamples('doubled IS NOT NULL')).toBe(0);
    });

    test('when both names and groups are given then the command is refused and nothing runs', async () => {
      await seed(3);
      const before = await rowsOf('SELECT * FROM "Sample" ORDER BY id');
      const result = await cli(['run', '--sync', '-s', 'Tag', '-sg', 'math']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Error: Choose steps by name or by group, not both');
      expect(await rowsOf('SELECT * FROM "Sample" ORDER BY id')).toEqual(before);
    });
  });

  describe('other command-line errors', () => {
    test('when createdb is not confirmed then nothing is created and the exit code is 1', async () => {
      const result = await cli(['createdb'], ['maybe', 'no']);
      expect(result.code).toBe(1);
      expect(result.questions).toEqual([`Create the tables of 'clipipe' in ${label}? [yes/no] `, "Please answer 'yes' or 'no': "]);
      expect(result.stderr).toBe('Nothing was created.\n');
    });

    test('when createdb is confirmed on an existing database then it reports the tables as left unchanged', async () => {
      const result = await cli(['createdb'], ['yes']);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('Already present (left unchanged): Sample, corral_alerted, corral_failures, corral_runs\n');
    });

    test('when an option is unknown then the error names it', async () => {
      const result = await cli(['run', '--fast']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Error: unknown option '--fast'");
    });

    test('when the settings file does not exist then the error names it, even for a pipeline command', async () => {
      const output = memoryOutput();
      const code = await runFromCommandLine(['run'], { settingsFile: path.join(tempDir(), 'nope', 'settings.ts'), output });
      expect(code).toBe(1);
      expect(output.stderr).toContain(`Error: Settings file not found: ${path.join(tempDir(), 'nope', 'settings.ts')}`);
    });
  });

  describe('status, failures and run-all arguments', () => {
    test('when failures names an unknown processor then the closest one is suggested and the known ones listed', async () => {
      const result = await cli(['failures', '-p', 'Dubble', '--clear']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Error: Unknown processor 'Dubble'. (Did you mean Double?)");
      expect(result.stderr).toContain('Known: Tag, Double, Flag');
    });

    test('when failures gets both --retry and --clear then it refuses', async () => {
      const result = await cli(['failures', '--retry', '--clear']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Error: Choose --retry or --clear, not both');
    });

    test('when no row has failed then failures says so, and --retry and --clear touch nothing', async () => {
      expect(await cli(['failures'])).toMatchObject({ code: 0, stdout: 'No failed rows.\n' });
      expect(await cli(['failures', '--json'])).toMatchObject({ code: 0, stdout: '[]\n' });
      expect(await cli(['failures', '--retry', '-p', 'Tag'])).toMatchObject({ code: 0, stdout: '0 failed row(s) will be retried on the next run\n' });
      expect(await cli(['failures', '--clear'])).toMatchObject({ code: 0, stdout: '0 failure record(s) cleared\n' });
    });

    test('when status --json runs then each step shows as backlog the rows its conditions select', async () => {
      // Values 1..4, Tag already run on the first two: Tag 2 left, Double 4, Flag 2 (value > 2).
      await seed(4);
      await execSql(`UPDATE "Sample" SET tag = 'done' WHERE value <= 2`);
      const expected = { Tag: 2, Double: 4, Flag: 2 };
      expect(await countSamples('tag IS NULL')).toBe(expected.Tag);
      const result = await cli(['status', '--json']);
      expect(result.code, result.stderr).toBe(0);
      const statuses = JSON.parse(result.stdout) as { processor: string; kind: string; backlog: number }[];
      expect(statuses.map((s) => [s.processor, s.kind, s.backlog])).toEqual([
        ['Tag', 'step', expected.Tag],
        ['Double', 'step', expected.Double],
        ['Flag', 'step', expected.Flag],
      ]);
    });

    test('when run-all gets both --loop and --until-idle, or a bad --interval, then it refuses before running anything', async () => {
      await seed(3);
      const before = await rowsOf('SELECT * FROM "Sample" ORDER BY id');
      const both = await cli(['run-all', '--sync', '--loop', '--until-idle']);
      expect(both.code).toBe(1);
      expect(both.stderr).toContain('Error: Choose --loop or --until-idle, not both');
      const interval = await cli(['run-all', '--sync', '--loop', '--interval', 'soon']);
      expect(interval.code).toBe(1);
      expect(interval.stderr).toContain("Error: --interval takes seconds (a number >= 0), got 'soon'");
      expect(await rowsOf('SELECT * FROM "Sample" ORDER BY id')).toEqual(before);
    });
  });
});
