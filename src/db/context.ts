import type { Knex } from 'knex';
import type { Engine } from './engine.js';

/**
 * The database handle of the work in flight in this process, for the one API that
 * has nothing else to ask: a model instance's `related()` / `relatedMany()`. A row
 * is a plain object of the pipeline's model class; it holds no reference to the
 * processor, test or shell session that read it, and rows are built by the
 * pipeline's own code too (`new Planet({...})`), so `row.related(Star)` can only
 * follow its relation in "the transaction in flight". Everything else (a
 * processor's, command's or test's `this.db`, `this.save`, `this.settings`) reads
 * the explicit context its runner gives it (processors/processor-context.ts), not this.
 *
 * A `Transaction` pushes itself when it opens and pops itself when it ends; `shell`
 * and `exec` push the plain pool for their top level. A corral process runs one
 * processor at a time and one transaction at a time (children are forked per
 * processor; TestCases never overlap), so a plain stack replaces AsyncLocalStorage
 * and costs nothing per row.
 */
export interface DbContext {
  readonly engine: Engine;
  /** knex bound to the open transaction (or the plain pool outside one). */
  readonly db: Knex;
}

const stack: DbContext[] = [];

export function pushContext(context: DbContext): void {
  stack.push(context);
}

export function popContext(context: DbContext): void {
  const index = stack.lastIndexOf(context);
  if (index >= 0) stack.splice(index, 1);
}

export function currentContext(): DbContext {
  const context = stack[stack.length - 1];
  if (!context) {
    throw new Error('No database is open here: rows can follow relations only while a corral command or test runs.');
  }
  return context;
}
