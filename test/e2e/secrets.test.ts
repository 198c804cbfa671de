/**
 * Issue 11, point 8: a password in `connection` never reaches the terminal, whatever
 * goes wrong: a malformed URL (echoed in the setting's error), a server that refuses
 * (the driver's message, the stack with --traceback), a knex object, a password with
 * characters no URL parser takes, and the log lines of a run that works. Driven as a
 * user would: `node in_corral.js <command>` on a scaffolded pipeline, against the
 * real PostgreSQL server; the password is SECRET-<random>, looked for in stdout and
 * stderr of every command.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { configureSettings } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { PG_URL, createTestDatabase, pgAvailable } from '../helpers/postgres.js';
import { describeResult, type CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-secrets-');
const SECRET = `SECRET${randomBytes(4).toString('hex')}`;
const server = new URL(PG_URL);
let pipe: ScaffoldedPipeline;

beforeAll(async () => {
  pipe = copyPipeline(await createPipeline(tempDir(), 'secretpipe'), tempDir(), 'secretpipe-copy');
  configureSettings(pipe, { logLevel: 'info' });
});

/** Sets `connection` to a TypeScript expression (a quoted URL or an object literal). */
function useConnection(expression: string): void {
  pipe.edit('settings.ts', /^ {2}connection: .*$/m, `  connection: ${expression},`);
}

function expectNoSecret(result: CliResult): void {
  expect(result.stdout + result.stderr, describeResult(result)).not.toContain(SECRET);
}

const errorLines = (result: CliResult) => result.stderr.split('\n').filter((line) => line.startsWith('Error:'));

describe('a connection that cannot be used', () => {
  test('when the URL has a driver suffix (postgresql+psycopg2://) then the Error line shows it with the password as *** and says to drop the suffix', async () => {
    useConnection(`'postgresql+psycopg2://u:${SECRET}@h/db'`);
    for (const args of [['status'], ['run', '--traceback'], ['lssteps']]) {
      const result = await pipe.cli(args);
      expect(result.code).toBe(1);
      expectNoSecret(result);
      expect(errorLines(result)[0]).toBe("Error: Setting 'connection' is not a database URL: 'postgresql+psycopg2://u:***@h/db'");
      expect(result.stderr).toContain("Drop the driver suffix: corral's URLs start with 'postgresql://'");
    }
  });

  test('when the URL cannot be parsed (a blank and an @ in the password, a bad port) then no part of the password is shown', async () => {
    for (const url of [`postgres://u:${SECRET} x@h:notaport/db`, `postgres://u:${SECRET}@x@h:99999/db`]) {
      useConnection(`'${url}'`);
      const result = await pipe.cli(['status', '--traceback']);
      expect(result.code).toBe(1);
      expectNoSecret(result);
      expect(result.stdout + result.stderr).not.toContain(' x@');
      expect(errorLines(result)[0]).toMatch(/^Error: Cannot connect to the database \(postgres:\/\/u:\*\*\*@h:/);
    }
  });

  test.skipIf(!pgAvailable())('when the real server refuses (no such database, nothing on the port) then run, status and dbshell say why without the password, even with --traceback', async () => {
    const host = `${server.hostname}:${server.port || 5432}`;
    const cases = [
      [`'postgres://postgres:${SECRET}@${host}/corral_no_such_database'`, 'database "corral_no_such_database" does not exist'],
      [`'postgres://postgres:${SECRET}@${server.hostname}:1/test'`, 'ECONNREFUSED'],
      [`{ client: 'pg', connection: { host: '${server.hostname}', port: 1, user: 'postgres', password: '${SECRET}', database: 'test' } }`, 'ECONNREFUSED'],
    ] as const;
    for (const [expression, cause] of cases) {
      useConnection(expression);
      for (const args of [['run', '--traceback'], ['status'], ['dbshell', '--builtin']]) {
        const result = await pipe.cli(args);
        expect(result.code, describeResult(result)).toBe(1);
        expectNoSecret(result);
        expect(errorLines(result)[0]).toContain(cause);
      }
    }
  });
});

describe.skipIf(!pgAvailable())('a connection that works', () => {
  test('when a pipeline runs on a URL with a password, and a step logs a URL with one, then no command prints the password', async () => {
    const database = await createTestDatabase();
    try {
      const url = new URL(database.url);
      url.username = url.username || 'postgres';
      url.password = SECRET;
      useConnection(`'${url.toString()}'`);
      pipe.edit('steps.ts', '    row.processed = true;', `    row.processed = true;\n    if (row.id === 1) this.logger.warn('mirrored to ${url.toString()} and to host=h password=${SECRET} dbname=x');`);
      const results: CliResult[] = [];
      results.push(await pipe.cli(['createdb', '--noinput']));
      results.push(await pipe.cli(['run-all', '--log-level', 'debug']));
      results.push(await pipe.cli(['run-all', '--sync', '--log-format', 'json']));
      results.push(await pipe.cli(['status']));
      results.push(await pipe.cli(['dbshell', '--', '-c', 'select count(*) from "Example"']));
      for (const result of results) {
        expect(result.code, describeResult(result)).toBe(0);
        expectNoSecret(result);
      }
      expect(results[1]!.stderr).toContain(`mirrored to postgres://${url.username}:***@`);
      expect(results[1]!.stderr).toContain('password=*** dbname=x');
      for (const line of results[2]!.stderr.split('\n').filter((l) => l.startsWith('{'))) expect(() => JSON.parse(line) as unknown).not.toThrow();
    } finally {
      pipe.edit('steps.ts', /\n {4}if \(row\.id === 1\) this\.logger\.warn\(.*\);/, '');
      await database.drop();
    }
  });
});
