import path from 'node:path';
import { createRequire } from 'node:module';
import type { z as Z } from 'zod';
import { ImproperlyConfigured } from '../core/errors.js';
import { nearMiss } from '../core/suggest.js';
import type { LogFormat, LogLevel } from '../core/logger.js';
import { isModelClass, type ModelClass } from '../db/model.js';
import { SETTING_KEYS, isClass, plainlyValid } from './settings-shortcut.js';
import { productionConnection, type ConnectionConfig, type ConnectionSetting, type ConnectionSource } from './connection.js';

/**
 * A class the settings name (loader, steps, alerts, commands, pipelineSetup). conf/
 * sits below run/ and cannot know Step or Command: here the schema checks only that
 * it is a class. `buildRegistry` (run/registry.ts) checks each against its base once
 * and types it by kind (`StepClass`, `CommandClass`, ...); nothing reads these
 * fields but the registry and `openEnvironment` (pipelineSetup). `any` because a
 * user's constructor may take anything and `unknown` would refuse it.
 */
type AnyClass = abstract new (...args: any[]) => any;

/** SMTP settings for the Email endpoint. */
export interface EmailSettings {
  host?: string;
  /** (Default: 587, or 465 when `secure`) */
  port?: number;
  /** Connect with TLS from the start (port 465). STARTTLS is used otherwise when offered. */
  secure?: boolean;
  user?: string;
  password?: string;
  /** Sender address. (Default: `user`) */
  from?: string;
}

/** What a pipeline's `settings.ts` exports (through `defineSettings`). */
export interface UserSettings {
  /** The pipeline's name, shown in logs, alerts and reports. */
  name: string;
  /** One paragraph on what the pipeline does, for the generated documentation. */
  description?: string;
  /**
   * The production database. The environment variables `CORRAL_CONNECTION`, then
   * `DATABASE_URL`, replace it when set. (Default: `'sqlite:<name>-dev.db'` in the pipeline folder)
   */
  connection?: ConnectionSetting;
  /**
   * The database of tests and test-mode commands; no environment variable replaces it.
   * (Default: a fresh temporary SQLite file each time)
   */
  testConnection?: ConnectionSetting;
  /** The models module (`import * as models from './models.js'`) or a list of model classes. */
  models: Readonly<Record<string, unknown>> | readonly ModelClass[];
  /** The one Loader class that feeds the stream. */
  loader?: AnyClass;
  /** Step classes; `run --sync` runs them in this order. */
  steps?: readonly AnyClass[];
  /** Alert classes, in the order `check-alerts --sync` runs them. */
  alerts?: readonly AnyClass[];
  /** Custom command classes, shown in `--help`. */
  commands?: readonly AnyClass[];
  /** A PipelineSetup subclass whose `setup`/`teardown` run around every command that opens the database. */
  pipelineSetup?: AnyClass;
  /** Rows per transaction; a failure loses at most this many rows of work. (Default: 1000) */
  chunkSize?: number;
  /** Attempts a failing row gets (the first run included) before it is quarantined. (Default: 3) */
  maxAttempts?: number;
  /** Wait before the first retry of a failed row; doubles with each attempt. (Default: 60) */
  retryDelaySeconds?: number;
  /**
   * How old a worker's heartbeat may get before it counts as dead. On PostgreSQL a
   * thread of each worker beats every quarter of it, however long a chunk takes; a
   * worker whose heartbeat is older is ended by whoever notices (a new run, `status`,
   * a live peer) and its rows go to other workers. SQLite releases a dead process's
   * rows by itself. (Default: 300)
   */
  leaseSeconds?: number;
  /**
   * How long a worker that lost its database connection (a server restart, a network
   * error, an ended session) keeps trying to reconnect, backing off from 0.25 s to 8 s,
   * before it stops with one line naming the cause. No row is blamed either way. (Default: 120)
   */
  reconnectSeconds?: number;
  /** Processes per step or alert, by class name; overrides the class's `static procs`. */
  procs?: Readonly<Record<string, number>>;
  /** (Default: `'info'`) */
  logLevel?: LogLevel;
  /** `'pretty'` lines or `'json'` objects on stderr. (Default: `'pretty'`) */
  logFormat?: LogFormat;
  email?: EmailSettings;
  /** Extra names the `shell` command puts in scope. */
  shellLocals?: Readonly<Record<string, unknown>>;
  /** Quality Assurance Index parameters. */
  qai?: { tau?: number; grades?: Readonly<Record<number, string>> };
  /** Anything else is the pipeline's own, readable by processors as `this.settings.<name>`. */
  [custom: string]: unknown;
}

/** The settings after defaults and validation, as every command and processor sees them. */
export interface ResolvedSettings {
  readonly name: string;
  readonly description: string;
  /** The pipeline folder (the one holding `in_corral.js`); relative paths resolve against it. */
  readonly root: string;
  /**
   * Where endpoints write files given by relative paths: the pipeline folder, or in
   * tests a temporary folder of the test's own, so tests never touch real outputs.
   */
  readonly outputRoot: string;
  readonly settingsFile: string;
  /** The production database: from `CORRAL_CONNECTION`, `DATABASE_URL` or the settings, in that order. */
  readonly connection: ConnectionConfig;
  /** Which of them gave `connection`. */
  readonly connectionSource: ConnectionSource;
  readonly testConnection: ConnectionSetting | undefined;
  readonly models: readonly ModelClass[];
  readonly loader: AnyClass | undefined;
  readonly steps: readonly AnyClass[];
  readonly alerts: readonly AnyClass[];
  readonly commands: readonly AnyClass[];
  readonly pipelineSetup: AnyClass | undefined;
  readonly chunkSize: number;
  readonly maxAttempts: number;
  readonly retryDelaySeconds: number;
  readonly leaseSeconds: number;
  readonly reconnectSeconds: number;
  readonly procs: Readonly<Record<string, number>>;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly email: EmailSettings;
  readonly shellLocals: Readonly<Record<string, unknown>>;
  readonly qai: { readonly tau: number; readonly grades: Readonly<Record<number, string>> };
  /** Every key of the settings module, the pipeline's own included. */
  readonly all: Readonly<Record<string, unknown>>;
}

/** Typing helper for `settings.ts`: returns its argument unchanged. */
export function defineSettings<T extends UserSettings>(settings: T): T {
  return settings;
}

export const DEFAULT_GRADES: Readonly<Record<number, string>> = Object.freeze({
  0: 'F', 60: 'D-', 63: 'D', 67: 'D+', 70: 'C-', 73: 'C', 77: 'C+', 80: 'B-', 83: 'B', 87: 'B+', 90: 'A-', 93: 'A', 95: 'A+',
});

// zod costs ~50 ms to load. Forked children load settings their parent has already
// checked and skip the check, and plainly valid settings need no schema
// (settings-shortcut.ts), so zod is required on first use only.
const require = createRequire(import.meta.url);

function buildSchema(z: typeof Z) {
  const classSchema = z.custom<AnyClass>(isClass, { message: 'expected a class (not an instance, a string or a function)' });
  const connectionSchema = z.union([z.string().min(1), z.looseObject({ client: z.string() })], {
    message: "expected a URL such as 'sqlite:pipeline.db' or 'postgres://user@host/db', or a knex configuration object",
  });

  return z.looseObject({
    name: z.string({ message: 'expected the pipeline name as a string' }).regex(/^[A-Za-z_][\w-]*$/, 'expected letters, digits, _ or -'),
    description: z.string().optional(),
    connection: connectionSchema.optional(),
    testConnection: connectionSchema.optional(),
    models: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())], {
      message: "expected the models module (import * as models from './models.js') or a list of model classes",
    }),
    loader: classSchema.optional(),
    steps: z.array(classSchema).optional(),
    alerts: z.array(classSchema).optional(),
    commands: z.array(classSchema).optional(),
    pipelineSetup: classSchema.optional(),
    chunkSize: z.number().int().positive().max(1_000_000).optional(),
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    retryDelaySeconds: z.number().min(0).optional(),
    leaseSeconds: z.number().min(1).optional(),
    reconnectSeconds: z.number().min(0).optional(),
    procs: z.record(z.string(), z.number().int().min(1).max(256)).optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
    logFormat: z.enum(['pretty', 'json']).optional(),
    email: z
      .object({
        host: z.string().optional(),
        port: z.number().int().positive().optional(),
        secure: z.boolean().optional(),
        user: z.string().optional(),
        password: z.string().optional(),
        from: z.string().optional(),
      })
      .optional(),
    shellLocals: z.record(z.string(), z.unknown()).optional(),
    qai: z
      .object({
        tau: z.number().positive().optional(),
        grades: z.record(z.string().regex(/^\d+(\.\d+)?$/), z.string()).optional(),
      })
      .optional(),
  });
}

let schema: ReturnType<typeof buildSchema> | undefined;

/** The schema of corral's settings (exported for the shortcut's test). */
export function settingsSchema(): ReturnType<typeof buildSchema> {
  if (!schema) {
    schema = buildSchema((require('zod') as { z: typeof Z }).z);
    // The shortcut and the near-miss check know the keys without zod: the two lists must not drift apart.
    const keys = Object.keys(schema.shape);
    if (keys.length !== SETTING_KEYS.length || keys.some((key) => !SETTING_KEYS.includes(key))) {
      throw new Error(`settings-shortcut.ts SETTING_KEYS (${SETTING_KEYS.join(', ')}) differ from the schema's keys (${keys.join(', ')})`);
    }
  }
  return schema;
}

const FIXES: Record<string, string> = {
  name: "name: 'mypipe'",
  models: "import * as models from './models.js'; ... models,",
  loader: "import { Loader } from './load.js'; ... loader: Loader,",
  steps: 'steps: [MyStep, OtherStep]  (the classes themselves, imported)',
  alerts: 'alerts: [MyAlert]',
  connection: "connection: 'sqlite:mypipe.db'",
  chunkSize: 'chunkSize: 1000',
  maxAttempts: 'maxAttempts: 3',
  procs: 'procs: { MyStep: 4 }',
  logLevel: "logLevel: 'info'  (trace, debug, info, warn, error, fatal or silent)",
};

/** corral's own settings keys (`root`, read but undocumented, is left out: a pipeline's `port` is no slip for it). */
/**
 * A pipeline may add keys of its own (`exampleRows`), so an unknown key is no error;
 * but one that is a near miss of corral's own (`chunksize`, `leaseSecond`) would be
 * silently ignored, the default used instead, and nobody told. That is an error.
 */
function checkNearMisses(user: Record<string, unknown>, settingsFile: string): void {
  // corral's own keys, SETTING_KEYS, are checked against the schema's whenever it is built.
  const own = SETTING_KEYS;
  for (const key of Object.keys(user)) {
    if (key === 'root' || own.includes(key)) continue;
    const meant = nearMiss(key, own);
    if (meant) {
      throw new ImproperlyConfigured(`Setting '${key}' in ${settingsFile} is not one of corral's settings (Did you mean ${meant}?)`, {
        hint: `Rename it to '${meant}'; a setting of the pipeline's own needs a name that is not so close to one of corral's`,
      });
    }
  }
}

/**
 * Validates a settings module's export and fills in the defaults. `check: false`
 * skips the schema, for a process whose parent checked the very same settings.
 */
export function resolveSettings(user: unknown, settingsFile: string, options: { check?: boolean } = {}): ResolvedSettings {
  if (typeof user !== 'object' || user === null) {
    throw new ImproperlyConfigured(`${settingsFile} must export its settings (export default defineSettings({...}))`);
  }
  const check = options.check !== false;
  const parsed = check && !plainlyValid(user) ? settingsSchema().safeParse(user) : undefined;
  if (parsed && !parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace('.[', '[');
    const top = String(issue.path[0] ?? '');
    throw new ImproperlyConfigured(`Setting '${key || top}' in ${settingsFile} is invalid: ${issue.message}`, {
      hint: FIXES[top] ? `For example: ${FIXES[top]}` : undefined,
    });
  }
  if (check) checkNearMisses(user as Record<string, unknown>, settingsFile);
  const s = user as UserSettings;
  const root = typeof s.root === 'string' ? path.resolve(s.root) : path.dirname(path.dirname(settingsFile));
  const models = (Array.isArray(s.models) ? s.models : Object.values(s.models)).filter(isModelClass);
  if (Array.isArray(s.models) && models.length !== s.models.length) {
    throw new ImproperlyConfigured(`Setting 'models' in ${settingsFile} lists something that is not a model class`, {
      hint: "Declare models with model('Table', {...}) and list the classes",
    });
  }
  const grades = s.qai?.grades ?? DEFAULT_GRADES;
  const production = productionConnection(s.connection ?? `sqlite:${s.name}-dev.db`, root);
  return Object.freeze({
    name: s.name,
    description: s.description ?? '',
    root,
    outputRoot: root,
    settingsFile,
    connection: production.connection,
    connectionSource: production.source,
    testConnection: s.testConnection,
    models,
    loader: s.loader,
    steps: s.steps ?? [],
    alerts: s.alerts ?? [],
    commands: s.commands ?? [],
    pipelineSetup: s.pipelineSetup,
    chunkSize: s.chunkSize ?? 1000,
    maxAttempts: s.maxAttempts ?? 3,
    retryDelaySeconds: s.retryDelaySeconds ?? 60,
    leaseSeconds: s.leaseSeconds ?? 300,
    reconnectSeconds: s.reconnectSeconds ?? 120,
    procs: s.procs ?? {},
    logLevel: s.logLevel ?? 'info',
    logFormat: s.logFormat ?? 'pretty',
    email: s.email ?? {},
    shellLocals: s.shellLocals ?? {},
    qai: { tau: s.qai?.tau ?? 13, grades },
    all: s,
  });
}
