import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImproperlyConfigured, DBError, describeError } from '../core/errors.js';
import { createLogger, type LogFormat, type Logger, type LogLevel } from '../core/logger.js';
import { freshTestConnection, sameDatabase, type ConnectionConfig } from '../conf/connection.js';
import { compileFallbackReason, loadSettings } from '../conf/load.js';
import { isPipelineSetupClass, type PipelineSetup } from '../conf/pipeline-setup.js';
import type { Mode } from '../conf/mode.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { Engine } from '../db/engine.js';
import { frameworkModels } from '../db/bookkeeping/models.js';
import type { ModelClass } from '../db/model.js';
import { createMissingTables, dropTables } from '../db/schema.js';
import { Outbox } from '../processors/endpoints/outbox.js';
import { buildRegistry, registryWarnings, type Registry } from './registry.js';

/**
 * The database a command works on:
 * - `in`: the production database (`connection`);
 * - `test`: a fresh throw-away database (`testConnection`), created before and destroyed after;
 * - `out`: none at all: settings and classes only, fast.
 */

export interface EnvironmentOptions {
  readonly settingsFile: string;
  readonly mode: Mode;
  readonly logLevel?: LogLevel | undefined;
  readonly logFormat?: LogFormat | undefined;
  /** Use this database instead of the mode's (forked children of a test-mode run). */
  readonly connection?: ConnectionConfig | undefined;
  readonly write?: (line: string) => void;
  /** Mode `in`: create the SQLite file when it does not exist (`createdb`); others refuse to. */
  readonly createDatabase?: boolean | undefined;
  /** Import the pipeline from its compile cache rather than through tsx (see `LoadOptions`). */
  readonly compiled?: boolean | undefined;
  /** With `compiled`: the compiled settings module to import (see `LoadOptions.compiledModule`). */
  readonly compiledModule?: string | undefined;
  /** The settings were already checked by the parent process (forked children). */
  readonly settingsChecked?: boolean | undefined;
  /** The settings, when the caller has loaded them already (the command line has, to build its help). */
  readonly settings?: ResolvedSettings | undefined;
}

/** Everything a command or a child process needs, opened in one place and closed in one place. */
export interface Environment {
  readonly mode: Mode;
  readonly settings: ResolvedSettings;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Absent in mode `out`. */
  readonly engine: Engine | undefined;
  /** The connection the engine uses (children open the same one). */
  readonly connection: ConnectionConfig | undefined;
  /** The pipeline was imported from its compile cache (children do the same). */
  readonly compiled: boolean;
  /**
   * Mode `test` only: where the Email and Webhook deliveries of this environment's
   * alerts are kept instead of being sent (a TestCase hands it to the alerts it runs).
   */
  readonly outbox: Outbox | undefined;
  close(error?: unknown): Promise<void>;
}

/** Every model the pipeline database holds: the pipeline's and corral's own. */
export function allModels(settings: ResolvedSettings): ModelClass[] {
  return [...settings.models, ...frameworkModels];
}

export async function openEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const compiled = options.compiled ?? false;
  const settings = options.settings ?? (await loadSettings(options.settingsFile, { compiled, compiledModule: options.compiledModule, checked: options.settingsChecked }));
  const logger = createLogger({
    name: settings.name,
    level: options.logLevel ?? settings.logLevel,
    format: options.logFormat ?? settings.logFormat,
    ...(options.write ? { write: options.write } : {}),
  });
  if (compiled && compileFallbackReason()) logger.debug(`The pipeline is loaded through tsx, not from .corral/build: ${compileFallbackReason()}`);
  const registry = buildRegistry(settings);
  // Once per command: forked children and test workers get settings their parent checked.
  if (!options.settingsChecked) for (const warning of registryWarnings(registry)) logger.warn(warning);
  if (options.mode === 'out') {
    return { mode: 'out', settings, registry, logger, engine: undefined, connection: undefined, compiled, outbox: undefined, close: async () => undefined };
  }

  let connection = options.connection ?? settings.connection;
  let temporaryFile: string | undefined;
  let testSchema: string | undefined;
  if (options.mode === 'test' && !options.connection) {
    connection = freshTestConnection(settings.testConnection, settings.root);
    if (sameDatabase(connection, settings.connection)) {
      throw new ImproperlyConfigured('testConnection points at the production database; tests would destroy its data', {
        hint: 'Remove testConnection (a temporary SQLite file is used) or point it at a database of its own',
      });
    }
    temporaryFile = settings.testConnection === undefined ? connection.filename : undefined;
    if (connection.dialect === 'postgres') {
      // Two test runs on one PostgreSQL testConnection (`test` beside `coverage`, two CI
      // jobs, two developers) would drop and create the same tables under each other's
      // TestCases. Each TestCase gets a schema of its own instead, first on the search
      // path (the configured one, by default public, follows it, for extensions), created
      // below and dropped on close; forked children get this connection, search path included.
      testSchema = `corral_test_${process.pid}_${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}`;
      const configured = connection.knex.searchPath ?? 'public';
      connection = { ...connection, knex: { ...connection.knex, searchPath: [testSchema, ...(Array.isArray(configured) ? configured : [configured])] } };
    }
  }
  if (options.mode === 'in' && connection.filename && !options.createDatabase && !fs.existsSync(connection.filename)) {
    throw new DBError(`The database file ${connection.filename} does not exist`, { hint: 'Create it with: node in_corral.js createdb' });
  }
  // What is acquired from here on, each with its release, undone last-acquired-first on
  // close and on every failure below: a TestCase opens one environment, and a setup that
  // fails must not leave a pool or a PostgreSQL test schema behind for each of them.
  const releasers: (() => Promise<void>)[] = [];
  try {
    if (temporaryFile) {
      const file = temporaryFile;
      releasers.push(async () => {
        for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
      });
    }
    const engine = await Engine.open({ knex: connection.knex, label: connection.label, leaseSeconds: settings.leaseSeconds, logger });
    releasers.push(async () => engine.destroy());
    let active = settings;
    if (options.mode === 'test') {
      if (testSchema) {
        const schema = testSchema;
        try {
          await engine.knex.raw('CREATE SCHEMA ??', [schema]);
        } catch (error) {
          throw new DBError(`Cannot create the test schema ${schema} in ${connection.label}: ${error instanceof Error ? error.message : String(error)}`, {
            hint: 'The user of testConnection needs the CREATE privilege on its database',
            cause: error,
          });
        }
        releasers.push(async () => void (await engine.knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema])));
      } else if (!temporaryFile) {
        // A configured test database is reused: start each test from empty tables, and leave none behind.
        releasers.push(async () => dropTables(engine, allModels(settings)));
        await dropTables(engine, allModels(settings));
      }
      await createMissingTables(engine, allModels(settings));
      const outputRoot = fs.mkdtempSync(path.join(os.tmpdir(), `corral-test-${settings.name}-`));
      releasers.push(async () => fs.rmSync(outputRoot, { recursive: true, force: true }));
      active = Object.freeze({ ...settings, outputRoot });
    }

    let setup: PipelineSetup | undefined;
    if (settings.pipelineSetup) {
      // Settings hold it as any class (conf/ checks only that it is one); checked here as what it must be.
      const Setup: unknown = settings.pipelineSetup;
      if (!isPipelineSetupClass(Setup)) {
        throw new ImproperlyConfigured(`Setting 'pipelineSetup' (${settings.pipelineSetup.name}) must be a subclass of PipelineSetup`);
      }
      setup = new Setup(active, logger);
      await setup.setup();
    }

    return {
      mode: options.mode,
      settings: active,
      registry,
      logger,
      engine,
      connection,
      compiled,
      outbox: options.mode === 'test' ? new Outbox() : undefined,
      async close(error?: unknown) {
        let failure: { error: unknown } | undefined;
        try {
          if (setup) await setup.teardown(error);
        } catch (teardownError) {
          failure = { error: teardownError };
        }
        const releaseFailure = await releaseAll(releasers);
        failure ??= releaseFailure;
        if (failure) throw failure.error;
      },
    };
  } catch (error) {
    // The error that stopped the opening is the one to report; a release that fails too is logged.
    const releaseFailure = await releaseAll(releasers);
    if (releaseFailure) logger.warn(`Releasing the environment after a failed start failed too: ${describeError(releaseFailure.error)}`);
    throw error;
  }
}

/** Runs every release, last acquired first, even when one fails; returns the first failure. */
async function releaseAll(releasers: (() => Promise<void>)[]): Promise<{ error: unknown } | undefined> {
  let failure: { error: unknown } | undefined;
  for (let release = releasers.pop(); release; release = releasers.pop()) {
    try {
      await release();
    } catch (error) {
      failure ??= { error };
    }
  }
  return failure;
}

/** Fails with "run createdb" when tables the work needs are missing, before any work starts. */
export async function requireTables(engine: Engine, models: readonly ModelClass[]): Promise<void> {
  const missing = await engine.missingTables(models.map((m) => m.table));
  if (missing.length > 0) {
    throw new DBError(`Table${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')} missing in ${engine.label}`, {
      hint: 'Create them with: node in_corral.js createdb',
    });
  }
}


