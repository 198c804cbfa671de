import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import repl from 'node:repl';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { describeError } from '../../core/errors.js';
import type { Output } from '../../core/output.js';
import { settingsView } from '../../conf/load.js';
import type { Knex } from 'knex';
import { pushContext, popContext } from '../../db/context.js';
import type { Engine, Transaction } from '../../db/engine.js';
import type { Condition } from '../../db/conditions.js';
import { frameworkModels } from '../../db/bookkeeping/models.js';
import type { ModelClass } from '../../db/model.js';
import { countRowsIn, findRowIn, findRowsIn } from '../../db/queries.js';
import type { Environment } from '../../run/environment.js';
import { defineCommand, envOf, type NoOptions } from '../command-spec.js';

export interface ShellStreams {
  readonly input: Readable & { isTTY?: boolean };
  readonly output: Writable & { isTTY?: boolean };
  /** Where the shell says what became of the transaction. */
  readonly messages: Output;
}

const RULE = '-'.repeat(80);

/**
 * `Planet.find({ … })` and its kin take one condition or a list, as a processor's
 * `conditions` do: `find()`, `find({ ra: null })`, `find(['mag', '<', 12])`,
 * `find({ ra: null }, ['mag', '<', 12])` or `find([{ ra: null }, ['mag', '<', 12]])`.
 */
function conditionList(args: readonly unknown[]): Condition[] {
  if (args.length === 1 && Array.isArray(args[0]) && typeof args[0][0] !== 'string') return args[0] as Condition[];
  return args.filter((a) => a !== undefined) as Condition[];
}

/**
 * A model as the shell shows it: the class itself (`new Planet({…})`, `Planet.table`,
 * `instanceof`), plus query helpers that read through the shell's transaction and
 * return model instances (booleans as booleans, dates as Dates):
 * `await Planet.find(…)`, `await Planet.findOne(…)`, `await Planet.count(…)`.
 */
function withQueries(Model: ModelClass, db: () => Knex): ModelClass {
  const helpers: Record<string, unknown> = {
    find: (...args: unknown[]) => findRowsIn(db(), Model, conditionList(args)),
    findOne: (...args: unknown[]) => findRowIn(db(), Model, conditionList(args)),
    count: (...args: unknown[]) => countRowsIn(db(), Model.table, conditionList(args)),
  };
  return new Proxy(Model, {
    get: (target, key, receiver) => (typeof key === 'string' && key in helpers && !(key in target) ? helpers[key] : Reflect.get(target, key, receiver)),
    has: (target, key) => (typeof key === 'string' && key in helpers) || Reflect.has(target, key),
  });
}

/** The names the shell defines, and the banner lines that announce them. */
function shellLocals(env: Environment, db: () => Knex): { locals: Record<string, unknown>; banner: string[] } {
  const locals: Record<string, unknown> = {};
  const banner: string[] = [];
  const load = (names: Record<string, unknown>, what: string) => {
    const keys = Object.keys(names);
    if (keys.length === 0) return;
    Object.assign(locals, names);
    banner.push(`LOAD: ${keys.join(', ')} (${what})`);
  };
  load({ db: undefined }, `knex, in one transaction on ${env.engine!.label}`);
  load({ settings: settingsView(env.settings) }, `the settings of ${env.settings.name}`);
  load(Object.fromEntries(env.settings.models.map((m) => [m.name, withQueries(m, db)])), 'models, with find, findOne and count');
  const own = new Set(env.settings.models.map((m) => m.name));
  load(Object.fromEntries(frameworkModels.filter((m) => !own.has(m.name)).map((m) => [m.name, withQueries(m, db)])), 'corral models');
  load({ ...env.settings.shellLocals }, 'shellLocals');
  return { locals, banner };
}

/** The shell's transaction: what `db` is bound to, and how it ends. */
interface Session {
  readonly db: Knex;
  /** False when PostgreSQL refuses to commit (a statement failed in the transaction). */
  usable(): Promise<boolean>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/**
 * PostgreSQL: one transaction from the start (rows read stay consistent). corral's
 * sessions have no idle-in-transaction timeout (db/session.ts), so a person may think
 * at the prompt as long as they like; a shell is no run, so no lease applies to it.
 */
async function pgSession(engine: Engine): Promise<Session> {
  const tx: Transaction = await engine.begin();
  return {
    db: tx.db,
    async usable() {
      try {
        await tx.db.raw('select 1');
        return true;
      } catch {
        return false;
      }
    },
    commit: () => tx.commit(),
    rollback: () => tx.rollback(),
  };
}

/**
 * SQLite: the file has one write lock, and an open transaction would hold it from the
 * prompt on, blocking every run. So reads take no lock, and the transaction begins
 * with the first write through `db` (waiting its turn for the lock) and holds the
 * lock until it is committed or rolled back.
 */
function sqliteSession(engine: Engine): Session {
  engine.holdWritesInTransaction();
  const context = { engine, db: engine.knex };
  pushContext(context);
  const raw = engine.sqlite!;
  return {
    db: engine.knex,
    usable: async () => true,
    async commit() {
      popContext(context);
      if (raw.inTransaction) raw.exec('COMMIT');
    },
    async rollback() {
      popContext(context);
      if (raw.inTransaction) raw.exec('ROLLBACK');
    },
  };
}

async function begin(env: Environment): Promise<Session> {
  const engine = env.engine!;
  return engine.sqlite ? sqliteSession(engine) : pgSession(engine);
}

/**
 * A Node REPL on the pipeline. Work through `db` runs in one transaction, committed
 * when the shell ends cleanly (`.exit`, Ctrl-D, end of input) and rolled back when it
 * is killed; `.commit` and `.rollback` end it early and start another.
 *
 * Piped input is fed one line at a time, each after the previous one has finished
 * (awaits included): Node's REPL reads piped lines without waiting for their awaits.
 */
/** Where an interactive shell keeps its history: the pipeline's `.corral/` folder (git-ignored by the scaffold). */
export function shellHistoryFile(env: Environment): string {
  return path.join(env.settings.root, '.corral', 'shell_history');
}

/** Loads the history of earlier sessions into the REPL and saves this one's (Node's own history file format). */
async function keepHistory(server: repl.REPLServer, file: string, messages: Output): Promise<void> {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch {
    // setupHistory reports it below.
  }
  await new Promise<void>((resolve) => {
    server.setupHistory(file, (error) => {
      if (error) messages.err(`Warning: no shell history (${error.message}); the shell works without it.\n`);
      resolve();
    });
  });
}

export async function runShell(env: Environment, streams: ShellStreams): Promise<number> {
  let tx = await begin(env);
  const { locals, banner } = shellLocals(env, () => tx.db);
  const interactive = Boolean(streams.input.isTTY && streams.output.isTTY);
  const feed = interactive ? undefined : new PassThrough();
  streams.output.write([...banner, RULE, '`.commit` and `.rollback` end the transaction early; `.exit` or Ctrl-D commits and leaves.', ''].join('\n'));

  let markReady: () => void = () => undefined;
  let ready = Promise.resolve();
  const server = repl.start({
    input: feed ?? streams.input,
    output: streams.output,
    // At a terminal, the prompt waits for the history: a line typed while it loads would be lost.
    prompt: interactive ? '' : `${env.settings.name}> `,
    terminal: interactive,
    ignoreUndefined: true,
  });
  Object.assign(server.context, locals, { db: tx.db });
  // Only a person's typing is history: piped input is a script, not worth recalling.
  if (interactive) {
    await keepHistory(server, shellHistoryFile(env), streams.messages);
    server.setPrompt(`${env.settings.name}> `);
    server.displayPrompt();
  }
  const displayPrompt = server.displayPrompt.bind(server);
  server.displayPrompt = (preserveCursor?: boolean) => {
    displayPrompt(preserveCursor);
    markReady();
  };

  const restart = async (commit: boolean) => {
    if (commit && (await tx.usable())) {
      await tx.commit();
      streams.messages.err('Committed.\n');
    } else {
      await tx.rollback();
      streams.messages.err(commit ? 'A statement failed in this transaction, so PostgreSQL refuses to commit it: rolled back.\n' : 'Rolled back.\n');
    }
    tx = await begin(env);
    server.context.db = tx.db;
  };
  for (const [name, commit] of [['commit', true], ['rollback', false]] as const) {
    server.defineCommand(name, {
      help: commit ? 'Commit the work done through db so far, and start a new transaction' : 'Undo the work done through db since the last commit',
      action() {
        restart(commit).then(
          () => server.displayPrompt(),
          (error: unknown) => {
            streams.messages.err(`Error: ${describeError(error)}\n`);
            server.displayPrompt();
          },
        );
      },
    });
  }

  let killed = false;
  const onSignal = () => {
    killed = true;
    server.close();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  const exited = new Promise<void>((resolve) => server.on('exit', resolve));

  if (feed) {
    let closed = false;
    void exited.then(() => {
      closed = true;
      markReady();
    });
    const lines = readline.createInterface({ input: streams.input, terminal: false, crlfDelay: Infinity });
    for await (const line of lines) {
      await ready;
      if (closed) break;
      ready = new Promise((resolve) => (markReady = resolve));
      feed.write(line + '\n');
    }
    await ready;
    feed.end();
    lines.close();
  }
  await exited;
  process.removeListener('SIGTERM', onSignal);
  process.removeListener('SIGHUP', onSignal);

  if (!killed && (await tx.usable())) {
    await tx.commit();
    streams.messages.err('Committed.\n');
    return 0;
  }
  await tx.rollback();
  streams.messages.err(killed ? 'Stopped: rolled back.\n' : 'A statement failed in this transaction, so PostgreSQL refuses to commit it: rolled back.\n');
  return 1;
}

export const shell = defineCommand<NoOptions>({
  name: 'shell',
  summary: 'A JavaScript prompt (Node REPL) with the settings, the models and db, a knex in one transaction',
  mode: 'in',
  importsSources: true,
  configure(cmd) {
    cmd.addHelpText(
      'after',
      `
Defines: db (knex bound to one open transaction), settings, every model by its
class name (corral's own too) and the names of the shellLocals setting.
Top-level await works: await db('Example').where({ processed: true }).
Models query the same transaction and give model instances (booleans as
booleans, dates as Dates): await Example.find({ processed: false }),
await Example.findOne(['value', '>', 2]), await Example.count().
At a terminal, the history of earlier sessions is kept in .corral/shell_history
(Up arrow recalls it).
What you do through db is committed when you leave with .exit or Ctrl-D (or when
piped input ends), and rolled back if the shell is killed. .commit and .rollback
end the transaction early and start a new one. On SQLite the transaction begins
with the first write through db and holds the database's write lock until it is
committed: other writers (run, load) wait for .commit, .rollback or .exit; reads
and an idle prompt hold nothing.`,
    );
  },
  async handle(context) {
    return runShell(envOf(context), { input: process.stdin, output: process.stdout, messages: context.output });
  },
});
