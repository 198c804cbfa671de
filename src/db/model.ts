import { ImproperlyConfigured } from '../core/errors.js';
import { generatedFunction } from '../core/generated-code.js';
import type { ColumnMap, RowOf } from './columns.js';
import { currentContext } from './context.js';
import { fromDb } from './values.js';

/** Bookkeeping kept on every instance under a symbol, so it never clashes with a column. */
export const ROW_STATE = Symbol('corral.rowState');

export interface RowState {
  /** The row exists in the database (it was read, or saved once). */
  persisted: boolean;
  /** Column values as last read or written; `save` writes only what differs. */
  original: Record<string, unknown> | undefined;
  /** Deleted in this run: saving it again is a no-op rather than a re-insert. */
  deleted?: boolean;
}

export interface ModelOptions {
  /** Multi-column indexes, e.g. `[['survey', 'night']]`. */
  indexes?: readonly (readonly string[])[];
  /** Multi-column UNIQUE constraints. */
  uniques?: readonly (readonly string[])[];
  /** A sentence for the generated documentation when the class has no doc comment. */
  description?: string;
}

/** The static side every model class has. */
export interface ModelClass<R extends object = any, C extends ColumnMap = ColumnMap> {
  new (values?: Partial<R>): ModelInstance & R;
  readonly name: string;
  readonly table: string;
  readonly columns: C;
  readonly primaryKey: readonly string[];
  readonly indexes: readonly (readonly string[])[];
  readonly uniques: readonly (readonly string[])[];
  readonly description: string | undefined;
  readonly prototype: ModelInstance;
}

/** Methods every row has, whatever its model. */
export class ModelInstance {
  declare [ROW_STATE]: RowState | undefined;

  constructor(values?: object) {
    if (values) Object.assign(this, values);
  }

  /** The model class of this row. */
  get model(): ModelClass {
    return this.constructor as ModelClass;
  }

  /** `<Planet id=3>`; models may override it for alerts and logs. */
  toString(): string {
    return `<${this.model.name} ${describeKey(this.model, this)}>`;
  }

  /** How the REPL (`shell`) and console.log show a row: `Planet { id: 1, name: 'b' }`, its columns only. */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `${this.model.name} ${inspect(this.toJSON(), options)}`;
  }

  /** The column values only, for JSON and for logs. */
  toJSON(): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    const row = columnsOf(this);
    for (const name of Object.keys(this.model.columns)) values[name] = row[name] ?? null;
    return values;
  }

  /**
   * Follow a foreign key from this row to the row it references (many-to-one):
   * `await flower.related(Name)`. `via` names the foreign-key column when this
   * model has several keys to the target.
   */
  async related<M extends ModelClass>(target: M, via?: string): Promise<InstanceType<M> | null> {
    const fk = foreignKeyBetween(this.model, target, via);
    const value = columnsOf(this)[fk.column];
    if (value === null || value === undefined) return null;
    const { db } = currentContext();
    const row = (await db(target.table).where(fk.targetColumn, value).first()) as Record<string, unknown> | undefined;
    return row ? (hydrate(target, row) as InstanceType<M>) : null;
  }

  /**
   * Follow foreign keys that point at this row (one-to-many):
   * `await name.relatedMany(Flower)`, in primary-key order.
   */
  async relatedMany<M extends ModelClass>(source: M, via?: string): Promise<InstanceType<M>[]> {
    const fk = foreignKeyBetween(source, this.model, via);
    const value = columnsOf(this)[fk.targetColumn];
    const { db } = currentContext();
    const rows = (await db(source.table).where(fk.column, value as never).orderBy([...source.primaryKey])) as Record<string, unknown>[];
    return rows.map((row) => hydrate(source, row) as InstanceType<M>);
  }
}

/** Property names every row already has; a column of that name would hide or break them. */
const RESERVED_COLUMNS = new Set(['constructor', 'prototype', '__proto__', 'model', 'toString', 'toJSON', 'related', 'relatedMany', 'valueOf', 'hasOwnProperty']);

/**
 * Declare a table. Extend the result to name the model and add methods:
 *
 *     /** A detected point source. *\/
 *     export class PointSource extends model('PointSources', {
 *       id: integer().primaryKey(),
 *       x: float().notNull(),
 *       ra: float(),
 *     }) {}
 */
export function model<C extends ColumnMap>(table: string, columns: C, options: ModelOptions = {}): ModelClass<RowOf<C>, C> {
  if (!table || typeof table !== 'string') {
    throw new ImproperlyConfigured('model() needs a table name as its first argument', { hint: "model('Planet', { id: integer().primaryKey(), ... })" });
  }
  for (const name of Object.keys(columns)) {
    if (RESERVED_COLUMNS.has(name)) {
      throw new ImproperlyConfigured(`Model for table '${table}' has a column named '${name}', which every row uses for itself`, {
        hint: `Rename the property (e.g. '${name}_'); names taken: ${[...RESERVED_COLUMNS].join(', ')}`,
      });
    }
  }
  const primaryKey = Object.entries(columns)
    .filter(([, column]) => column.spec.primaryKey)
    .map(([name]) => name);
  if (primaryKey.length === 0) {
    throw new ImproperlyConfigured(`Model for table '${table}' has no primary key`, {
      hint: "Add one, e.g. id: integer().primaryKey()",
    });
  }
  for (const group of [...(options.indexes ?? []), ...(options.uniques ?? [])]) {
    for (const name of group) {
      if (!(name in columns)) {
        throw new ImproperlyConfigured(`Model for table '${table}' lists unknown column '${name}' in an index or unique constraint`);
      }
    }
  }
  const base = class extends ModelInstance {};
  Object.defineProperties(base, {
    table: { value: table, enumerable: true },
    columns: { value: Object.freeze({ ...columns }), enumerable: true },
    primaryKey: { value: Object.freeze(primaryKey), enumerable: true },
    indexes: { value: Object.freeze([...(options.indexes ?? [])]), enumerable: true },
    uniques: { value: Object.freeze([...(options.uniques ?? [])]), enumerable: true },
    description: { value: options.description, enumerable: true, writable: true },
  });
  // The class was built at run time from `columns`: its instance type is what the column builders declare, which TypeScript cannot see through defineProperties.
  return base as unknown as ModelClass<RowOf<C>, C>;
}

export function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'function' && value.prototype instanceof ModelInstance && typeof (value as { table?: unknown }).table === 'string';
}

/**
 * An instance's column values by name. Each model's instances are typed by
 * \`model()\` (their columns as properties); code that works on any model sees
 * them untyped, through this one view.
 */
export function columnsOf(instance: ModelInstance): Record<string, unknown> {
  return instance as unknown as Record<string, unknown>;
}

export function isModelInstance(value: unknown): value is ModelInstance {
  return value instanceof ModelInstance;
}

/** A row read from the database, as an instance of its model (no constructor runs). */
export function hydrate(Model: ModelClass, raw: Record<string, unknown>): ModelInstance {
  let hydrator = hydrators.get(Model);
  if (!hydrator) hydrators.set(Model, (hydrator = compileHydrator(Model)));
  return hydrator(raw);
}

/**
 * A row read as an array of stored values, in the order of `columns` (a prepared
 * statement's own), as an instance of its model: what `hydrate` makes of the same
 * row read as an object. A column of the model that `columns` lacks is null.
 */
export function hydrateValues(Model: ModelClass, columns: readonly string[], values: readonly unknown[]): ModelInstance {
  let byColumns = valueHydrators.get(Model);
  if (!byColumns) valueHydrators.set(Model, (byColumns = new WeakMap()));
  // The same array (a statement's column list) for every row of a chunk: found at once.
  let entry = byColumns.get(columns);
  if (!entry) byColumns.set(columns, (entry = compileHydrator(Model, columns)));
  return entry(values as never);
}

type Hydrator = (raw: Record<string, unknown>) => ModelInstance;

const hydrators = new WeakMap<ModelClass, Hydrator>();
const valueHydrators = new WeakMap<ModelClass, WeakMap<readonly string[], Hydrator>>();

/** Kinds whose stored value is the JavaScript value (NULL aside): no `fromDb` call per value. */
const STORED_AS_IS = new Set(['integer', 'float', 'string', 'text']);

/**
 * A model's hydrator, generated once from its columns: a step hydrates every row it
 * reads, and a loop over the columns with a keyed store per value cost more than
 * reading the row. The generated constructor assigns the columns in a fixed order
 * (one hidden class per model, sized for them) and builds `original` as an object
 * literal. Its prototype is the model's, and no constructor of the model runs: the
 * instance is what `Object.create(Model.prototype)` with the columns assigned would be.
 * With `columns`, it reads an array of values in that order instead of an object.
 */
function compileHydrator(Model: ModelClass, columns?: readonly string[]): Hydrator {
  const names = Object.keys(Model.columns);
  const byLoop: Hydrator = columns
    ? (values) => hydrateByLoop(Model, Object.fromEntries(columns.map((name, i) => [name, (values as unknown as unknown[])[i]])))
    : (raw) => hydrateByLoop(Model, raw);
  // A name an object literal would not take as an own property: the plain loop.
  if (names.includes('__proto__')) return byLoop;
  const specs = names.map((name) => Model.columns[name]!.spec);
  const read = names.map((name, i) => {
    // Arrays: a later column of the same name wins, as it does in a row object.
    const place = columns ? columns.lastIndexOf(name) : -1;
    const source = columns ? (place >= 0 ? `raw[${place}]` : 'undefined') : `raw[${JSON.stringify(name)}]`;
    return STORED_AS_IS.has(specs[i]!.kind) ? `const v${i} = ${source} ?? null;` : `const v${i} = fromDb(specs[${i}], ${source});`;
  });
  const body = [
    ...read,
    ...names.map((name, i) => `this[${JSON.stringify(name)}] = v${i};`),
    `this[ROW_STATE] = { persisted: true, original: { ${names.map((name, i) => `${JSON.stringify(name)}: v${i}`).join(', ')} } };`,
  ].join('\n');
  const make = generatedFunction<(from: typeof fromDb, specs: unknown[], state: symbol) => new (raw: Record<string, unknown>) => ModelInstance>(
    ['fromDb', 'specs', 'ROW_STATE'],
    `return function Hydrated(raw) {\n${body}\n};`,
  );
  if (!make) return byLoop;
  const Hydrated = make(fromDb, specs, ROW_STATE);
  Hydrated.prototype = Model.prototype;
  return (raw) => new Hydrated(raw);
}

/** The hydrator of a model whose column names a generated one cannot take. */
function hydrateByLoop(Model: ModelClass, raw: Record<string, unknown>): ModelInstance {
  const instance = Object.create(Model.prototype as object) as ModelInstance & Record<string, unknown>;
  const original: Record<string, unknown> = {};
  const columns = Model.columns;
  for (const name in columns) {
    const value = name in raw ? fromDb(columns[name]!.spec, raw[name]) : null;
    instance[name] = value;
    original[name] = value;
  }
  instance[ROW_STATE] = { persisted: true, original };
  return instance;
}

/** `id=3` or `survey=1, night=2`: how messages name a row. */
export function describeKey(Model: ModelClass, row: object): string {
  return Model.primaryKey
    .map((name) => {
      const value = (row as Record<string, unknown>)[name];
      return `${name}=${value instanceof Date ? value.toISOString() : String(value ?? 'unsaved')}`;
    })
    .join(', ');
}

export interface ForeignKeyLink {
  /** The foreign-key column in the source model. */
  column: string;
  /** The referenced column in the target model. */
  targetColumn: string;
}

/** The table a foreign key points at, and that table's primary key when it can be known. */
export function referencedTable(
  target: NonNullable<ColumnMap[string]['spec']['references']>,
  known?: ReadonlyMap<string, ModelClass>,
): { table: string; primaryKey: readonly string[] | undefined } {
  if (typeof target.table === 'function') {
    const resolved = target.table();
    return { table: resolved.table, primaryKey: resolved.primaryKey };
  }
  // A reference by table name: its key is known when the model is among `known`.
  return { table: target.table, primaryKey: known?.get(target.table)?.primaryKey };
}

/** Every foreign key of a model, resolved to table and column names. */
export function foreignKeys(Model: ModelClass): { column: string; table: string; targetColumn: string }[] {
  const links: { column: string; table: string; targetColumn: string }[] = [];
  for (const [name, column] of Object.entries(Model.columns)) {
    const ref = column.spec.references;
    if (!ref) continue;
    const { table, primaryKey } = referencedTable(ref);
    links.push({ column: name, table, targetColumn: ref.column ?? primaryKey?.[0] ?? 'id' });
  }
  return links;
}

function foreignKeyBetween(source: ModelClass, target: ModelClass, via: string | undefined): ForeignKeyLink {
  const candidates = foreignKeys(source).filter((fk) => fk.table === target.table && (via === undefined || fk.column === via));
  if (candidates.length === 1) {
    const fk = candidates[0]!;
    return { column: fk.column, targetColumn: fk.targetColumn === 'id' && !('id' in target.columns) ? target.primaryKey[0]! : fk.targetColumn };
  }
  if (candidates.length === 0) {
    throw new ImproperlyConfigured(
      `${source.name} has no foreign key to ${target.name}${via ? ` through column '${via}'` : ''}`,
      { hint: `Declare one in ${source.name}: ${via ?? 'column'}: integer().references('${target.table}')` },
    );
  }
  throw new ImproperlyConfigured(
    `${source.name} has several foreign keys to ${target.name} (${candidates.map((c) => c.column).join(', ')})`,
    { hint: 'Name the one to follow: related(Target, "column")' },
  );
}
