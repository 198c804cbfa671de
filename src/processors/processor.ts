import { ValidationError } from '../core/errors.js';
import { isModelInstance, type ModelClass, type ModelInstance } from '../db/model.js';
import { LIFECYCLE, type Lifecycle } from './processor-context.js';
import { RowApi, describeValue } from './row-api.js';
import { noteWritten } from './written-tables.js';

const LIFE: Lifecycle = { runs: 'the processor runs', use: 'setup(), generate(), process(), renderAlert() or teardown()' };

/**
 * What Loader, Step and Alert share: lifecycle hooks, and (from `RowApi`) the
 * transaction handle, settings, logger and helpers to read and write rows through
 * it, all from the context `executeProcessor` gives the processor before `setup()`.
 *
 * Terminology:
 * - stream: the pipeline database; the only channel between processors.
 * - processor: a Loader, Step or Alert class listed in the settings.
 * - chunk: the rows one transaction handles (`chunkSize`); a failure loses at most one chunk.
 * - group: a label on a processor, used to select processors on the command line.
 */
export abstract class Processor extends RowApi {
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

  get [LIFECYCLE](): Lifecycle {
    return LIFE;
  }

  /** Runs once before the work, e.g. to open a file. */
  setup(): void | Promise<void> {}

  /** Runs once after the work, always; `error` is what made it fail, if anything. */
  teardown(_error?: unknown): void | Promise<void> {}

  /** Rejects anything the framework cannot store; override to accept more. */
  validate(value: unknown): asserts value is ModelInstance {
    if (!isModelInstance(value)) {
      throw new ValidationError(`${this.constructor.name} produced ${describeValue(value)}; it must produce model instances`, {
        hint: 'Yield or return instances such as new models.Planet({...}), or nothing',
      });
    }
  }

  /** Insert a new instance, or write the changed columns of one that was read (after `validate`). */
  override async save(instance: ModelInstance): Promise<void> {
    this.validate(instance);
    noteWritten(this, instance.model.table);
    await super.save(instance);
  }

  /** Delete the row of this instance (after `validate`). */
  override async delete(instance: ModelInstance): Promise<void> {
    this.validate(instance);
    noteWritten(this, instance.model.table);
    await super.delete(instance);
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
