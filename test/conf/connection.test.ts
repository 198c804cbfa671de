import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { freshTestConnection, parseConnection, productionConnection, sameDatabase } from '../../src/conf/connection.js';
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

describe('productionConnection', () => {
  const settings = 'sqlite:astro.db';

  test.each([
    ['nothing set: the settings', {}, 'settings', `sqlite:${path.join(ROOT, 'astro.db')}`],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://u@h:5432/prod' }, 'DATABASE_URL', 'postgres://u@h:5432/prod'],
    ['CORRAL_CONNECTION before DATABASE_URL', { CORRAL_CONNECTION: 'sqlite:mine.db', DATABASE_URL: 'postgres://u@h:5432/prod' }, 'CORRAL_CONNECTION', `sqlite:${path.join(ROOT, 'mine.db')}`],
    ['an empty CORRAL_CONNECTION counts as unset', { CORRAL_CONNECTION: ' ', DATABASE_URL: 'postgres://u@h:5432/prod' }, 'DATABASE_URL', 'postgres://u@h:5432/prod'],
  ] as const)('when %s then that database is used', (_label, env, source, label) => {
    const chosen = productionConnection(settings, ROOT, env);
    expect(chosen.source).toBe(source);
    expect(chosen.connection.label).toBe(label);
  });

  test('when a variable carries a password then the label leaves it out', () => {
    expect(productionConnection(settings, ROOT, { DATABASE_URL: 'postgres://u:pw-secret@h:5432/prod' }).connection.label).toBe('postgres://u@h:5432/prod');
  });

  test('when DATABASE_URL is no URL corral reads then the error names it, redacted, and says how to fall back', () => {
    let caught: unknown;
    try {
      productionConnection(settings, ROOT, { DATABASE_URL: 'mysql://u:pw-secret@h/prod' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ImproperlyConfigured);
    const error = caught as ImproperlyConfigured;
    expect(error.message).toBe("Environment variable DATABASE_URL is not a database URL: 'mysql://u:***@h/prod'");
    expect(error.hint).toContain('unset DATABASE_URL to use the connection of the settings (CORRAL_CONNECTION, when set, wins over it)');
  });

  test('when the settings resolve then the variables replace connection and never testConnection', () => {
    const saved = process.env.CORRAL_CONNECTION;
    process.env.CORRAL_CONNECTION = 'sqlite:from-env.db';
    try {
      const resolved = resolveSettings({ name: 'astro', models: [], connection: 'sqlite:astro.db', testConnection: 'sqlite:tests.db', root: ROOT }, path.join(ROOT, 'astro', 'settings.ts'));
      expect(resolved.connection.label).toBe(`sqlite:${path.join(ROOT, 'from-env.db')}`);
      expect(resolved.connectionSource).toBe('CORRAL_CONNECTION');
      expect(resolved.testConnection).toBe('sqlite:tests.db');
    } finally {
      if (saved === undefined) delete process.env.CORRAL_CONNECTION;
      else process.env.CORRAL_CONNECTION = saved;
    }
  });
});
