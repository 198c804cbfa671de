import { describe, expect, test } from 'vitest';
import { SETTING_KEYS, plainlyValid } from '../../src/conf/settings-shortcut.js';
import { settingsSchema } from '../../src/conf/settings.js';

class Step1 {}
class Step2 {}
const models = { Step1 };
const namespace = await import('../../src/conf/settings-shortcut.js');
const base = { name: 'astro', models };

/** Settings the shortcut must accept without the schema (what pipelines write). */
const plain: Record<string, Record<string, unknown>> = {
  minimal: base,
  'the scaffold': {
    ...base, description: 'A corral pipeline.', connection: 'sqlite:astro-dev.db', loader: Step1, steps: [Step1, Step2], alerts: [Step2], commands: [],
    pipelineSetup: Step1, chunkSize: 1000, logLevel: 'info', exampleRows: 3,
  },
  'a module namespace as models': { ...base, models: namespace },
  'a list of models': { ...base, models: [Step1] },
  'every number at its bounds': { ...base, chunkSize: 1_000_000, maxAttempts: 1000, retryDelaySeconds: 0, leaseSeconds: 1, reconnectSeconds: 0, procs: { Step1: 1, Step2: 256 } },
  'a knex configuration': { ...base, connection: { client: 'pg', connection: 'postgres://x@y/z' }, testConnection: 'sqlite::memory:', logFormat: 'json' },
  'optional keys given as undefined': { ...base, description: undefined, steps: undefined, chunkSize: undefined },
};

/** Settings the schema refuses, or that the shortcut leaves to it. */
const others: Record<string, unknown> = {
  'no name': { models },
  'a bad name': { ...base, name: '1abc' },
  'no models': { name: 'astro' },
  'models as a string': { ...base, models: 'models' },
  'an empty connection': { ...base, connection: '' },
  'a connection object without client': { ...base, connection: { filename: 'x.db' } },
  'a step that is a function': { ...base, steps: [function step() {}] },
  'a step that is an instance': { ...base, steps: [new Step1()] },
  // eslint-disable-next-line no-sparse-arrays -- the hole is the case
  'a hole among the steps': { ...base, steps: [Step1, , Step2] },
  'steps not a list': { ...base, steps: Step1 },
  'a loader that is a string': { ...base, loader: 'Loader' },
  'chunkSize 0': { ...base, chunkSize: 0 },
  'chunkSize too big': { ...base, chunkSize: 1_000_001 },
  'chunkSize not an integer': { ...base, chunkSize: 1.5 },
  'chunkSize a string': { ...base, chunkSize: '1000' },
  'chunkSize NaN': { ...base, chunkSize: NaN },
  'maxAttempts 0': { ...base, maxAttempts: 0 },
  'retryDelaySeconds negative': { ...base, retryDelaySeconds: -1 },
  'retryDelaySeconds infinite': { ...base, retryDelaySeconds: Infinity },
  'leaseSeconds under 1': { ...base, leaseSeconds: 0.5 },
  'procs over 256': { ...base, procs: { Step1: 257 } },
  'procs not a record': { ...base, procs: 4 },
  'a log level unknown': { ...base, logLevel: 'verbose' },
  'a log format unknown': { ...base, logFormat: 'xml' },
  'email (left to the schema)': { ...base, email: { host: 'smtp.example.org', port: 25 } },
  'a bad email port': { ...base, email: { port: -1 } },
  'qai (left to the schema)': { ...base, qai: { tau: 2 } },
  'shellLocals (left to the schema)': { ...base, shellLocals: { x: 1 } },
  'a class instance as settings': new (class Settings { name = 'astro'; models = models; })(),
  'a list as settings': [base],
};

describe('the settings check without zod (settings-shortcut.ts)', () => {
  test('when settings are what pipelines write then the shortcut accepts them, and so does the schema', () => {
    for (const [what, settings] of Object.entries(plain)) {
      expect(plainlyValid(settings), what).toBe(true);
      expect(settingsSchema().safeParse(settings).success, what).toBe(true);
    }
  });

  test('when the schema refuses settings then the shortcut never accepts them', () => {
    const refused = Object.entries(others).filter(([, settings]) => !settingsSchema().safeParse(settings).success);
    expect(refused.length).toBeGreaterThan(20);
    for (const [what, settings] of refused) expect(plainlyValid(settings as object), what).toBe(false);
  });

  test('when settings hold a key the shortcut does not judge then it leaves them to the schema', () => {
    for (const key of ['email (left to the schema)', 'qai (left to the schema)', 'shellLocals (left to the schema)', 'a class instance as settings']) {
      expect(plainlyValid(others[key] as object), key).toBe(false);
    }
  });

  test('when the schema is built then its keys are the shortcut list of keys', () => {
    expect(Object.keys(settingsSchema().shape).sort()).toEqual([...SETTING_KEYS].sort());
  });
});
