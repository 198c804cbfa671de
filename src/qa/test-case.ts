import type strictAssert from 'node:assert/strict';
import path from 'node:path';
import { ImproperlyConfigured } from '../core/errors.js';
import { memoryOutput } from '../core/output.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { conditionsToSql, type Condition } from '../db/conditions.js';
import type { ModelClass } from '../db/model.js';
import { Command, type CommandClass } from '../processors/command.js';
import { parseCommandArgs, runCustomCommand } from '../run/custom-command.js';
import { isSubclassOf } from '../processors/processor-kinds.js';
import type { Delivery } from '../processors/endpoints/outbox.js';
import type { Environment } from '../run/environment.js';
import { Processor, type ProcessorClass } from '../processors/processor.js';
import { CONTEXT, LIFECYCLE, ProcessorContext, contextOf, type Lifecycle } from '../processors/processor-context.js';
import { RowApi, streamTable, type StreamTarget } from '../processors/row-api.js';

// node:assert costs a few ms to load, and every process that imports `corral` loads this
// module; only a test asserts, so it is taken on first use.
const assert = (): typeof strictAssert => process.getBuiltinModule('node:assert/strict') as typeof strictAssert;

/** What a command subject left behind, for `validate()`. */
export interface CommandStatus {
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type Subject = ProcessorClass | CommandClass;
/** A pipeline's TestCase class: concrete, so that each run makes a fresh instance. */
export type TestCaseClass = (new () => TestCase) & {
  readonly name: string;
  readonly subject: Subject | undefined;
  readonly runBefore: readonly TestCaseClass[];
  readonly realDelivery: boolean;
};

export type { StreamTarget };

const LIFE: Lifecycle = { runs: 'the test runs', use: 'setup(), validate() or teardown()' };

/**
 * A unit test of one processor or command, run on a fresh throw-away database:
 *
 * 1. the database is created (every table, empty);
 * 2. the `runBefore` cases run their `setup` and their subject, as fixtures;
 * 3. `setup()` puts data into the stream (one transaction, committed);
 * 4. the subject runs, exactly as `run`/`check-alerts`/`load` would run it;
 * 5. `validate()` checks the stream (its own transaction);
 * 6. `teardown()` runs, settings patches are undone, the database is destroyed.
 *
 * Every stage sees the others' work only through the database. `this.db`,
 * `this.find`, `this.save`... (from `RowApi`) work in the transaction of the stage
 * in flight; `this.settings` are the test environment's, patches included.
 */
export abstract class TestCase extends RowApi {
  /** The Loader, Step, Alert or Command class under test. */
  static subject: Subject | undefined = undefined;
  /** Earlier stages to run first, as fixtures: their `setup` and subject, not their `validate`. */
  static runBefore: readonly TestCaseClass[] = [];
  /**
   * Let Email and Webhook endpoints send for real (to the SMTP server and URLs of the
   * settings) in this test, its `runBefore` fixtures included. (Default: false: what
   * they would send goes to `this.outbox`, and nothing leaves the process)
   */
  static realDelivery = false;

  /** Command-line arguments for a command subject (set them in `setup`). */
  cliArgs: string[] = [];
  private status: CommandStatus | undefined;
  private environment: Environment | undefined;
  private patches: { settings: ResolvedSettings; restore: ResolvedSettings } | undefined;

  get [LIFECYCLE](): Lifecycle {
    return LIFE;
  }

  /** Puts the data the subject needs into the stream. */
  setup(): void | Promise<void> {}
  /** Checks the stream after the subject ran. */
  abstract validate(): void | Promise<void>;
  /** Runs last, whatever happened. */
  teardown(): void | Promise<void> {}

  /** Where a relative endpoint path (e.g. `new File('alerts.log')`) lands in this test. */
  outputPath(relative: string): string {
    return path.resolve(this.env.settings.outputRoot, relative);
  }

  /**
   * What the Email and Webhook endpoints of the alerts this test ran (its `runBefore`
   * fixtures included) would have sent, oldest first: `endpoint` (`'Email'` or
   * `'Webhook'`), `alert`, `rowKey`, `idempotencyKey`, and `to`/`from`/`subject`/
   * `text`/`messageId` for an e-mail, `host`/`headers`/`body` for a webhook. Empty
   * with `static realDelivery = true`.
   */
  get outbox(): readonly Delivery[] {
    return this.env.outbox?.deliveries ?? [];
  }

  /** What a command subject printed and returned. */
  get commandStatus(): CommandStatus {
    if (!this.status) throw new Error('commandStatus exists once a command subject has run (in validate and teardown)');
    return this.status;
  }

  /**
   * Overrides settings for this test only (processors see them through
   * `this.settings`); undone when the test ends.
   */
  patchSettings(values: Readonly<Record<string, unknown>>): void {
    const current = this.env.settings;
    const patched = Object.freeze({ ...current, ...pickResolved(values), all: Object.freeze({ ...current.all, ...values }) }) as ResolvedSettings;
    this.patches ??= { settings: patched, restore: current };
    this.patches.settings = patched;
    // The environment's settings are what this test's context and the subjects it runs read.
    (this.env as { settings: ResolvedSettings }).settings = patched;
  }

  /** Fails unless at least one row of `target` matches `conditions`. */
  async assertStreamHas(target: StreamTarget, conditions: readonly Condition[] = [], message?: string): Promise<void> {
    const count = await this.count(target, conditions);
    if (count === 0) assert().fail(message ?? `${this.describe(target, conditions)}: no row found`);
  }

  /** Fails if any row of `target` matches `conditions`. */
  async assertStreamHasNot(target: StreamTarget, conditions: readonly Condition[] = [], message?: string): Promise<void> {
    const count = await this.count(target, conditions);
    if (count !== 0) assert().fail(message ?? `${this.describe(target, conditions)}: ${count} row(s) found, expected none`);
  }

  /** Fails unless exactly `expected` rows of `target` match `conditions`. */
  async assertStreamCount(expected: number, target: StreamTarget, conditions: readonly Condition[] = [], message?: string): Promise<void> {
    const count = await this.count(target, conditions);
    if (count !== expected) assert().fail(message ?? `${this.describe(target, conditions)}: ${count} row(s) found, expected ${expected}`);
  }

  assertEqual<T>(actual: T, expected: T, message?: string): void {
    const strict: typeof strictAssert = assert();
    strict.deepStrictEqual(actual, expected, message);
  }
  assertNotEqual<T>(actual: T, expected: T, message?: string): void {
    assert().notDeepStrictEqual(actual, expected, message);
  }
  /** Equal to `places` decimal places (default 7), as in the paper's tests. */
  assertAlmostEqual(actual: number, expected: number, places = 7, message?: string): void {
    if (!(Math.round(Math.abs(actual - expected) * 10 ** places) === 0)) {
      assert().fail(message ?? `${actual} != ${expected} within ${places} places`);
    }
  }
  assertTrue(value: unknown, message?: string): void {
    const strict: typeof strictAssert = assert();
    strict.ok(value, message ?? `${String(value)} is not truthy`);
  }
  assertFalse(value: unknown, message?: string): void {
    const strict: typeof strictAssert = assert();
    strict.ok(!value, message ?? `${String(value)} is not falsy`);
  }
  assertLess(a: number, b: number, message?: string): void {
    const strict: typeof strictAssert = assert();
    strict.ok(a < b, message ?? `${a} is not less than ${b}`);
  }
  assertGreater(a: number, b: number, message?: string): void {
    const strict: typeof strictAssert = assert();
    strict.ok(a > b, message ?? `${a} is not greater than ${b}`);
  }
  async assertRejects(work: () => Promise<unknown>, expected?: RegExp | (new (...args: any[]) => Error)): Promise<void> {
    await assert().rejects(work, expected as never);
  }

  private get env(): Environment {
    if (!this.environment) throw new Error('The test environment exists only while the test runs');
    return this.environment;
  }

  private describe(target: StreamTarget, conditions: readonly Condition[]): string {
    const { table, Model } = streamTable(target);
    const name = Model ? `Model '${Model.name}'` : `Table '${table}'`;
    if (conditions.length === 0) return name;
    const knex = this.env.engine!.knex;
    const { sql, bindings } = conditionsToSql(knex, Model ?? ({ table } as ModelClass), conditions);
    return `${name} with conditions ${sql} ${JSON.stringify(bindings)}`;
  }

  /** @internal runs this case's life cycle on an open test environment. */
  async run(environment: Environment): Promise<void> {
    this.bind(environment);
    let failure: unknown;
    const fixtures: TestCase[] = [];
    try {
      const Case = this.constructor as TestCaseClass;
      for (const Fixture of Case.runBefore) {
        const fixture = new Fixture();
        fixture.bind(environment);
        fixtures.push(fixture);
        await fixture.stage(() => fixture.setup());
        await fixture.runSubject(Case.realDelivery);
      }
      await this.stage(() => this.setup());
      await this.runSubject(Case.realDelivery);
      await this.stage(() => this.validate());
    } catch (error) {
      failure = error;
    } finally {
      for (const stage of [this, ...fixtures.reverse()]) {
        try {
          await stage.stage(() => stage.teardown());
        } catch (error) {
          failure ??= error;
        }
        stage.restorePatches(environment);
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** The environment, and a context of this case's own over it (the stages' transactions, its settings). */
  private bind(environment: Environment): void {
    this.environment = environment;
    const Case = this.constructor as TestCaseClass;
    this[CONTEXT] = new ProcessorContext({ owner: Case.name, engine: environment.engine, settings: () => environment.settings, logger: environment.logger, outbox: environment.outbox });
  }

  private restorePatches(environment: Environment): void {
    if (!this.patches) return;
    (environment as { settings: ResolvedSettings }).settings = this.patches.restore;
    this.patches = undefined;
  }

  private async stage(work: () => void | Promise<void>): Promise<void> {
    await this.env.engine!.inTransaction(contextOf(this, 'stage').inside(work));
  }

  private async runSubject(realDelivery: boolean): Promise<void> {
    const Case = this.constructor as TestCaseClass;
    const subject = Case.subject;
    if (subject === undefined) {
      throw new ImproperlyConfigured(`${Case.name} has no subject`, { hint: `static subject = MyStep; inside class ${Case.name}` });
    }
    const env = this.env;
    if (subject.prototype instanceof Processor) {
      // In this process, so the alert's endpoints find the outbox in the run's context.
      const outbox = realDelivery ? undefined : env.outbox;
      // Imported here: every module that imports `corral` (a pipeline's settings, in every
      // command) also evaluates this one, and the processor loops are only a test's.
      const { executeProcessor } = await import('../run/execute.js');
      const stats = await executeProcessor(subject as ProcessorClass, { engine: env.engine!, settings: env.settings, logger: env.logger, outbox });
      if (stats.error) throw stats.error;
      return;
    }
    if (isSubclassOf(subject, Command)) {
      const output = memoryOutput();
      const parsed = await parseCommandArgs(subject, this.cliArgs);
      const exitCode = await runCustomCommand(subject, env, output, parsed.options, parsed.args);
      this.status = { args: [...this.cliArgs], exitCode, stdout: output.stdout, stderr: output.stderr };
      return;
    }
    throw new ImproperlyConfigured(`${Case.name}.subject must be a Loader, Step, Alert or Command class`);
  }
}

/** The ResolvedSettings fields a patch may change directly (the rest live in `all`). */
function pickResolved(values: Readonly<Record<string, unknown>>): Partial<ResolvedSettings> {
  const picked: Record<string, unknown> = {};
  for (const key of ['chunkSize', 'email', 'shellLocals', 'description']) if (key in values) picked[key] = values[key];
  return picked as Partial<ResolvedSettings>;
}

export function isTestCaseClass(value: unknown): value is TestCaseClass {
  return typeof value === 'function' && value.prototype instanceof TestCase;
}
