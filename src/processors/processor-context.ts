import type { Knex } from 'knex';
import { CommandError, ImproperlyConfigured } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { settingsView, type SettingsView } from '../conf/load.js';
import type { ResolvedSettings } from '../conf/settings.js';
import type { Engine, Transaction } from '../db/engine.js';
import type { Outbox } from './endpoints/outbox.js';

/**
 * The slot that holds the context of a processor, an endpoint, a command or a test
 * case. Set by whoever runs it (executeProcessor, the alert loop for its endpoints,
 * runCustomCommand, TestCase.run), never by user code.
 */
export const CONTEXT = Symbol('corral.context');

/** The slot with what a class tells of when its context exists, for the error when it is used too early. */
export const LIFECYCLE = Symbol('corral.lifecycle');

/** `runs`: "the processor runs"; `use`: where to use the context instead, e.g. "setup() or teardown()". */
export interface Lifecycle {
  readonly runs: string;
  readonly use: string;
}

/** What holds a context: Processor, Endpoint, Command, TestCase. */
export interface ContextOwner {
  [CONTEXT]?: ProcessorContext | undefined;
  readonly [LIFECYCLE]: Lifecycle;
}

/** What the context hands out of the transaction in flight. */
export type InFlight = Pick<Transaction, 'db' | 'isOpen' | 'save' | 'delete'>;

export interface ContextParts {
  /** The class it serves, for messages. */
  readonly owner: string;
  /** Absent for a command in mode `out`. */
  readonly engine: Engine | undefined;
  /** Read on every use: a TestCase's patched settings show at once. */
  readonly settings: () => ResolvedSettings;
  readonly logger: Logger;
  /** Tests: where Email and Webhook keep what they would send (see Outbox). */
  readonly outbox?: Outbox | undefined;
}

/**
 * What a processor works with while it runs, handed to it explicitly rather than
 * read from module-level state: the transaction in flight, the settings, the logger,
 * the outbox of a test and the pipeline's name. Two environments in one process (two
 * TestCases, a test beside a command) therefore never see each other's.
 *
 * The loop that runs the processor re-points `transaction` at every transaction it
 * opens for user code: `enter(tx)` for a chunk (a row of an alert), `inside(work)`
 * for what runs through `inTransaction` (setup, teardown, a TestCase's stages).
 */
export class ProcessorContext {
  readonly owner: string;
  readonly engine: Engine | undefined;
  readonly logger: Logger;
  readonly outbox: Outbox | undefined;
  private readonly settingsOf: () => ResolvedSettings;
  private current: InFlight | undefined;

  constructor(parts: ContextParts) {
    this.owner = parts.owner;
    this.engine = parts.engine;
    this.logger = parts.logger;
    this.outbox = parts.outbox;
    this.settingsOf = parts.settings;
  }

  /** The validated settings. */
  get resolvedSettings(): ResolvedSettings {
    return this.settingsOf();
  }

  /** The settings module's keys plus `resolved` (cached per settings object: nothing is allocated per row). */
  get settings(): SettingsView {
    return settingsView(this.settingsOf());
  }

  get pipelineName(): string {
    return this.settingsOf().name;
  }

  /** Makes `transaction` the one in flight; returns it. */
  enter<T extends InFlight>(transaction: T): T {
    this.current = transaction;
    return transaction;
  }

  /**
   * A callback for `inTransaction` that points this context at the transaction it
   * is given, then runs `work`: `engine.inTransaction(context.inside(() => step.setup()))`.
   */
  inside<T>(work: () => T | PromiseLike<T>): (transaction: InFlight) => Promise<T> {
    return async (transaction) => {
      this.enter(transaction);
      return work();
    };
  }

  /** The open transaction, for saving and deleting rows. */
  get transaction(): InFlight {
    const current = this.current;
    if (current?.isOpen) return current;
    this.requireDatabase();
    throw new ImproperlyConfigured(`${this.owner} has no transaction open here: save() and delete() work while it runs (its hooks and their awaits), not after they returned`, {
      hint: 'Await the work inside the hook instead of leaving it to a timer or a promise nobody awaits',
    });
  }

  /** knex bound to the transaction in flight, or the plain pool between transactions. */
  get db(): Knex {
    const current = this.current;
    if (current?.isOpen) return current.db;
    return this.requireDatabase().knex;
  }

  private requireDatabase(): Engine {
    if (!this.engine) throw new CommandError(`${this.owner} runs in mode 'out': it has no database`);
    return this.engine;
  }
}

/** The context in `owner`'s slot; before it runs, one error that says where to use `member` instead. */
export function contextOf(owner: ContextOwner, member: string): ProcessorContext {
  const context = owner[CONTEXT];
  if (context) return context;
  const { runs, use } = owner[LIFECYCLE];
  throw new ImproperlyConfigured(`${owner.constructor.name}.${member} is not available before ${runs}: use it in ${use}, not in the constructor or a field initializer.`);
}
