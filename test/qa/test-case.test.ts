/**
 * TestCase in this process, on a mode-`test` environment of its own: what its
 * assertions say when they fail, and what it says when it is used wrongly.
 * (test/e2e/qa-test-command.test.ts runs `test` on a real pipeline.)
 */
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ImproperlyConfigured } from '../../src/core/errors.js';
import { integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { Step } from '../../src/processors/step.js';
import { TestCase, type Subject } from '../../src/qa/test-case.js';
import { openEnvironment, type Environment } from '../../src/run/environment.js';
import { tempDirForFile } from '../helpers/temp-dir.js';
import { unitSettings } from '../helpers/unit-db.js';

const tempDir = tempDirForFile('corral-testcase-');

class Star extends model('Star', { id: integer().primaryKey(), name: string(20) }) {}

class Noop extends Step<Star> {
  static override model = Star;
  static override conditions = [['id', '>', 0]];
  process(): void {}
}

class Broken extends Step<Star> {
  static override model = Star;
  static override conditions = [['id', '>', 0]];
  constructor() {
    super();
    throw new Error('the step cannot start');
  }
  process(): void {}
}

const opened: Environment[] = [];
afterEach(async () => {
  for (const env of opened.splice(0)) await env.close();
});

let count = 0;
async function environment(): Promise<Environment> {
  const settings = unitSettings(path.join(tempDir(), `env${++count}`), { models: [Star], steps: [Noop, Broken] });
  const env = await openEnvironment({ settingsFile: settings.settingsFile, mode: 'test', settings });
  opened.push(env);
  return env;
}

/** Runs a TestCase whose validate() does `check`; returns what it threw. */
async function failureOf(check: (t: TestCase) => void | Promise<void>, given: { subject: Subject | undefined } = { subject: Noop }): Promise<Error | undefined> {
  class Case extends TestCase {
    static override subject = given.subject;
    override async setup() {
      await this.db('Star').insert([{ id: 1, name: 'vega' }, { id: 2, name: 'deneb' }]);
    }
    override async validate() {
      await check(this);
    }
  }
  try {
    await new Case().run(await environment());
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('TestCase assertions', () => {
  test('when a stream assertion fails then the message names the model or table and the conditions as SQL', async () => {
    expect((await failureOf((t) => t.assertStreamHasNot(Star)))?.message).toBe("Model 'Star': 2 row(s) found, expected none");
    expect((await failureOf((t) => t.assertStreamHasNot('Star', [{ name: 'vega' }])))?.message).toBe('Table \'Star\' with conditions `name` = ? ["vega"]: 1 row(s) found, expected none');
    expect((await failureOf((t) => t.assertStreamHasNot(Star, [], 'mine')))?.message).toBe('mine');
    expect(await failureOf((t) => t.assertStreamHasNot(Star, [{ name: 'altair' }]))).toBeUndefined();
  });

  test('when a number assertion fails then the message gives both numbers, or the message given', async () => {
    expect((await failureOf((t) => t.assertAlmostEqual(1, 1.001, 2)))?.message).toBeUndefined();
    expect((await failureOf((t) => t.assertAlmostEqual(1, 1.1, 2)))?.message).toBe('1 != 1.1 within 2 places');
    expect((await failureOf((t) => t.assertAlmostEqual(1, 1.1, 2, 'too far')))?.message).toBe('too far');
    expect((await failureOf((t) => t.assertGreater(1, 2)))?.message).toBe('1 is not greater than 2');
    expect((await failureOf((t) => t.assertGreater(1, 2, 'smaller')))?.message).toBe('smaller');
  });
});

describe('TestCase used wrongly', () => {
  test('when a case has no subject, or a subject that is no processor or command, then it fails saying how to declare one', async () => {
    const none = await failureOf(() => {}, { subject: undefined });
    expect(none).toBeInstanceOf(ImproperlyConfigured);
    expect(none?.message).toBe('Case has no subject');
    const odd = await failureOf(() => {}, { subject: class NotAProcessor {} as unknown as Subject });
    expect(odd?.message).toBe('Case.subject must be a Loader, Step, Alert or Command class');
  });

  test('when the subject fails to start then the test fails with its error', async () => {
    expect((await failureOf(() => {}, { subject: Broken }))?.message).toMatch(/the step cannot start/);
  });

  test('when a case reads its environment or a command status it does not have then it says when they exist', async () => {
    class Early extends TestCase {
      validate() {}
    }
    expect(() => new Early().outbox).toThrow('The test environment exists only while the test runs');
    expect((await failureOf((t) => void t.commandStatus))?.message).toBe('commandStatus exists once a command subject has run (in validate and teardown)');
  });
});
