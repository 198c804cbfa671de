import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { ImproperlyConfigured } from '../core/errors.js';
import { redactConnection } from '../core/redact.js';

/** A database the pipeline can open: its knex configuration and a password-free label. */
export interface ConnectionConfig {
  readonly knex: Knex.Config;
  readonly label: string;
  readonly dialect: 'sqlite' | 'postgres';
  /** The SQLite file, when it is one. */
  readonly filename: string | undefined;
}

export type ConnectionSetting = string | Knex.Config;

function sqlite(filename: string, root: string): ConnectionConfig {
  if (filename === ':memory:') {
    throw new ImproperlyConfigured('An in-memory SQLite database cannot be shared between corral processes', {
      hint: "Use a file, e.g. connection: 'sqlite:pipeline.db'",
    });
  }
  const absolute = path.resolve(root, filename);
  return { knex: { client: 'better-sqlite3', connection: { filename: absolute }, useNullAsDefault: true }, label: `sqlite:${absolute}`, dialect: 'sqlite', filename: absolute };
}

function postgresLabel(connection: unknown): string {
  if (typeof connection === 'string') {
    try {
      const url = new URL(connection);
      url.password = '';
      return url.toString().replace(/:@/, '@');
    } catch {
      return redactConnection(connection);
    }
  }
  const c = (connection ?? {}) as { host?: string; port?: number; user?: string; database?: string };
  return `postgres://${c.user ? c.user + '@' : ''}${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}`;
}

/**
 * Reads `connection`-style settings: `'sqlite:file.db'` (relative to the pipeline
 * folder), `'postgres://user@host:5432/db'`, or a knex configuration object.
 */
export function parseConnection(setting: ConnectionSetting, root: string, settingName = 'connection', subject = `Setting '${settingName}'`): ConnectionConfig {
  if (typeof setting === 'string') {
    const match = /^sqlite3?:(?:\/\/)?(.*)$/.exec(setting);
    if (match) return sqlite(match[1] || '', root);
    if (/^postgres(ql)?:\/\//.test(setting)) {
      return { knex: { client: 'pg', connection: setting }, label: postgresLabel(setting), dialect: 'postgres', filename: undefined };
    }
    // Quoted redacted: a password in a malformed URL must not reach the terminal or a log.
    const driverSuffix = /^(postgres(?:ql)?)\+[\w-]+:\/\//.exec(setting);
    throw new ImproperlyConfigured(`${subject} is not a database URL: '${redactConnection(setting)}'`, {
      hint: driverSuffix
        ? `Drop the driver suffix: corral's URLs start with '${driverSuffix[1]}://' (e.g. 'postgres://user@host:5432/dbname')`
        : "Use 'sqlite:pipeline.db', 'postgres://user@host:5432/dbname' or a knex configuration object",
    });
  }
  const client = String(setting.client ?? '');
  if (/sqlite/.test(client)) {
    const conn = setting.connection as { filename?: string } | undefined;
    if (!conn?.filename) {
      throw new ImproperlyConfigured(`Setting '${settingName}' uses SQLite without connection.filename`);
    }
    const base = sqlite(conn.filename, root);
    return { ...base, knex: { ...setting, client: 'better-sqlite3', connection: { ...conn, filename: base.filename! } } };
  }
  if (client === 'pg' || client === 'postgres' || client === 'postgresql') {
    return { knex: { ...setting, client: 'pg' }, label: postgresLabel(setting.connection), dialect: 'postgres', filename: undefined };
  }
  throw new ImproperlyConfigured(`Setting '${settingName}.client' must be 'better-sqlite3' or 'pg', got '${client}'`);
}

/**
 * Environment variables that replace the `connection` setting, strongest first:
 * corral's own, then the name most hosting platforms and tools set. They never
 * replace `testConnection`: a variable meant for the production database must not
 * send the tests there.
 */
export const CONNECTION_VARIABLES = ['CORRAL_CONNECTION', 'DATABASE_URL'] as const;

/** Where the production connection came from: a variable of `CONNECTION_VARIABLES`, or the settings. */
export type ConnectionSource = (typeof CONNECTION_VARIABLES)[number] | 'settings';

/**
 * The production database: the first of `CONNECTION_VARIABLES` that is set and not
 * empty, else the `connection` setting. A SQLite path in a variable is relative to
 * the pipeline folder, as in the settings.
 */
export function productionConnection(setting: ConnectionSetting, root: string, env: NodeJS.ProcessEnv = process.env): { connection: ConnectionConfig; source: ConnectionSource } {
  for (const variable of CONNECTION_VARIABLES) {
    const value = env[variable]?.trim();
    if (!value) continue;
    try {
      return { connection: parseConnection(value, root, 'connection', `Environment variable ${variable}`), source: variable };
    } catch (error) {
      if (!(error instanceof ImproperlyConfigured)) throw error;
      const fix = error.hint?.startsWith('Drop the driver suffix') ? error.hint : `Set it to a URL such as 'sqlite:pipeline.db' or 'postgres://user@host:5432/dbname'`;
      const wins = variable === 'DATABASE_URL' ? ' (CORRAL_CONNECTION, when set, wins over it)' : '';
      throw new ImproperlyConfigured(error.message, { hint: `${fix}; or unset ${variable} to use the connection of the settings${wins}` });
    }
  }
  return { connection: parseConnection(setting, root), source: 'settings' };
}

let testCounter = 0;

/**
 * The database for one test or one test-mode command: a fresh temporary SQLite file
 * by default, so it can never be the production database.
 */
export function freshTestConnection(setting: ConnectionSetting | undefined, root: string): ConnectionConfig {
  if (setting !== undefined) return parseConnection(setting, root, 'testConnection');
  testCounter += 1;
  const file = path.join(os.tmpdir(), `corral-test-${process.pid}-${Date.now()}-${testCounter}.db`);
  return sqlite(file, root);
}

/** True when two connections point at the same database. */
export function sameDatabase(a: ConnectionConfig, b: ConnectionConfig): boolean {
  return a.label === b.label;
}
