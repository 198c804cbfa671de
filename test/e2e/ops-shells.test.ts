/**
 * shell, dbshell and exec as a user runs them: `node in_corral.js ...` in a
 * scaffolded pipeline, with standard input piped in.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { findExecutable } from '../../src/cli/commands/dbshell.js';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, describePg, pgQuery } from '../helpers/postgres.js';
import { cleanEnv, runCli } from '../helpers/run-cli.js';
import { queryDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-shells-');
let pipe: ScaffoldedPipeline;

/** `node in_corral.js <args>` with `input` piped to it. */
const typed = (target: ScaffoldedPipeline, args: string[], input: string, env?: Record<string, string>) =>
  runCli(['in_corral.js', ...args], { cwd: target.root, input, ...(env ? { env } : {}) });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error:'));
const names = () => queryDb<{ name: string }>(pipe.dbFile, 'SELECT name FROM Example ORDER BY id').map((r) => r.name);

/** What the model query helpers are asked in the shell, and what it must answer (the scaffold's 3 example rows). */
const QUERIES = [
  'const rows = await Example.find({ processed: false })',
  "rows.filter((e) => e.name.startsWith('example-')).length",
  'rows[0] instanceof Example',
  'typeof rows[0].processed',
  'rows[0]',
  "(await Example.findOne(['value', '>', 1])).name",
  "await Example.findOne({ name: 'nobody' })",
  "await Example.count(['name', 'like', 'example-%'])",
  'await Example.count({ processed: true }, [\'value\', \'<\', 10])',
  "(await Example.find([{ processed: false }, ['value', '>=', 2], ['name', 'like', 'example-%']])).map((e) => e.id)",
];
function expectQueryAnswers(stdout: string, prompt: string): void {
  const answers = stdout.split(prompt).map((a) => a.trim()).filter(Boolean);
  expect(answers, stdout).toEqual(
    expect.arrayContaining(['3', 'true', "'boolean'", "'example-2'", 'null', '0', '[ 2, 3 ]']),
  );
  expect(stdout).toMatch(/Example \{\s+id: 1,\s+name: 'example-1',\s+value: 1,\s+processed: false,\s+doubled: null\s+\}/);
}

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'shellpipe');
  pipe.edit('settings.ts', '  exampleRows: 3,\n', '  exampleRows: 3,\n  shellLocals: { answer: 42 },\n');
  expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  expectExit(await pipe.cli(['load']), 0);
});

describe('shell', () => {
  test('when lines are piped in then they run in order with top-level await, an error does not end the shell, and the work is committed at the end', async () => {
    const result = await typed(
      pipe,
      ['shell'],
      [
        "await db('Example').insert({ name: 'from-shell', value: 7 })",
        "throw new Error('boom in the shell')",
        "await db('nowhere').select()",
        "const n = (await db('Example').count({ n: '*' }))[0].n",
        'n + answer',
        'settings.name',
        'Example.table',
        '.exit',
        "await db('Example').insert({ name: 'after-exit', value: 0 })",
      ].join('\n') + '\n',
    );
    expectExit(result, 0);
    const banner = result.stdout.split('\n');
    expect(banner.slice(0, 6)).toEqual([
      `LOAD: db (knex, in one transaction on sqlite:${pipe.dbFile})`,
      'LOAD: settings (the settings of shellpipe)',
      'LOAD: Example (models, with find, findOne and count)',
      'LOAD: Alerted, Failure, Run (corral models)',
      'LOAD: answer (shellLocals)',
      '-'.repeat(80),
    ]);
    expect(result.stdout).toContain('Uncaught Error: boom in the shell');
    expect(result.stdout).toMatch(/no such table: nowhere/);
    expect(result.stdout).toMatch(/shellpipe> 46\n/);
    expect(result.stdout).toContain("'shellpipe'");
    expect(result.stdout).toContain("'Example'");
    expect(result.stderr).toContain('Committed.');
    expect(names()).toEqual(['example-1', 'example-2', 'example-3', 'from-shell']);
  });

  test('when .rollback is typed then the work before it is undone, and the work after it is committed', async () => {
    const result = await typed(
      pipe,
      ['shell'],
      ["await db('Example').insert({ name: 'undone', value: 1 })", '.rollback', "await db('Example').insert({ name: 'kept', value: 2 })"].join('\n') + '\n',
    );
    expectExit(result, 0);
    expect(result.stderr).toContain('Rolled back.');
    expect(names()).toContain('kept');
    expect(names()).not.toContain('undone');
  });

  test('when models are queried with find, findOne and count then model instances come back, booleans as booleans', async () => {
    const result = await typed(pipe, ['shell'], QUERIES.join('\n') + '\n');
    expectExit(result, 0);
    expect(result.stdout).toContain('LOAD: Example (models, with find, findOne and count)');
    expectQueryAnswers(result.stdout, 'shellpipe> ');
  });

  test.skipIf(!findExecutable('script'))('when the shell is used at a terminal then its history is kept in .corral/ and the Up arrow recalls it in the next session', async () => {
    const history = path.join(pipe.root, '.corral', 'shell_history');
    fs.rmSync(history, { force: true });
    const first = await atTerminal(pipe, async (session) => {
      await session.waitFor('shellpipe> ');
      session.type('6 * 7 + 1000\r');
      await session.waitFor('1042');
      session.type('\x04'); // Ctrl-D
    });
    expect(first.code, first.output).toBe(0);
    expect(fs.readFileSync(history, 'utf8').split('\n')).toContain('6 * 7 + 1000');
    const second = await atTerminal(pipe, async (session) => {
      await session.waitFor('shellpipe> ');
      const before = session.output().length;
      session.type('\x1b[A');
      await session.waitFor('6 * 7 + 1000', before);
      session.type('\r');
      await session.waitFor('1042', before);
      session.type('.exit\r');
    });
    expect(second.code, second.output).toBe(0);
  });

  test('when the help is asked then it lists what the shell defines', async () => {
    const result = await pipe.cli(['shell', '--help']);
    expectExit(result, 0);
    expect(result.stdout).toContain('Defines: db (knex bound to one open transaction), settings, every model');
  });
});

/** A session at a terminal: the CLI under `script`, which gives it a pseudo-terminal. */
interface TerminalSession {
  type(text: string): void;
  output(): string;
  /** Resolves when `text` appears in the output after `from`; the guard fails the test after 60 s of nothing. */
  waitFor(text: string, from?: number): Promise<void>;
}

async function atTerminal(target: ScaffoldedPipeline, drive: (session: TerminalSession) => Promise<void>): Promise<{ code: number | null; output: string }> {
  const child = spawn('script', ['-q', '-e', '-c', `${process.execPath} in_corral.js shell`, '/dev/null'], {
    cwd: target.root,
    env: cleanEnv({ TERM: 'xterm' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: (() => void)[] = [];
  const onData = (chunk: string) => {
    output += chunk;
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const session: TerminalSession = {
    type: (text) => void child.stdin.write(text),
    output: () => output,
    async waitFor(text, from = 0) {
      const guard = Date.now() + 60_000;
      while (!output.slice(from).includes(text)) {
        if (Date.now() > guard || child.exitCode !== null) throw new Error(`no '${text}' in the terminal:\n${output}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 1000);
        });
      }
    },
  };
  try {
    await drive(session);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { code: await exited, output };
}

describe('dbshell', () => {
  test('when --builtin gets statements then it prints tables and counts, reports errors and goes on until exit;', async () => {
    const result = await typed(
      pipe,
      ['dbshell', '--builtin'],
      "select name, value from Example where id <= 2 order by id;\nselect * from nowhere;\nupdate Example set value = value where id < 3;\nexit;\nselect 1;\n",
    );
    expectExit(result, 0);
    expect(result.stdout).toContain(`Connected to: sqlite:${pipe.dbFile}`);
    expect(result.stdout).toContain(['| name      | value |', '+===========+=======+', '| example-1 | 1     |', '| example-2 | 2     |'].join('\n'));
    expect(result.stdout).toContain('Error: no such table: nowhere');
    expect(result.stdout).toContain('(2 rows affected)');
    expect(result.stdout).not.toContain('| 1 |');
  });

  test.skipIf(!findExecutable('sqlite3'))('when sqlite3 is installed then dbshell opens it on the pipeline database', async () => {
    const result = await typed(pipe, ['dbshell'], "select count(*) from Example where name like 'example-%';\n");
    expectExit(result, 0);
    expect(result.stdout.trim()).toBe('3');
  });

  test.skipIf(!findExecutable('sqlite3'))('when client arguments follow -- then they reach the client', async () => {
    const result = await pipe.cli(['dbshell', '--', '-header', 'select name from Example where id = 1;']);
    expectExit(result, 0);
    expect(result.stdout).toBe('name\nexample-1\n');
  });

  test('when .tables and \\d TABLE are typed in the built-in prompt then it lists the tables and describes one', async () => {
    const result = await typed(pipe, ['dbshell', '--builtin'], '.tables\n\\d Example\n');
    expectExit(result, 0);
    expect(result.stdout).toMatch(/^\| Example +\|$/m);
    expect(result.stdout).toMatch(/^\| corral_runs +\|$/m);
    expect(result.stdout).toContain('Table Example\n');
    expect(result.stdout).toMatch(/^\| processed +\| boolean +\| no +\| '?0'? +\|$/m);
    expect(result.stdout).toContain('Primary key: id');
  });

  test('when the client is not installed then the built-in prompt takes over, saying why', async () => {
    // A PATH without the client (the CLI itself is started by absolute path).
    const bare = path.join(tempDir(), 'bare-bin');
    fs.mkdirSync(bare, { recursive: true });
    const result = await typed(pipe, ['dbshell'], 'select count(*) as n from Example;\n', { PATH: bare });
    expectExit(result, 0);
    expect(result.stderr).toContain("sqlite3 is not installed (not found on the PATH): using corral's built-in SQL prompt.");
    expect(result.stdout).toMatch(/\| n +\|/);
  });
});

describe('exec', () => {
  test('when the file has a default export then it runs in a transaction with db, settings, models, logger and args', async () => {
    const script = path.join(pipe.root, 'tag.ts');
    fs.writeFileSync(
      script,
      [
        "import type { Knex } from 'knex';",
        'export default async function ({ db, settings, models, logger, args }: { db: Knex; settings: Record<string, unknown>; models: Record<string, { table: string }>; logger: { info(m: string): void }; args: string[] }) {',
        "  await db(models.Example!.table).insert({ name: `tag-${args.join('+')}`, value: Number(settings.exampleRows) });",
        "  logger.info('tagged');",
        '  return 0;',
        '}',
      ].join('\n'),
    );
    const result = await pipe.cli(['exec', 'tag.ts', 'a', 'b']);
    expectExit(result, 0);
    expect(result.stderr).toMatch(/tag\.ts: tagged/);
    expect(queryDb(pipe.dbFile, "SELECT value FROM Example WHERE name = 'tag-a+b'")).toEqual([{ value: 3 }]);
  });

  test('when the file is plain top-level code then it runs on import and may use the pipeline modules', async () => {
    fs.writeFileSync(
      path.join(pipe.root, 'count.js'),
      "import { Example } from './shellpipe/models.js';\nconsole.log(`table ${Example.table}`);\n",
    );
    const result = await pipe.cli(['exec', 'count.js']);
    expectExit(result, 0);
    expect(result.stdout).toBe('table Example\n');
  });

  test('when the default export throws then its work is rolled back and one error line says why', async () => {
    fs.writeFileSync(
      path.join(pipe.root, 'fail.js'),
      "export default async function ({ db }) {\n  await db('Example').insert({ name: 'never', value: 0 });\n  throw new Error('no luck tonight');\n}\n",
    );
    const result = await pipe.cli(['exec', 'fail.js']);
    expectExit(result, 1);
    expect(errorLines(result.stderr)).toEqual(['Error: fail.js failed: no luck tonight']);
    expect(names()).not.toContain('never');
  });

  test('when the file does not exist or is no script then exec fails with one error line', async () => {
    const missing = await pipe.cli(['exec', 'nope.ts']);
    expectExit(missing, 1);
    expect(errorLines(missing.stderr)).toEqual(['Error: File not found: nope.ts']);
    const folder = await pipe.cli(['exec', 'shellpipe']);
    expectExit(folder, 1);
    expect(errorLines(folder.stderr)).toEqual(['Error: exec runs a .ts or .js file, not shellpipe']);
    const none = await pipe.cli(['exec']);
    expectExit(none, 1);
    expect(errorLines(none.stderr)).toEqual(["Error: missing required argument 'file'"]);
  });
});

describePg('on PostgreSQL', () => {
  test('when shell, dbshell and psql run on a PostgreSQL pipeline then they work on its database', async () => {
    const database = await createTestDatabase();
    try {
      const pg = await createPipeline(tempDir(), 'shellpg');
      pg.edit('settings.ts', "connection: 'sqlite:shellpg-dev.db'", `connection: '${database.url}'`);
      expectExit(await pg.cli(['createdb', '--noinput']), 0);

      expectExit(await pg.cli(['load']), 0);
      const queries = await typed(pg, ['shell'], QUERIES.join('\n') + '\n');
      expectExit(queries, 0);
      expectQueryAnswers(queries.stdout, 'shellpg> ');
      await pgQuery(database.url, 'DELETE FROM "Example"');

      const shell = await typed(pg, ['shell'], "await db('Example').insert({ name: 'pg-shell', value: 1 })\n");
      expectExit(shell, 0);
      expect(shell.stderr).toContain('Committed.');

      // A failed statement spoils a PostgreSQL transaction: the shell says so and rolls back.
      const spoiled = await typed(pg, ['shell'], "await db('Example').insert({ name: 'spoiled', value: 1 })\nawait db('nowhere').select()\n");
      expectExit(spoiled, 1);
      expect(spoiled.stderr).toContain('PostgreSQL refuses to commit it: rolled back');
      expect(await pgQuery(database.url, 'SELECT name FROM "Example" ORDER BY id')).toEqual([{ name: 'pg-shell' }]);

      const builtin = await typed(pg, ['dbshell', '--builtin'], 'select name from "Example";\nselect 1 / 0;\nselect \'still here\' as s;\n\\dt\n.schema Example\n');
      expectExit(builtin, 0);
      expect(builtin.stdout).toMatch(/^\| Example +\|$/m);
      expect(builtin.stdout).toContain('Table Example\n');
      expect(builtin.stdout).toMatch(/^\| processed +\| boolean +\| no +\| false +\|$/m);
      expect(builtin.stdout).toContain('Primary key: id');
      expect(builtin.stdout).toContain('| pg-shell |');
      expect(builtin.stdout).toContain('Error: division by zero');
      expect(builtin.stdout).toContain('| still here |');

      if (findExecutable('psql')) {
        const psql = await typed(pg, ['dbshell', '--', '-A', '-t', '-c', 'select count(*) from "Example"'], '');
        expectExit(psql, 0);
        expect(psql.stdout.trim()).toBe('1');
      }
    } finally {
      await database.drop();
    }
  });
});
