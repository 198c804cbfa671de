import path from 'node:path';
import { afterEach } from 'vitest';
import { activateSettings } from '../../src/conf/load.js';
import { resolveSettings, type ResolvedSettings, type UserSettings } from '../../src/conf/settings.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { Engine } from '../../src/db/engine.js';
import type { ModelClass } from '../../src/db/model.js';
import { createMissingTables } from '../../src/db/schema.js';
import { allModels } from '../../src/run/environment.js';
import { makeTempDir, removeDir } from './temp-dir.js';

/** Settings as `conf/load.ts` would resolve them for a pipeline in `dir` (package folder `dir/unit`). */
export function unitSettings(dir: string, user: Partial<UserSettings> & { models: readonly ModelClass[] }): ResolvedSettings {
  return resolveSettings({ name: 'unit', connection: 'sqlite:unit.db', logLevel: 'silent', ...user }, path.join(dir, 'unit', 'settings.ts'));
}

export interface UnitDb {
  readonly dir: string;
  readonly settings: ResolvedSettings;
  readonly engine: Engine;
  readonly logger: Logger;
  /** The SQLite file. */
  readonly file: string;
}

/**
 * A real pipeline database on a temporary SQLite file, with every table created and
 * the settings active, as `run/environment.ts` leaves things before a processor
 * runs. Closed and removed after the test.
 */
export function useUnitDb(): (user: Partial<UserSettings> & { models: readonly ModelClass[] }) => Promise<UnitDb> {
  const opened: { engine: Engine; dir: string }[] = [];
  afterEach(async () => {
    for (const { engine, dir } of opened.splice(0)) {
      await engine.destroy();
      removeDir(dir);
    }
  });
  return async (user) => {
    const dir = makeTempDir('corral-unit-');
    const settings = unitSettings(dir, user);
    activateSettings(settings);
    const engine = await Engine.open({ knex: settings.connection.knex, label: settings.connection.label });
    opened.push({ engine, dir });
    await createMissingTables(engine, allModels(settings));
    const logger = createLogger({ name: settings.name, level: 'silent', format: 'json' });
    return { dir, settings, engine, logger, file: settings.connection.filename! };
  };
}
