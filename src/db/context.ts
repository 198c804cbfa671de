import type { Knex } from 'knex';
import type { Engine } from './engine.js';

/**
 * The database handle of the work in flight in this process. A corral process runs
 * one processor at a time and one transaction at a time (children are forked per
 * processor), so a plain stack replaces AsyncLocalStorage and costs nothing per row.
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
