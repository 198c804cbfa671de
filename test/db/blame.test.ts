/**
 * blameOf on the errors the real drivers raise: each fault is provoked on a real
 * SQLite file and a real PostgreSQL server, and the error the driver throws must be
 * blamed on its cause (the row, the connection, a retry, the server).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { blameOf, RowRefused } from '../../src/db/blame.js';
import { ProcessorError } from '../../src/core/errors.js';
import { describePg, pgDatabaseForFile } from '../helpers/postgres.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-blame-');

/** The error `work` throws (the test fails if it throws nothing). */
async function thrown(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('SQLite', () => {
  let db: Database.Database;
  beforeAll(() => {
    db = new Database(path.join(tempDir(), 'blame.db'));
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n >= 0))');
    db.prepare('INSERT INTO t (name, n) VALUES (?, ?)').run('taken', 1);
  });
  afterAll(() => db.close());

  test('a taken unique value, a NULL in NOT NULL and a failed CHECK are the row', async () => {
    expect(blameOf(await thrown(() => db.prepare('INSERT INTO t (name) VALUES (?)').run('taken')))).toBe('row');
    expect(blameOf(await thrown(() => db.prepare('INSERT INTO t (name) VALUES (NULL)').run()))).toBe('row');
    expect(blameOf(await thrown(() => db.prepare('INSERT INTO t (name, n) VALUES (?, ?)').run('x', -1)))).toBe('row');
  });

  test('a file locked by another writer is a retry', async () => {
    const other = new Database(path.join(tempDir(), 'blame.db'));
    other.pragma('busy_timeout = 0');
    db.exec('BEGIN IMMEDIATE');
    try {
      expect(blameOf(await thrown(() => other.exec('BEGIN IMMEDIATE')))).toBe('retry');
    } finally {
      db.exec('ROLLBACK');
      other.close();
    }
  });

  test('a read-only database is the server', async () => {
    const file = path.join(tempDir(), 'readonly.db');
    new Database(file).exec('CREATE TABLE r (x)');
    const readonly = new Database(file, { readonly: true });
    try {
      expect(blameOf(await thrown(() => readonly.exec('INSERT INTO r VALUES (1)')))).toBe('server');
    } finally {
      readonly.close();
      fs.rmSync(file);
    }
  });
});

describePg('PostgreSQL', () => {
  const database = pgDatabaseForFile();
  let url: string;
  beforeAll(async () => {
    url = (await database()).url;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE t (id serial PRIMARY KEY, name varchar(5) NOT NULL UNIQUE, n integer CHECK (n >= 0))');
    await client.query("INSERT INTO t (name, n) VALUES ('taken', 1)");
    await client.end();
  });

  async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  test('too long, out of range, invalid text, unique, NOT NULL and CHECK are the row', async () => {
    await withClient(async (client) => {
      const cases = [
        "INSERT INTO t (name) VALUES ('much too long')",
        "INSERT INTO t (name, n) VALUES ('a', 99999999999)",
        "INSERT INTO t (name, n) VALUES ('a', 'x'::integer)",
        "INSERT INTO t (name) VALUES ('taken')",
        'INSERT INTO t (name) VALUES (NULL)',
        "INSERT INTO t (name, n) VALUES ('b', -1)",
      ];
      for (const sql of cases) expect(blameOf(await thrown(() => client.query(sql))), sql).toBe('row');
    });
  });

  test('a backend ended by pg_terminate_backend is the connection, not the row', async () => {
    await withClient(async (victim) => {
      const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await victim.query('BEGIN');
      await withClient((killer) => killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]));
      expect(blameOf(await thrown(() => victim.query('SELECT 1')))).toBe('connection');
    });
  });

  test('a refused connection is the connection', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'test' });
    expect(blameOf(await thrown(() => client.connect()))).toBe('connection');
  });

  test('a deadlock is a retry', async () => {
    await withClient(async (a) =>
      withClient(async (b) => {
        await a.query('CREATE TABLE d (id int PRIMARY KEY, v int)');
        await a.query('INSERT INTO d VALUES (1, 0), (2, 0)');
        await a.query('BEGIN');
        await b.query('BEGIN');
        await a.query('UPDATE d SET v = 1 WHERE id = 1');
        await b.query('UPDATE d SET v = 1 WHERE id = 2');
        // Each now waits for the other's row: the server ends one of them with 40P01.
        const outcomes = await Promise.allSettled([a.query('UPDATE d SET v = 2 WHERE id = 2'), b.query('UPDATE d SET v = 2 WHERE id = 1')]);
        const failed = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
        expect(blameOf(failed.reason)).toBe('retry');
        await a.query('ROLLBACK');
        await b.query('ROLLBACK');
      }),
    );
  });

  test('a cause wrapped by corral keeps its blame', async () => {
    const terminated = await withClient(async (victim) => {
      const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await withClient((killer) => killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]));
      return thrown(() => victim.query('SELECT 1'));
    });
    expect(blameOf(new ProcessorError('MyStep', terminated, '7'))).toBe('connection');
  });
});

test('an error of the pipeline’s own code is nobody the database can name; RowRefused is the row', () => {
  expect(blameOf(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe('unknown');
  expect(blameOf(new RowRefused('Example.name: 300 characters, more than string(200) allows'))).toBe('row');
});

