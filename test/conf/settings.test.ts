import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { DEFAULT_GRADES, resolveSettings } from '../../src/conf/settings.js';
import { integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { Step } from '../../src/processors/step.js';

class Thing extends model('Thing', { id: integer().primaryKey(), name: string() }) {}
class ThingStep extends Step<Thing> {
  static override model = Thing;
  static override conditions = [];
  process() {}
}

const ROOT = path.resolve('/pipelines/astro');
const FILE = path.join(ROOT, 'astro', 'settings.ts');
const minimal = { name: 'astro', models: { Thing } };

function failure(user: Record<string, unknown>): ImproperlyConfigured {
  try {
    resolveSettings(user, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(ImproperlyConfigured);
    return error as ImproperlyConfigured;
  }
  throw new Error('resolveSettings accepted invalid settings');
}

describe('resolveSettings defaults', () => {
  test('when only name and models are given then the defaults fill in the rest', () => {
    const settings = resolveSettings(minimal, FILE);
    expect(settings.root).toBe(ROOT);
    expect(settings.settingsFile).toBe(FILE);
    expect(settings.connection).toMatchObject({ dialect: 'sqlite', filename: path.join(ROOT, 'astro-dev.db'), label: `sqlite:${path.join(ROOT, 'astro-dev.db')}` });
    expect(settings.chunkSize).toBe(1000);
    expect(settings.logLevel).toBe('info');
    expect(settings.logFormat).toBe('pretty');
    expect(settings.qai).toEqual({ tau: 13, grades: DEFAULT_GRADES });
    expect(settings.steps).toEqual([]);
    expect(settings.alerts).toEqual([]);
    expect(settings.commands).toEqual([]);
    expect(settings.loader).toBeUndefined();
    expect(settings.description).toBe('');
    expect(settings.models).toEqual([Thing]);
    expect(Object.isFrozen(settings)).toBe(true);
  });

  test('when the grades are the defaults then they run from F to A+', () => {
    expect(DEFAULT_GRADES[0]).toBe('F');
    expect(DEFAULT_GRADES[95]).toBe('A+');
    expect(DEFAULT_GRADES[90]).toBe('A-');
  });

  test("when the models module holds other exports then only model classes are kept, and the pipeline's own keys stay readable", () => {
    const settings = resolveSettings({ ...minimal, models: { Thing, helper: () => 1, VERSION: 3 }, steps: [ThingStep], exampleRows: 7 }, FILE);
    expect(settings.models).toEqual([Thing]);
    expect(settings.steps).toEqual([ThingStep]);
    expect(settings.all.exampleRows).toBe(7);
  });

  test('when chunkSize, logLevel and qai are given then they override the defaults', () => {
    const settings = resolveSettings({ ...minimal, chunkSize: 10, logLevel: 'warn', qai: { tau: 7, grades: { 0: 'bad', 50: 'good' } } }, FILE);
    expect(settings.chunkSize).toBe(10);
    expect(settings.logLevel).toBe('warn');
    expect(settings.qai).toEqual({ tau: 7, grades: { 0: 'bad', 50: 'good' } });
  });
});

describe('resolveSettings rejects invalid settings, naming the setting', () => {
  test("when 'steps' contains a string then the error names steps[0] and asks for a class", () => {
    const error = failure({ ...minimal, steps: ['ThingStep'] });
    expect(error.message).toMatch(/^Setting 'steps\[0\]' in .*settings\.ts is invalid: expected a class/);
    expect(error.hint).toContain('steps: [MyStep');
  });

  test.each([0, -1, 2.5, '1000', 2_000_000])('when chunkSize is %s then the error names chunkSize', (chunkSize) => {
    const error = failure({ ...minimal, chunkSize });
    expect(error.message).toMatch(/^Setting 'chunkSize' in /);
    expect(error.hint).toBe('For example: chunkSize: 1000');
  });

  test('when logLevel is unknown then the error names logLevel and the hint lists the levels', () => {
    const error = failure({ ...minimal, logLevel: 'verbose' });
    expect(error.message).toMatch(/^Setting 'logLevel' in /);
    expect(error.hint).toContain('trace, debug, info, warn, error, fatal or silent');
  });

  test('when name is missing then the error names name', () => {
    const error = failure({ models: { Thing } });
    expect(error.message).toMatch(/^Setting 'name' in .* is invalid: expected the pipeline name as a string/);
  });

  test('when name has spaces then the error says which characters are allowed', () => {
    expect(failure({ ...minimal, name: 'my pipe' }).message).toMatch(/Setting 'name'.*letters, digits, _ or -/);
  });

  test('when models is not a module or a list then the error names models', () => {
    const error = failure({ name: 'astro', models: 'models.ts' });
    expect(error.message).toMatch(/^Setting 'models' in .* is invalid: expected the models module/);
  });

  test('when the models list holds something that is not a model class then the error names models', () => {
    expect(failure({ name: 'astro', models: [Thing, 'Other'] }).message).toMatch(/Setting 'models' in .* lists something that is not a model class/);
  });

  test('when the loader is an instance rather than a class then the error names loader', () => {
    expect(failure({ ...minimal, loader: {} }).message).toMatch(/^Setting 'loader' in .* is invalid: expected a class/);
  });

  test('when connection is not a database URL then the error names connection', () => {
    expect(failure({ ...minimal, connection: 'mysql://db' }).message).toBe("Setting 'connection' is not a database URL: 'mysql://db'");
  });

  test('when the module exports nothing then the error says to export the settings', () => {
    expect(() => resolveSettings(undefined, FILE)).toThrow(/must export its settings/);
  });
});
