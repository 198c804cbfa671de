/**
 * openEnvironment in mode `test`, which every TestCase runs: when the test database
 * cannot be set up, what was acquired for it (the pool, the PostgreSQL test schema,
 * the temporary SQLite file) is released, every time. Counted on the servers' own
 * books: pg_stat_activity and pg_namespace, and the files in the temp folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, test } from 'vitest';
import { integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { openEnvironment } from '../../src/run/environment.js';
import { describePg, pgDatabaseForFile, pgQuery } from '../helpers/postgres.js';
import { tempDirForFile } from '../helpers/temp-dir.js';
import { unitSettings } from '../helpers/unit-db.js';

const tempDir = tempDirForFile('corral-env-');

/** The number of times a TestCase-like caller opens an environment that fails. */
const ATTEMPTS = 3;

describePg('a PostgreSQL testConnection whose tables cannot be created', () => {
  const database = pgDatabaseForFile();

  test('when openEnvironment fails after creating the schema then no session and no corral_test schema is left', async () => {
    const { url, name } = await database();
    // A foreign key to a table no model creates: PostgreSQL refuses it inside
    // createMissingTables, after the pool has connected and the schema exists.
    const Sample = model('Sample', { id: integer().primaryKey(), gate_id: integer().references('Gate'), label: string(20) });
    const settings = unitSettings(tempDir(), { models: [Sample], testConnection: url });

    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await expect(openEnvironment({ settingsFile: settings.settingsFile, mode: 'test', settings })).rejects.toThrow(/relation "Gate" does not exist/);
    }

    const sessions = await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    expect(Number(sessions[0]!.n)).toBe(0);
    const schemas = await pgQuery<{ nspname: string }>(url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'corral_test%'");
    expect(schemas).toEqual([]);
  });
});

describe('the temporary SQLite test database', () => {
  test('when openEnvironment fails after creating the file then the file is removed', async () => {
    // Two models on one table: refused by createMissingTables, once the file is open.
    const First = model('Twice', { id: integer().primaryKey() });
    const Second = model('Twice', { id: integer().primaryKey(), other: integer() });
    const settings = unitSettings(tempDir(), { models: [First, Second] });
    const ours = () => fs.readdirSync(os.tmpdir()).filter((file) => file.startsWith(`corral-test-${process.pid}-`));
    const before = ours();

    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await expect(openEnvironment({ settingsFile: settings.settingsFile, mode: 'test', settings })).rejects.toThrow(/both use table 'Twice'/);
    }

    expect(ours()).toEqual(before);
  });
});
