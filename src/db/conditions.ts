import type { Knex } from 'knex';
import { ImproperlyConfigured } from '../core/errors.js';
import type { ModelClass } from './model.js';

/**
 * A clause a run adds to its work set's query (failures backing off, rows already
 * alerted). `addsNothing`, when given, says that it adds no clause right now: a work
 * set may then reuse a chunk query compiled without it (run/work-set.ts).
 */
export type Restriction = ((query: Knex.QueryBuilder) => void) & { readonly addsNothing?: () => boolean };

/**
 * Whether the SQL and bindings that `conditions` add are the same at every call: data
 * only (objects, lists, knex.raw), no function, which could build another clause or
 * bind another value (a time) each time it is called.
 */
export function fixedConditions(conditions: readonly Condition[]): boolean {
  const values = (condition: Condition): readonly unknown[] =>
    Array.isArray(condition) ? condition : typeof condition === 'object' && condition !== null && !('toSQL' in condition) ? Object.values(condition) : [];
  return conditions.every((condition) => typeof condition !== 'function' && values(condition).every((value) => typeof value !== 'function'));
}

/**
 * How a processor selects its slice of the stream. A list of these is ANDed; every
 * value is bound as a parameter, never spliced into SQL.
 *
 * - `{ ra: null, status: 'raw' }`: equality, `null` meaning IS NULL;
 * - `['app_mag', '<', 12]` or `['status', 'raw']`: one column, an operator, a value
 *   (`'is not', null` gives IS NOT NULL; `'in', [...]` and `'between', [a, b]` work too);
 * - `(q) => q.where(...).orWhere(...)`: any knex query-builder expression, for ORs and joins;
 * - `knex.raw('...', bindings)` when nothing else fits.
 */
export type Condition =
  | Readonly<Record<string, unknown>>
  | readonly unknown[]
  | ((query: Knex.QueryBuilder) => unknown)
  | Knex.Raw;

function isRaw(value: unknown): value is Knex.Raw {
  return typeof value === 'object' && value !== null && typeof (value as { toSQL?: unknown }).toSQL === 'function' && 'sql' in value;
}

const OPERATORS = new Set(['=', '<', '>', '<=', '>=', '<>', '!=', 'like', 'not like', 'ilike', 'in', 'not in', 'between', 'not between', 'is', 'is not']);

/** Checks a processor's conditions against its model once, so a typo fails before any row is read. */
export function checkConditions(owner: string, Model: ModelClass, conditions: readonly Condition[]): void {
  if (!Array.isArray(conditions)) {
    throw new ImproperlyConfigured(`${owner}.conditions must be a list`, { hint: 'e.g. static conditions = [{ ra: null }] (an empty list selects every row)' });
  }
  const known = (column: string) => column in Model.columns || column.includes('.');
  for (const condition of conditions) {
    if (typeof condition === 'function' || isRaw(condition)) continue;
    if (Array.isArray(condition)) {
      const [column, op] = condition as unknown[];
      if (typeof column !== 'string' || (condition.length !== 2 && condition.length !== 3)) {
        throw new ImproperlyConfigured(`${owner}: condition ${JSON.stringify(condition)} is not [column, value] or [column, operator, value]`);
      }
      if (!known(column)) throw unknownColumn(owner, Model, column);
      if (condition.length === 3 && !OPERATORS.has(String(op).toLowerCase())) {
        throw new ImproperlyConfigured(`${owner}: unknown operator '${String(op)}' in condition on '${column}'`, {
          hint: `Use one of: ${[...OPERATORS].join(', ')}`,
        });
      }
      continue;
    }
    if (typeof condition === 'object' && condition !== null) {
      for (const column of Object.keys(condition)) if (!known(column)) throw unknownColumn(owner, Model, column);
      continue;
    }
    throw new ImproperlyConfigured(`${owner}: a condition must be an object, a [column, op, value] list, a function or knex.raw; got ${typeof condition}`);
  }
}

/**
 * Conditions that are valid but surely not what was meant, as one line each (logged
 * as warnings when a command starts): a `between` whose bounds are reversed matches
 * no row (SQL's BETWEEN wants the lower bound first), a `not between` every row.
 */
export function conditionWarnings(owner: string, conditions: readonly Condition[]): string[] {
  const warnings: string[] = [];
  for (const condition of conditions) {
    if (!Array.isArray(condition) || condition.length !== 3) continue;
    const [column, op, bounds] = condition as [string, unknown, unknown];
    const operator = String(op).toLowerCase();
    if ((operator !== 'between' && operator !== 'not between') || !Array.isArray(bounds) || bounds.length !== 2) continue;
    const [low, high] = bounds as unknown[];
    const comparable = (typeof low === 'number' && typeof high === 'number') || (low instanceof Date && high instanceof Date);
    if (!comparable || !(Number(low) > Number(high))) continue;
    const shown = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));
    const matches = operator === 'between' ? 'matches no row' : 'matches every row';
    warnings.push(
      `${owner}: condition on '${column}' ${operator} [${shown(low)}, ${shown(high)}] has its bounds reversed and ${matches}; write [${shown(high)}, ${shown(low)}]`,
    );
  }
  return warnings;
}

function unknownColumn(owner: string, Model: ModelClass, column: string): ImproperlyConfigured {
  return new ImproperlyConfigured(`${owner}: condition on unknown column '${column}' of ${Model.name}`, {
    hint: `${Model.name} has: ${Object.keys(Model.columns).join(', ')}`,
  });
}

/** Adds the conditions to a query on the model's table. */
export function applyConditions(query: Knex.QueryBuilder, conditions: readonly Condition[]): Knex.QueryBuilder {
  for (const condition of conditions) {
    if (isRaw(condition)) {
      query.where(condition);
    } else if (typeof condition === 'function') {
      query.where(function (this: Knex.QueryBuilder) {
        condition(this);
      });
    } else if (Array.isArray(condition)) {
      const [column, a, b] = condition as [string, unknown, unknown];
      if (condition.length === 2) {
        if (a === null) query.whereNull(column);
        else query.where(column, a as never);
      } else {
        const op = String(a).toLowerCase();
        if (b === null && (op === 'is' || op === '=')) query.whereNull(column);
        else if (b === null && (op === 'is not' || op === '!=' || op === '<>')) query.whereNotNull(column);
        else if (op === 'in') query.whereIn(column, b as never);
        else if (op === 'not in') query.whereNotIn(column, b as never);
        else if (op === 'between') query.whereBetween(column, b as never);
        else if (op === 'not between') query.whereNotBetween(column, b as never);
        else query.where(column, op, b as never);
      }
    } else {
      query.where(condition as Record<string, never>);
    }
  }
  return query;
}

/** The WHERE clause the conditions produce, with `?` placeholders and their values (for docs and logs). */
export function conditionsToSql(knex: Knex, Model: ModelClass, conditions: readonly Condition[]): { sql: string; bindings: readonly unknown[] } {
  const compiled = applyConditions(knex(Model.table).select('*'), conditions).toSQL();
  const where = compiled.sql.indexOf(' where ');
  return { sql: where >= 0 ? compiled.sql.slice(where + 7) : '', bindings: compiled.bindings };
}

/**
 * Types a query-builder condition without annotations:
 * `static conditions = [where((q) => q.where('a', 1).orWhere('b', 2))]`.
 */
export function where(build: (query: Knex.QueryBuilder) => unknown): Condition {
  return build;
}
