import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { freshTestConnection, parseConnection, sameDatabase } from '../../src/conf/connection.js';
import { resolveSettings } from '../../src/conf/settings.js';
import { runPipelineTests } from '../../src/qa/run-tests.js';
import { memoryOutput } from '../../src/core/output.js';
import { integer } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';

const ROOT = path.resolve('/pipelines/astro');

describe('parseConnection', () => {
  test.each([
    ['sqlite:astro.db', path.join(ROOT, 'astro.db')],
    ['sqlite://astro.db', path.join(ROOT, 'astro.db')],
    ['sqlite3:data/astro.db', path.join(ROOT, 'data', 'astro.db')],
    ['sqlite:/var/db/astro.db', '/var/db/astro.db'],
    ['sqlite:../shared.db', path.resolve(ROOT, '..', 'shared.db')],
  ])('when the setting is %s then the SQLite file is %s (relative paths against the pipeline folder)', (setting, file) => {
    const config = parseConnection(setting, ROOT);
    expect(config.dialect).toBe('sqlite');
    expect(config.filename).toBe(file);
    expect(config.label).toBe(`sqlite:${file}`);
    expect(config.knex).toMatchObject({ client: 'better-sqlite3', connection: { filename: file } });
  });

  test('when the setting is a postgres URL with a password then the label leaves the password out', () => {
    const config = parseConnection('postgres://alice:s3cret@db.example:5433/astro', ROOT);
    expect(config.dialect).toBe('postgres');
    expect(config.label).toBe('postgres://alice@db.example:5433/astro');
    expect(config.label).not.toContain('s3cret');
    expect(config.knex).toEqual({ client: 'pg', connection: 'postgres://alice:s3cret@db.example:5433/astro' });
    expect(parseConnection('postgresql://bob@host/db', ROOT).label).toBe('postgresql://bob@host/db');
  });

  test('when the setting is a knex pg object then it is kept and labelled without the password', () => {
    const config = parseConnection({ client: 'postgresql', connection: { host: 'h', user: 'u', password: 'pw', database: 'd' } }, ROOT);
    expect(config.knex.client).toBe('pg');
    expect(config.label).toBe('postgres://u@h:5432/d');
  });

  test('when the setting is a knex sqlite object then its relative filename resolves against the pipeline folder', () => {
    const config = parseConnection({ client: 'sqlite3', connection: { filename: 'x.db' }, pool: { min: 1, max: 1 } }, ROOT);
    expect(config).toMatchObject({ dialect: 'sqlite', filename: path.join(ROOT, 'x.db') });
    expect(config.knex).toMatchObject({ client: 'better-sqlite3', connection: { filename: path.join(ROOT, 'x.db') }, pool: { min: 1, max: 1 } });
  });

  test('when a knex sqlite object has no filename then ImproperlyConfigured names the setting', () => {
    expect(() => parseConnection({ client: 'better-sqlite3', connection: {} }, ROOT, 'testConnection')).toThrow(
      "Setting 'testConnection' uses SQLite without connection.filename",
    );
  });

  test('when the client is unsupported then ImproperlyConfigured names it', () => {
    expect(() => parseConnection({ client: 'mysql2' }, ROOT)).toThrow("Setting 'connection.client' must be 'better-sqlite3' or 'pg', got 'mysql2'");
  });

  test('when the SQLite file is :memory: then it is refused (children could not share it)', () => {
    expect(() => parseConnection('sqlite::memory:', ROOT)).toThrow(ImproperlyConfigured);
  });

  test('when the setting is not a URL then ImproperlyConfigured shows the forms', () => {
    expect(() => parseConnection('astro.db', ROOT)).toThrow(/is not a database URL/);
  });
});

describe('test connections', () => {
  test('when no testConnection is set then every test database is a different temporary file', () => {
    const a = freshTestConnection(undefined, ROOT);
    const b = freshTestConnection(undefined, ROOT);
    expect(a.dialect).toBe('sqlite');
    expect(a.filename).not.toBe(b.filename);
    expect(sameDatabase(a, b)).toBe(false);
  });

  test('when testConnection equals the production connection then running the tests is refused', async () => {
    const Thing = model('Thing', { id: integer().primaryKey() });
    const settings = resolveSettings(
      { name: 'astro', models: [Thing], connection: 'sqlite:astro.db', testConnection: 'sqlite://astro.db' },
      path.join(ROOT, 'astro', 'settings.ts'),
    );
    const run = runPipelineTests(settings, { selection: {}, failFast: false, verbosity: 0, defaultLogging: false, output: memoryOutput() });
    await expect(run).rejects.toThrow(ImproperlyConfigured);
    await expect(run).rejects.toThrow('testConnection points at the production database');
  });
});
