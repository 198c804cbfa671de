import type { Knex } from 'knex';
import { ImproperlyConfigured } from '../core/errors.js';
import type { Engine } from './engine.js';
import { Alerted, frameworkModels } from './bookkeeping/models.js';
import { referencedTable, type ModelClass } from './model.js';
import { toDb, type Dialect } from './values.js';

/** Models ordered so that a table comes after every table it references (PostgreSQL needs it). */
export function orderByDependencies(models: readonly ModelClass[]): ModelClass[] {
  const byTable = new Map(models.map((m) => [m.table, m]));
  const ordered: ModelClass[] = [];
  const state = new Map<ModelClass, 'visiting' | 'done'>();
  const visit = (Model: ModelClass) => {
    if (state.get(Model) === 'done') return;
    if (state.get(Model) === 'visiting') return; // a cycle: leave it to the database
    state.set(Model, 'visiting');
    for (const column of Object.values(Model.columns)) {
      const ref = column.spec.references;
      if (!ref) continue;
      const target = byTable.get(referencedTable(ref).table);
      if (target && target !== Model) visit(target);
    }
    state.set(Model, 'done');
    ordered.push(Model);
  };
  models.forEach(visit);
  return ordered;
}

/**
 * One call on a knex schema builder: `table.<method>(...args)`, or, after the first
 * call of a chain, on the builder the previous call returned.
 */
export interface BuilderCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** How one column is declared: its chain of builder calls, and its foreign key's. */
export interface ColumnDefinition {
  readonly name: string;
  /** `table.integer('x')`, then modifiers: `.notNullable()`, `.unique()`, `.defaultTo(v)`. */
  readonly column: readonly BuilderCall[];
  /** `table.foreign('x')`, `.references('id')`, `.inTable('T')`, `.onDelete(...)`. */
  readonly foreign: readonly BuilderCall[] | undefined;
}

const call = (method: string, ...args: unknown[]): BuilderCall => ({ method, args });

/**
 * The knex declaration of one column of `Model`, for `dialect`: the single mapping
 * from column specs to knex, used by `createdb` (applied) and by `makemigrations`
 * (written out as code).
 */
export function columnDefinition(Model: ModelClass, name: string, dialect: Dialect, known?: ReadonlyMap<string, ModelClass>): ColumnDefinition {
  const spec = Model.columns[name]!.spec;
  const autoIncrement = isAutoIncrementKey(Model, name);
  const column: BuilderCall[] = [];
  if (autoIncrement) {
    column.push(spec.kind === 'bigint' ? call('bigIncrements', name, { primaryKey: true }) : call('increments', name, { primaryKey: true }));
  } else {
    switch (spec.kind) {
      case 'integer': column.push(call('integer', name)); break;
      case 'bigint': column.push(call('bigInteger', name)); break;
      case 'float': column.push(call('double', name)); break;
      case 'string': column.push(call('string', name, spec.length)); break;
      case 'text': column.push(call('text', name)); break;
      case 'boolean': column.push(call('boolean', name)); break;
      case 'datetime': column.push(dialect === 'postgres' ? call('timestamp', name, { useTz: true }) : call('datetime', name)); break;
      case 'json': column.push(dialect === 'postgres' ? call('jsonb', name) : call('text', name)); break;
    }
  }
  if (!spec.nullable) column.push(call('notNullable'));
  else if (!spec.primaryKey) column.push(call('nullable'));
  if (spec.unique) column.push(call('unique'));
  if (spec.index) column.push(call('index'));
  if (spec.hasDefault) {
    const value = toDb(spec, spec.defaultValue, dialect);
    // knex writes a Date default with String(date), which PostgreSQL cannot parse.
    column.push(call('defaultTo', value instanceof Date ? value.toISOString() : value));
  }
  let foreign: BuilderCall[] | undefined;
  if (spec.references) {
    // A key referenced by table name alone is that model's primary key when the model is
    // `known` (a string key, say), else `id`.
    const { table: target, primaryKey } = referencedTable(spec.references, known);
    foreign = [call('foreign', name), call('references', spec.references.column ?? primaryKey?.[0] ?? 'id'), call('inTable', target)];
    if (spec.references.onDelete) foreign.push(call('onDelete', spec.references.onDelete.toUpperCase()));
  }
  return { name, column, foreign };
}

/** Whether `name` is the model's one integer primary key, which the database numbers itself. */
function isAutoIncrementKey(Model: ModelClass, name: string): boolean {
  const spec = Model.columns[name]!.spec;
  return spec.primaryKey && Model.primaryKey.length === 1 && (spec.kind === 'integer' || spec.kind === 'bigint');
}

/**
 * The table-level declarations of `Model`: its primary key unless the database numbers it
 * (a composite key, or a single key that is not an integer: a string key needs its
 * PRIMARY KEY too, or nothing keeps it unique and no foreign key can reference it),
 * then its indexes and uniques.
 */
export function tableConstraints(Model: ModelClass): BuilderCall[] {
  const calls: BuilderCall[] = [];
  const numbered = Model.primaryKey.length === 1 && isAutoIncrementKey(Model, Model.primaryKey[0]!);
  if (Model.primaryKey.length > 0 && !numbered) calls.push(call('primary', [...Model.primaryKey]));
  for (const columns of Model.indexes) calls.push(call('index', [...columns]));
  for (const columns of Model.uniques) calls.push(call('unique', [...columns]));
  return calls;
}

/** Applies a chain of calls to a knex builder, each on the result of the previous one. */
export function applyCalls(builder: object, calls: readonly BuilderCall[]): unknown {
  let target = builder as Record<string, (...args: unknown[]) => unknown>;
  for (const { method, args } of calls) target = target[method]!(...args) as typeof target;
  return target;
}

function defineTable(table: Knex.CreateTableBuilder, Model: ModelClass, engine: Engine, known: ReadonlyMap<string, ModelClass>): void {
  for (const name of Object.keys(Model.columns)) {
    const { column, foreign } = columnDefinition(Model, name, engine.dialect, known);
    applyCalls(table, column);
    if (foreign) applyCalls(table, foreign);
  }
  for (const constraint of tableConstraints(Model)) applyCalls(table, [constraint]);
}

/**
 * Creates the tables that do not exist yet, in one transaction where the database
 * allows it. Existing tables of the pipeline are never altered or dropped: that is a
 * migration. corral's own tables are the exception: a column a newer corral added to
 * them (always nullable) is added to a table an older corral created (`added`).
 */
export async function createMissingTables(
  engine: Engine,
  models: readonly ModelClass[],
): Promise<{ created: string[]; existing: string[]; added: string[] }> {
  const seen = new Map<string, ModelClass>();
  for (const Model of models) {
    const other = seen.get(Model.table);
    if (other && other !== Model) {
      throw new ImproperlyConfigured(`Models ${other.name} and ${Model.name} both use table '${Model.table}'`);
    }
    seen.set(Model.table, Model);
  }
  const ordered = orderByDependencies([...seen.values()]);
  const created: string[] = [];
  const existing: string[] = [];
  const added: string[] = [];
  await engine.knex.transaction(async (trx) => {
    for (const Model of ordered) {
      if (await trx.schema.hasTable(Model.table)) {
        existing.push(Model.table);
        if ((frameworkModels as readonly ModelClass[]).includes(Model)) added.push(...(await addMissingColumns(trx, Model, engine)));
        continue;
      }
      await createTable(trx, Model, engine, seen);
      created.push(Model.table);
    }
  });
  return { created, existing, added };
}

/**
 * corral's tables that SQLite keeps WITHOUT ROWID: a table keyed by text that is
 * written a row per commit, where the rowid would add a B-tree (and a page per
 * commit) for a key nothing reads (see `Alerted`).
 */
const WITHOUT_ROWID: ReadonlySet<ModelClass> = new Set([Alerted]);

async function createTable(trx: Knex.Transaction, Model: ModelClass, engine: Engine, known: ReadonlyMap<string, ModelClass>): Promise<void> {
  const builder = trx.schema.createTable(Model.table, (table) => defineTable(table, Model, engine, known));
  if (engine.dialect !== 'sqlite' || !WITHOUT_ROWID.has(Model)) {
    await builder;
    return;
  }
  // knex cannot say WITHOUT ROWID: its CREATE TABLE comes first, the indexes after.
  const statements = builder.toSQL() as unknown as { sql: string; bindings: readonly Knex.Value[] }[];
  for (const [i, { sql, bindings }] of statements.entries()) {
    if (i === 0 && !/^create table /i.test(sql)) throw new Error(`Expected a CREATE TABLE first, not: ${sql}`);
    await trx.raw(i === 0 ? `${sql} WITHOUT ROWID` : sql, bindings);
  }
}

/** Adds the nullable columns of `Model` its table lacks; returns them as `table.column`. */
async function addMissingColumns(trx: Knex.Transaction, Model: ModelClass, engine: Engine): Promise<string[]> {
  const missing: string[] = [];
  for (const name of Object.keys(Model.columns)) {
    if (Model.columns[name]!.spec.nullable && !(await trx.schema.hasColumn(Model.table, name))) missing.push(name);
  }
  if (missing.length === 0) return [];
  await trx.schema.alterTable(Model.table, (table) => {
    for (const name of missing) applyCalls(table, columnDefinition(Model, name, engine.dialect).column);
  });
  return missing.map((name) => `${Model.table}.${name}`);
}

/**
 * Drops the tables of `models` that exist, dependants first. Only for test
 * databases: corral never drops tables of a production database.
 */
export async function dropTables(engine: Engine, models: readonly ModelClass[]): Promise<void> {
  const ordered = orderByDependencies(models).reverse();
  await engine.knex.transaction(async (trx) => {
    for (const Model of ordered) await trx.schema.dropTableIfExists(Model.table);
  });
}
