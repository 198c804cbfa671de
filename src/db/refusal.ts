/**
 * Values the database refuses, said so that the user finds the column: corral's own
 * length check (SQLite does not enforce `VARCHAR(n)`, PostgreSQL does: both must
 * refuse the same values), and PostgreSQL's refusals rephrased with the model and
 * the column they concern.
 */
import { RowRefused, blameOf } from './blame.js';
import type { ModelClass } from './model.js';

/**
 * A refused write of a batch, found again row by row: `index` is the row's place in
 * the chunk, so that the step can treat it exactly like a row whose `process` threw.
 */
export class RowRefusedAt extends RowRefused {
  readonly index: number;
  constructor(message: string, index: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RowRefused';
    this.index = index;
  }
}

/**
 * The characters of a string as PostgreSQL counts them (code points). Only asked
 * when the UTF-16 length is over the limit, which a string of surrogate pairs may
 * be and still fit.
 */
function characters(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

/**
 * Throws RowRefused when `value` does not fit `string(limit)`. The caller tests
 * `value.length > limit` first, so a value that fits costs one comparison.
 */
export function refuseTooLong(Model: ModelClass, column: string, limit: number, value: string): void {
  const length = characters(value);
  if (length <= limit) return;
  throw new RowRefused(`${Model.name}.${column}: value too long for string(${limit}) (${length} characters)`);
}

interface PgErrorFields {
  code?: string;
  column?: string;
  constraint?: string;
  detail?: string;
  message?: string;
}

/** The column a PostgreSQL refusal is about: its `column` field, else its detail or constraint, else the only column written. */
function columnOf(Model: ModelClass, error: PgErrorFields, written: readonly string[]): string | undefined {
  if (error.column) return error.column;
  const inDetail = /^Key \(([^)]+)\)=/.exec(error.detail ?? '')?.[1];
  if (inDetail) return inDetail.replaceAll('"', '');
  if (error.constraint) {
    // knex names constraints <table>_<column>_unique / _foreign (PostgreSQL folds them to lower case).
    const constraint = error.constraint.toLowerCase();
    const named = Object.keys(Model.columns).find((name) => [`${Model.table}_${name}_unique`, `${Model.table}_${name}_foreign`].some((c) => c.toLowerCase() === constraint));
    if (named) return named;
  }
  return written.length === 1 ? written[0] : undefined;
}

/**
 * A PostgreSQL refusal of a write to `Model` (columns `written`), as RowRefused naming
 * the model and the column: `Example.tag: duplicate key value violates unique
 * constraint "Example_tag_unique" (PostgreSQL 23505: Key (tag)=(t3) already exists.)`.
 * Any other error is returned as it is.
 */
export function describeRefusal(Model: ModelClass, error: unknown, written: readonly string[], index?: number): unknown {
  if (blameOf(error) !== 'row' || error instanceof RowRefused) return error;
  const fields = error as PgErrorFields;
  const column = columnOf(Model, fields, written);
  const where = column ? `${Model.name}.${column}` : Model.name;
  const detail = fields.detail ? `: ${fields.detail}` : '';
  const message = `${where}: ${fields.message ?? String(error)} (PostgreSQL ${fields.code ?? '?'}${detail})`;
  return index === undefined ? new RowRefused(message, { cause: error }) : new RowRefusedAt(message, index, { cause: error });
}
