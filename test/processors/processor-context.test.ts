/**
 * The context a processor, an endpoint, a command and a TestCase work with is their
 * own environment's, handed to them explicitly: two environments open in one process
 * (two pipelines' tests, a test beside a command) never read each other's settings,
 * outbox or output folder, and using the context before the run gives one error that
 * says where to use it instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { ResolvedSettings } from '../../src/conf/settings.js';
import { memoryOutput } from '../../src/core/output.js';
import { boolean, integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { TestCase } from '../../src/qa/test-case.js';
import { Alert } from '../../src/processors/alert.js';
import { Command } from '../../src/processors/command.js';
import { runCustomCommand } from '../../src/run/custom-command.js';
import { Email } from '../../src/processors/endpoints/email.js';
import { File } from '../../src/processors/endpoints/file.js';
import { Webhook } from '../../src/processors/endpoints/webhook.js';
import { openEnvironment, type Environment } from '../../src/run/environment.js';
import { executeProcessor } from '../../src/run/execute.js';
import { Step } from '../../src/processors/step.js';
import { tempDirForFile } from '../helpers/temp-dir.js';
import { unitSettings } from '../helpers/unit-db.js';

const tempDir = tempDirForFile('corral-context-');

class Event extends model('Event', {
  id: integer().primaryKey(),
  label: string().notNull(),
  hot: boolean().notNull().default(false),
}) {}

/** One alert class, three endpoints, shared by every environment below (as a pipeline's module is). */
class HotAlert extends Alert<Event> {
  static override model = Event;
  static override conditions = [{ hot: true }];
  static override alertTo = [new Email({ to: 'night@example.org' }), new Webhook({ url: (settings) => String(settings.hookUrl) }), new File('alerts.log')];
}

class Heat extends Step<Event> {
  static override model = Event;
  static override conditions = [{ hot: false }];
  process(row: Event): void {
    row.hot = this.settings.heatAll === true;
  }
}

const opened: Environment[] = [];
afterEach(async () => {
  for (const env of opened.splice(0)) await env.close();
});

/** A mode-`test` environment of a pipeline named `name`: its own database, outbox and output folder. */
async function testEnvironment(name: string, heatAll = false): Promise<Environment> {
  const settings: ResolvedSettings = unitSettings(path.join(tempDir(), name), {
    name,
    models: [Event],
    steps: [Heat],
    alerts: [HotAlert],
    email: { from: `${name}@example.org` },
    hookUrl: `http://${name}.invalid:8080/hook`,
    heatAll,
  } as never);
  const env = await openEnvironment({ settingsFile: settings.settingsFile, mode: 'test', settings });
  opened.push(env);
  return env;
}

function runIn(env: Environment, Class: Parameters<typeof executeProcessor>[0]) {
  return executeProcessor(Class, { engine: env.engine!, settings: env.settings, logger: env.logger, outbox: env.outbox });
}

describe('two environments in one process', () => {
  test("when both are open then each alert's endpoints use the settings, outbox and output folder of the environment that runs it", async () => {
    // Both open before either runs: whichever opened last must not become "the" settings.
    const alpha = await testEnvironment('alpha');
    const beta = await testEnvironment('beta');
    await alpha.engine!.knex('Event').insert({ label: 'a1', hot: true });
    await beta.engine!.knex('Event').insert([{ label: 'b1', hot: true }, { label: 'b2', hot: true }]);

    expect(await runIn(alpha, HotAlert)).toMatchObject({ status: 'ok', rows: 1 });
    expect(await runIn(beta, HotAlert)).toMatchObject({ status: 'ok', rows: 2 });

    for (const [env, name, rows] of [[alpha, 'alpha', 1], [beta, 'beta', 2]] as const) {
      const deliveries = env.outbox!.deliveries;
      expect(deliveries).toHaveLength(rows * 2);
      for (const delivery of deliveries) {
        if (delivery.endpoint === 'Email') {
          expect(delivery.from).toBe(`${name}@example.org`);
          expect(delivery.subject).toBe(`[ALERT - ${name}] HotAlert`);
          expect(delivery.messageId).toMatch(new RegExp(`^<corral-[0-9a-f]{32}@${name}\\.corral>$`));
          expect(delivery.text).toMatch(new RegExp(`^\\[${name}-ALERT @ `));
        } else {
          expect(delivery.host).toBe(`${name}.invalid:8080`);
        }
      }
      const log = fs.readFileSync(path.join(env.settings.outputRoot, 'alerts.log'), 'utf8');
      expect(log.match(new RegExp(`^\\[${name}-ALERT @ `, 'gm'))).toHaveLength(rows);
    }
    // The same alert, table and key in two pipelines: two deliveries, two keys.
    const keyOf = (env: Environment) => env.outbox!.deliveries.find((d) => d.rowKey === '1')!.idempotencyKey;
    expect(keyOf(alpha)).not.toBe(keyOf(beta));
  });

  test("when a TestCase patches its settings then the subject it runs sees the patch, and neither the patch nor its undoing reaches another environment", async () => {
    const alpha = await testEnvironment('alpha');
    const beta = await testEnvironment('beta', true);
    class HeatAllTest extends TestCase {
      static override subject = Heat;
      override async setup() {
        this.patchSettings({ heatAll: true });
        await this.save(new Event({ label: 'x' }));
      }
      async validate() {
        await this.assertStreamCount(1, Event, [{ hot: true }]);
        this.assertEqual(this.settings.heatAll, true);
      }
    }
    await new HeatAllTest().run(alpha);
    expect(alpha.settings.all.heatAll).toBe(false);

    // beta's own heatAll (true) holds, whatever alpha's test did with its settings.
    await beta.engine!.knex('Event').insert({ label: 'y' });
    expect(await runIn(beta, Heat)).toMatchObject({ status: 'ok', rows: 1 });
    expect(await beta.engine!.knex('Event').select('label', 'hot')).toEqual([{ label: 'y', hot: 1 }]);
    // And alpha's patch ended with its test.
    await alpha.engine!.knex('Event').insert({ label: 'z' });
    expect(await runIn(alpha, Heat)).toMatchObject({ status: 'ok', rows: 1 });
    expect(await alpha.engine!.knex('Event').where({ label: 'z' }).select('hot')).toEqual([{ hot: 0 }]);
  });

  test('when a command of each runs then each reads and writes rows of its own database through the shared row API', async () => {
    const alpha = await testEnvironment('alpha');
    const beta = await testEnvironment('beta');
    class Tally extends Command {
      async handle() {
        await this.save(new Event({ label: `from ${String(this.settings.resolved.name)}` }));
        const events = await this.find(Event);
        const mine = await this.findOne(Event, [{ label: `from ${this.settings.resolved.name}` }]);
        this.print(`${this.settings.resolved.name}: ${events.length} event(s), ${await this.count('Event')} counted by table, found ${String(mine?.label)}`);
      }
    }
    await alpha.engine!.knex('Event').insert({ label: 'old' });
    const outputs = [memoryOutput(), memoryOutput()];
    expect(await runCustomCommand(Tally, alpha, outputs[0]!, {}, [])).toBe(0);
    expect(await runCustomCommand(Tally, beta, outputs[1]!, {}, [])).toBe(0);
    expect(outputs.map((output) => output.stdout)).toEqual(['alpha: 2 event(s), 2 counted by table, found from alpha\n', 'beta: 1 event(s), 1 counted by table, found from beta\n']);
  });
});

describe('the context used before it exists', () => {
  test('when a step reads this.db in its constructor then the step fails with one error that says where to use it', async () => {
    const env = await testEnvironment('early');
    class EagerStep extends Step<Event> {
      static override model = Event;
      static override conditions = [];
      readonly table = this.db('Event');
      process(): void {}
    }
    const stats = await runIn(env, EagerStep);
    expect(stats.status).toBe('failed');
    expect(stats.error!.message).toBe(
      'EagerStep.db is not available before the processor runs: use it in setup(), generate(), process(), renderAlert() or teardown(), not in the constructor or a field initializer.',
    );
  });

  test('when a TestCase, a command or an endpoint reads its context outside its run then each says so, naming class and member', () => {
    class EarlyTest extends TestCase {
      validate() {}
    }
    class EarlyCommand extends Command {
      handle() {}
    }
    expect(() => new EarlyTest().settings).toThrow('EarlyTest.settings is not available before the test runs: use it in setup(), validate() or teardown(), not in the constructor or a field initializer.');
    expect(() => new EarlyCommand().logger).toThrow('EarlyCommand.logger is not available before the command runs: use it in handle(), not in the constructor or a field initializer.');
    expect(() => new File('x.log').resolvedPath).toThrow('File.settings is not available before its alert runs: use it in setup(alert), process(row) or teardown(), not in the constructor or a field initializer.');
  });

  test('when a step saves after its run ended then the error says no transaction is open, rather than writing outside one', async () => {
    const env = await testEnvironment('late');
    await env.engine!.knex('Event').insert({ label: 'x' });
    const kept: Step[] = [];
    class Keeper extends Step<Event> {
      static override model = Event;
      static override conditions = [];
      process(): void {
        kept.push(this);
      }
    }
    expect(await runIn(env, Keeper)).toMatchObject({ status: 'ok', rows: 1 });
    expect(kept).toHaveLength(1);
    await expect(kept[0]!.save(new Event({ label: 'late' }))).rejects.toThrow('Keeper has no transaction open here: save() and delete() work while it runs');
    expect(await env.engine!.knex('Event').count({ n: '*' }).first()).toEqual({ n: 1 });
  });
});
