/** How dbshell starts the database's own client: the connection filled in, the password kept off the command line. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { clientInvocation, findExecutable } from '../../src/cli/commands/dbshell.js';
import { parseConnection } from '../../src/conf/connection.js';
import { withTempDir } from '../helpers/temp-dir.js';

describe('clientInvocation', () => {
  test('when the database is SQLite then sqlite3 opens its file, with the extra arguments after it', () => {
    const connection = parseConnection('sqlite:data/pipe.db', '/srv/pipe');
    expect(clientInvocation(connection, ['-header'])).toEqual({ program: 'sqlite3', args: ['/srv/pipe/data/pipe.db', '-header'], env: {} });
  });

  test('when a PostgreSQL URL has a password then psql gets it in PGPASSWORD, not in its arguments', () => {
    const connection = parseConnection('postgres://astro:s%40cret@db.example:5433/night', '/srv');
    const invocation = clientInvocation(connection, ['-c', 'select 1']);
    expect(invocation).toEqual({
      program: 'psql',
      args: ['-h', 'db.example', '-p', '5433', '-U', 'astro', '-d', 'night', '-c', 'select 1'],
      env: { PGPASSWORD: 's@cret' },
    });
    expect(invocation.args.join(' ')).not.toContain('cret');
  });

  test('when PostgreSQL is configured as a knex object then its fields are used', () => {
    const connection = parseConnection({ client: 'pg', connection: { host: '127.0.0.1', user: 'postgres', database: 'test' } }, '/srv');
    expect(clientInvocation(connection)).toEqual({ program: 'psql', args: ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test'], env: {} });
  });
});

describe('findExecutable', () => {
  test('when a PATH folder holds an executable file of that name then it is found; a plain file is not', async () => {
    await withTempDir((dir) => {
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'psql'), '#!/bin/sh\n', { mode: 0o755 });
      fs.writeFileSync(path.join(bin, 'sqlite3'), 'not executable', { mode: 0o644 });
      const searchPath = [path.join(dir, 'missing'), bin].join(path.delimiter);
      expect(findExecutable('psql', searchPath)).toBe(path.join(bin, 'psql'));
      expect(findExecutable('sqlite3', searchPath)).toBeUndefined();
      expect(findExecutable('mysql', searchPath)).toBeUndefined();
    });
  });
});
