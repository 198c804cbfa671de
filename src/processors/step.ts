import type { Condition } from '../db/conditions.js';
import type { ModelClass, ModelInstance } from '../db/model.js';
import { Processor } from './processor.js';

/** `'column'`, `'-column'` (descending) or `{ column, order }`. */
export type Ordering = string | { readonly column: string; readonly order?: 'asc' | 'desc' };

export type StepResult =
  | ModelInstance
  | Iterable<ModelInstance>
  | AsyncIterable<ModelInstance>
  | null
  | undefined
  | void;

/**
 * A filter and connector of the stream: selects the rows of `model` that match
 * `conditions`, hands each to `process`, and writes back what changed in it and
 * whatever it returns or yields. Each matching row is processed once per run,
 * `chunkSize` rows per transaction.
 */
export abstract class Step<Row extends ModelInstance = any> extends Processor {
  /** The model whose rows this step reads. */
  static model: ModelClass | undefined = undefined;
  /** Which rows: see `Condition`; `[]` selects every row. */
  static conditions: readonly Condition[] | undefined = undefined;
  /** Processing order. (Default: primary key) */
  static ordering: readonly Ordering[] | undefined = undefined;

  /** Transform one row: change its fields, and/or return or yield new instances. */
  abstract process(row: Row): StepResult | Promise<StepResult>;
}
