import type { Knex } from 'knex';
import { ImproperlyConfigured, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SettingsView } from '../conf/load.js';
import type { Condition } from '../db/conditions.js';
import { countRowsIn, findRowIn, findRowsIn } from '../db/queries.js';
import { isModelClass, isModelInstance, type ModelClass, type ModelInstance } from '../db/model.js';
import { CONTEXT, LIFECYCLE, contextOf, type Lifecycle, type ProcessorContext } from './processor-context.js';

/** A model class or a table name. */
export type StreamTarget = ModelClass | string;

/** The table of a model class or a table name, and the model when there is one. */
export function streamTable(target: StreamTarget): { table: string; Model: ModelClass | undefined } {
  if (isModelClass(target)) return { table: target.table, Model: target };
  if (typeof target === 'string') return { table: target, Model: undefined };
  throw new ImproperlyConfigured(`Rows are counted in a model class or a table name, got ${String(target)}`);
}

/** A value that should have been a model instance, for an error: `'text' (string)`, `{"a":1} (object)`. */
export function describeValue(value: unknown): string {
  const shown = typeof value === 'string' ? `'${value}'` : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `${shown} (${value === null ? 'null' : typeof value})`;
}

function requireModelInstance(owner: RowApi, value: unknown, method: string): asserts value is ModelInstance {
  if (isModelInstance(value)) return;
  throw new ValidationError(`${owner.constructor.name}.${method}() was given ${describeValue(value)}; it takes model instances`, {
    hint: 'Pass an instance such as new models.Planet({...}), or one that find() returned',
  });
}

/**
 * What a Processor, a Command and a TestCase share: the database, settings and
 * logger of the run they belong to, read from the context their runner put in
 * their slot, and the row helpers over it. Written once here.
 */
export abstract class RowApi {
  declare [CONTEXT]: ProcessorContext | undefined;
  /** When the context exists, for the error when it is used before (each base class says). */
  abstract get [LIFECYCLE](): Lifecycle;

  /** knex bound to the transaction in flight: run any query of your own through it. */
  get db(): Knex {
    return contextOf(this, 'db').db;
  }

  /** The pipeline's settings, its own keys included (`this.settings.IRIS_PATH`), and `resolved`. */
  get settings(): SettingsView {
    return contextOf(this, 'settings').settings;
  }

  /** A logger that names this processor (the pipeline's logger for commands and tests). */
  get logger(): Logger {
    return contextOf(this, 'logger').logger;
  }

  /** The rows of `Model` matching `conditions`, as instances, in primary-key order. */
  find<M extends ModelClass>(Model: M, conditions: readonly Condition[] = []): Promise<InstanceType<M>[]> {
    return findRowsIn(contextOf(this, 'find').db, Model, conditions);
  }

  /** The first row of `Model` matching `conditions` (by primary key), or null. */
  findOne<M extends ModelClass>(Model: M, conditions: readonly Condition[] = []): Promise<InstanceType<M> | null> {
    return findRowIn(contextOf(this, 'findOne').db, Model, conditions);
  }

  /** How many rows of a model (or a table, by name) match `conditions`. */
  count(target: StreamTarget, conditions: readonly Condition[] = []): Promise<number> {
    return countRowsIn(contextOf(this, 'count').db, streamTable(target).table, conditions);
  }

  /** Insert a new instance, or write the changed columns of one that was read. */
  async save(instance: ModelInstance): Promise<void> {
    requireModelInstance(this, instance, 'save');
    await contextOf(this, 'save').transaction.save(instance);
  }

  /** Delete the row of this instance. */
  async delete(instance: ModelInstance): Promise<void> {
    requireModelInstance(this, instance, 'delete');
    await contextOf(this, 'delete').transaction.delete(instance);
  }
}
