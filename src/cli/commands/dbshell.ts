import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { CommandError } from '../../core/errors.js';
import type { ConnectionConfig } from '../../conf/connection.js';
import { sqlPrompt } from '../sql-prompt.js';
import { defineCommand, envOf } from '../command-spec.js';

/** The database's own command-line client, with the connection filled in. */
export interface ClientInvocation {
  readonly program: string;
  readonly args: string[];
  /** Added to the environment: the password travels here, never on the command line. */
  readonly env: Record<string, string>;
}

/** `program` on the PATH, or undefined. */
export function findExecutable(program: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

type PgConnection = { connectionString?: string; host?: string; port?: number | string; user?: string; password?: string; database?: string };

function pgParameters(connection: Knex.Config['connection']): PgConnection {
  const given = (typeof connection === 'string' ? { connectionString: connection } : (connection ?? {})) as PgConnection;
  const fromUrl: PgConnection = {};
  if (given.connectionString) {
    const url = new URL(given.connectionString);
    Object.assign(fromUrl, {
      host: url.hostname || undefined,
      port: url.port || undefined,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
    });
  }
  const pick = <K extends keyof PgConnection>(key: K) => given[key] ?? fromUrl[key];
  return { host: pick('host'), port: pick('port'), user: pick('user'), password: pick('password'), database: pick('database') };
}

/** How to start `sqlite3` or `psql` on this connection, with extra arguments for the client. */
export function clientInvocation(connection: ConnectionConfig, extra: readonly string[] = []): ClientInvocation {
  if (connection.dialect === 'sqlite') return { program: 'sqlite3', args: [connection.filename!, ...extra], env: {} };
  const c = pgParameters(connection.knex.connection);
  const args: string[] = [];
  if (c.host) args.push('-h', String(c.host));
  if (c.port) args.push('-p', String(c.port));
  if (c.user) args.push('-U', String(c.user));
  if (c.database) args.push('-d', String(c.database));
  return { program: 'psql', args: [...args, ...extra], env: c.password ? { PGPASSWORD: String(c.password) } : {} };
}

/** Runs the client on this terminal and waits for it; Ctrl-C belongs to the client meanwhile. */
function runClient(executable: string, invocation: ClientInvocation): Promise<number> {
  return new Promise((resolve, reject) => {
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    const child = spawn(executable, invocation.args, { stdio: 'inherit', env: { ...process.env, ...invocation.env } });
    child.on('error', (error) => {
      process.removeListener('SIGINT', ignore);
      reject(new CommandError(`Cannot start ${invocation.program}: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      process.removeListener('SIGINT', ignore);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/** The options of `dbshell`, as `configure` declares them. */
type DbshellOptions = { builtin?: boolean };

export const dbshell = defineCommand<DbshellOptions>({
  name: 'dbshell',
  summary: "Open the database's own client (sqlite3 or psql) on the pipeline database, or corral's built-in SQL prompt",
  mode: 'in',
  configure(cmd) {
    cmd
      .argument('[clientArgs...]', 'extra arguments for sqlite3 or psql (put them after --)')
      .option('--builtin', "use corral's built-in SQL prompt even when the client is installed")
      .addHelpText(
        'after',
        `
Starts sqlite3 (SQLite) or psql (PostgreSQL) with the connection of the settings
filled in (a password is passed in PGPASSWORD, never on the command line). When
the client is not installed, or with --builtin, a small SQL prompt runs instead:
statements end with ';', 'exit;' or Ctrl-D leaves, each statement commits on its
own, and a failing statement prints its error without ending the prompt.
Example: node in_corral.js dbshell -- -c 'select count(*) from "Example"'`,
      );
  },
  async handle(context, options, args) {
    const env = envOf(context);
    const connection = env.connection!;
    const invocation = clientInvocation(connection, args);
    if (!options.builtin) {
      const executable = findExecutable(invocation.program);
      if (executable) return runClient(executable, invocation);
      if (args.length > 0) throw new CommandError(`${invocation.program} is not installed (not found on the PATH), so it cannot take ${args.join(' ')}`);
      context.output.err(`${invocation.program} is not installed (not found on the PATH): using corral's built-in SQL prompt.\n`);
    } else if (args.length > 0) {
      throw new CommandError(`Client arguments (${args.join(' ')}) need the client itself, not --builtin`);
    }
    return sqlPrompt({ engine: env.engine!, input: process.stdin, output: process.stdout });
  },
});
