import type { Knex } from 'knex';
import { ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { settingsView, type SettingsView } from '../conf/load.js';
import type { Condition } from '../db/conditions.js';
import { countRows, findRow, findRows } from '../db/queries.js';
import { currentContext } from '../db/context.js';
import type { Transaction } from '../db/engine.js';
import { isModelInstance, type ModelClass, type ModelInstance } from '../db/model.js';
import { noteWritten } from './written-tables.js';

/** Set by the executor before `setup()`; never by user code. */
export const PROCESSOR_LOGGER = Symbol('corral.processorLogger');

/**
 * What Loader, Step and Alert share: lifecycle hooks, the transaction handle and
 * helpers to read and write rows through it.
 *
 * Terminology:
 * - stream: the pipeline database; the only channel between processors.
 * - processor: a Loader, Step or Alert class listed in the settings.
 * - chunk: the rows one transaction handles (`chunkSize`); a failure loses at most one chunk.
 * - group: a label on a processor, used to select processors on the command line.
 */
export abstract class Processor {
  /** Labels to select this processor by (`run -sg NAME`). (Default: `['default']`) */
  static groups: readonly string[] = ['default'];
  /** A sentence for listings and documentation when the class has no doc comment. */
  static description: string | undefined = undefined;
  /** Rows per transaction for this processor. (Default: the `chunkSize` setting) */
  static chunkSize: number | undefined = undefined;
  /**
   * Processes that share this step's or alert's rows in `run`/`check-alerts`/`run-all`
   * (the `procs` setting overrides it per host). (Default: 1)
   */
  static procs: number | undefined = undefined;
  /**
   * Models this processor writes, for the lineage diagram. Runs record what they write
   * anyway (corral_runs.wrote); declare it for a processor that has not run yet, or
   * one that writes through raw `this.db` knex, which is not seen. (Default: none)
   */
  static writes: readonly ModelClass[] = [];

  declare [PROCESSOR_LOGGER]: Logger | undefined;

  /** knex bound to the transaction in flight: run any query of your own through it. */
  get db(): Knex {
    return currentContext().db;
  }

  /** The pipeline's settings, its own keys included (`this.settings.IRIS_PATH`). */
  get settings(): SettingsView {
    return settingsView();
  }

  /** A logger that names this processor. */
  get logger(): Logger {
    const logger = this[PROCESSOR_LOGGER];
    if (!logger) throw new Error('The logger is available once the processor runs');
    return logger;
  }

  /** Runs once before the work, e.g. to open a file. */
  setup(): void | Promise<void> {}

  /** Runs once after the work, always; `error` is what made it fail, if anything. */
  teardown(_error?: unknown): void | Promise<void> {}

  /** Rejects anything the framework cannot store; override to accept more. */
  validate(value: unknown): asserts value is ModelInstance {
    if (!isModelInstance(value)) {
      const shown = typeof value === 'string' ? `'${value}'` : typeof value === 'object' ? JSON.stringify(value) : String(value);
      throw new ValidationError(`${this.constructor.name} produced ${shown} (${value === null ? 'null' : typeof value}); it must produce model instances`, {
        hint: 'Yield or return instances such as new models.Planet({...}), or nothing',
      });
    }
  }

  /** Insert a new instance, or write the changed columns of one that was read. */
  async save(instance: ModelInstance): Promise<void> {
    this.validate(instance);
    noteWritten(this, instance.model.table);
    await (currentContext() as Transaction).save(instance);
  }

  /** Delete the row of this instance. */
  async delete(instance: ModelInstance): Promise<void> {
    this.validate(instance);
    noteWritten(this, instance.model.table);
    await (currentContext() as Transaction).delete(instance);
  }

  /** The rows of `Model` matching `conditions`, as instances, in primary-key order. */
  find<M extends ModelClass>(Model: M, conditions: readonly Condition[] = []): Promise<InstanceType<M>[]> {
    return findRows(Model, conditions);
  }

  /** The first row of `Model` matching `conditions` (by primary key), or null. */
  findOne<M extends ModelClass>(Model: M, conditions: readonly Condition[] = []): Promise<InstanceType<M> | null> {
    return findRow(Model, conditions);
  }

  /** How many rows of `Model` match `conditions`. */
  count(Model: ModelClass, conditions: readonly Condition[] = []): Promise<number> {
    return countRows(Model.table, conditions);
  }
}

export type ProcessorClass<P extends Processor = Processor> = (abstract new () => P) & {
  readonly name: string;
  readonly groups: readonly string[];
  readonly description: string | undefined;
  readonly chunkSize: number | undefined;
  readonly procs: number | undefined;
  readonly writes: readonly ModelClass[];
};
