import type { ColumnSpec } from './columns.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * JavaScript value → bound parameter. SQLite has no boolean, date or JSON types:
 * booleans become 1/0 and dates milliseconds since the epoch, exactly what knex binds,
 * so a processor's own knex queries compare against the same representation.
 */
export function toDb(spec: ColumnSpec, value: unknown, dialect: Dialect): unknown {
  if (value === null || value === undefined) return null;
  switch (spec.kind) {
    case 'boolean':
      return dialect === 'sqlite' ? (value ? 1 : 0) : Boolean(value);
    case 'datetime': {
      const date = value instanceof Date ? value : new Date(value as string | number);
      return dialect === 'sqlite' ? date.getTime() : date;
    }
    case 'json':
      return JSON.stringify(value);
    default:
      return value;
  }
}

/** Stored value → JavaScript value, the inverse of `toDb`. */
export function fromDb(spec: ColumnSpec, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (spec.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? value : Number(value) !== 0;
    case 'datetime':
      return value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value as string | number));
    case 'json':
      return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
    case 'bigint':
      return typeof value === 'string' ? Number(value) : value;
    default:
      return value;
  }
}

/** Equality used to find changed columns; dates and JSON compare by value. */
export function sameValue(spec: ColumnSpec, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (spec.kind === 'datetime') return new Date(a as Date).getTime() === new Date(b as Date).getTime();
  if (spec.kind === 'json') return JSON.stringify(a) === JSON.stringify(b);
  return false;
}
