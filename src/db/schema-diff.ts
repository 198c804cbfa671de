import type { Knex } from 'knex';
import { ImproperlyConfigured } from '../core/errors.js';
import type { ColumnSpec } from './columns.js';
import type { Engine } from './engine.js';
import type { ModelClass } from './model.js';
import { frameworkModels } from './bookkeeping/models.js';
import { orderByDependencies } from './schema.js';
import type { Dialect } from './values.js';

/** A column as the database describes it. */
export interface DbColumn {
  readonly name: string;
  /** The type as the database names it: `varchar`, `character varying`, `integer`, ... */
  readonly type: string;
  readonly maxLength: number | null;
  readonly nullable: boolean;
}

/** An index (or a UNIQUE constraint's index) on a table; primary keys are left out. */
export interface DbIndex {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

/** A column whose type or NULL-ability differs between the model and the database. */
export interface ChangedColumn {
  readonly name: string;
  /** e.g. `float NOT NULL` */
  readonly model: string;
  /** e.g. `text NULL` */
  readonly database: string;
}

/** What differs in one table that exists on both sides. */
export interface TableChange {
  readonly Model: ModelClass;
  /** Columns of the model the table lacks, in model order. */
  readonly addedColumns: readonly string[];
  /** Columns of the table no model column declares. */
  readonly droppedColumns: readonly DbColumn[];
  /** Never altered automatically: written as a warning for the author. */
  readonly changedColumns: readonly ChangedColumn[];
  /** Indexes (column lists) the model declares and the table lacks. */
  readonly addedIndexes: readonly (readonly string[])[];
  readonly addedUniques: readonly (readonly string[])[];
}

/** Everything that differs between the models and the database. */
export interface SchemaDiff {
  /** Models without a table, in creation order (referenced tables first). */
  readonly newTables: readonly ModelClass[];
  readonly changedTables: readonly TableChange[];
  /** Tables no model uses: never dropped; named in case a model's table was renamed. */
  readonly unknownTables: readonly string[];
  /** Every model compared, by table: what a foreign key given by table name alone points at. */
  readonly modelsByTable?: ReadonlyMap<string, ModelClass>;
}

/** Bookkeeping tables that are not the pipeline's: corral's migration history, knex's and SQLite's own. */
export function isBookkeepingTable(name: string, migrationsTable: string): boolean {
  return name === migrationsTable || name === `${migrationsTable}_lock` || name.startsWith('sqlite_') || name.startsWith('_knex_temp_alter');
}

export function isEmptyDiff(diff: SchemaDiff): boolean {
  return (
    diff.newTables.length === 0 &&
    diff.changedTables.every(
      (t) => !t.addedColumns.length && !t.droppedColumns.length && !t.changedColumns.length && !t.addedIndexes.length && !t.addedUniques.length,
    )
  );
}

async function listTables(knex: Knex, dialect: Dialect): Promise<string[]> {
  if (dialect === 'sqlite') {
    const rows = (await knex.raw("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) as { name: string }[];
    return rows.map((r) => r.name);
  }
  const result = (await knex.raw(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
  )) as { rows: { name: string }[] };
  return result.rows.map((r) => r.name);
}

async function readColumns(knex: Knex, table: string): Promise<DbColumn[]> {
  const info = (await knex(table).columnInfo()) as Record<string, { type: string; maxLength: number | string | null; nullable: boolean }>;
  return Object.entries(info).map(([name, c]) => ({
    name,
    type: String(c.type).toLowerCase(),
    maxLength: c.maxLength === null || c.maxLength === undefined ? null : Number(c.maxLength),
    nullable: c.nullable,
  }));
}

async function readIndexes(knex: Knex, table: string, dialect: Dialect): Promise<DbIndex[]> {
  if (dialect === 'sqlite') {
    const list = (await knex.raw('SELECT name, "unique", origin FROM pragma_index_list(?)', [table])) as { name: string; unique: number; origin: string }[];
    const indexes: DbIndex[] = [];
    for (const index of list.filter((i) => i.origin !== 'pk')) {
      const columns = (await knex.raw('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [index.name])) as { name: string }[];
      indexes.push({ name: index.name, unique: index.unique === 1, columns: columns.map((c) => c.name) });
    }
    return indexes;
  }
  const result = (await knex.raw(
    `SELECT i.relname AS name, ix.indisunique AS "unique", array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_class t
       JOIN pg_index ix ON t.oid = ix.indrelid
       JOIN pg_class i ON i.oid = ix.indexrelid
       CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE t.relname = ? AND t.relnamespace = current_schema()::regnamespace AND NOT ix.indisprimary
      GROUP BY i.relname, ix.indisunique`,
    [table],
  )) as { rows: { name: string; unique: boolean; columns: string[] }[] };
  return result.rows.map((r) => ({ name: r.name, unique: r.unique, columns: r.columns }));
}

/** The database types each column kind may have, as the database reports them (knex's own types first). */
const TYPES: Record<Dialect, Record<ColumnSpec['kind'], readonly string[]>> = {
  sqlite: {
    integer: ['integer', 'int'],
    bigint: ['bigint', 'integer'],
    float: ['float', 'double', 'real', 'double precision'],
    string: ['varchar', 'character varying'],
    text: ['text'],
    boolean: ['boolean', 'tinyint'],
    datetime: ['datetime', 'timestamp'],
    json: ['text', 'json'],
  },
  postgres: {
    integer: ['integer'],
    bigint: ['bigint'],
    float: ['double precision'],
    string: ['character varying'],
    text: ['text'],
    boolean: ['boolean'],
    datetime: ['timestamp with time zone'],
    json: ['jsonb'],
  },
};

function modelType(spec: ColumnSpec, dialect: Dialect): string {
  const type = TYPES[dialect][spec.kind][0]!;
  return spec.kind === 'string' ? `${type}(${spec.length})` : type;
}

function databaseType(column: DbColumn): string {
  return column.maxLength !== null ? `${column.type}(${column.maxLength})` : column.type;
}

const nullText = (nullable: boolean) => (nullable ? 'NULL' : 'NOT NULL');

/** How the database declares a column (for messages and for re-adding it in `down`). */
export function describeDbColumn(column: DbColumn): string {
  return `${databaseType(column)} ${nullText(column.nullable)}`;
}

function compareColumn(name: string, spec: ColumnSpec, column: DbColumn, dialect: Dialect): ChangedColumn | undefined {
  const typeOk = TYPES[dialect][spec.kind].includes(column.type) && (spec.kind !== 'string' || column.maxLength === spec.length);
  // A primary key is NOT NULL whatever the table says (SQLite reports some as nullable).
  const nullOk = spec.primaryKey || spec.nullable === column.nullable;
  if (typeOk && nullOk) return undefined;
  return { name, model: `${modelType(spec, dialect)} ${nullText(spec.nullable)}`, database: describeDbColumn(column) };
}

const sameColumns = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((c, i) => c === b[i]);

function compareTable(Model: ModelClass, columns: DbColumn[], indexes: DbIndex[], dialect: Dialect): TableChange {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const addedColumns: string[] = [];
  const changedColumns: ChangedColumn[] = [];
  for (const [name, column] of Object.entries(Model.columns)) {
    const existing = byName.get(name);
    if (!existing) addedColumns.push(name);
    else {
      const changed = compareColumn(name, column.spec, existing, dialect);
      if (changed) changedColumns.push(changed);
    }
  }
  // corral's own tables may keep columns an older corral declared (corral_alerted's `id`):
  // unused, and never the pipeline's to migrate.
  const own = (frameworkModels as readonly ModelClass[]).includes(Model);
  const droppedColumns = own ? [] : columns.filter((c) => !(c.name in Model.columns));
  const isAdded = (group: readonly string[]) => group.length === 1 && addedColumns.includes(group[0]!);
  // A single-column index or unique of a new column is declared with the column itself.
  const wantedIndexes = [
    ...Object.entries(Model.columns).filter(([, c]) => c.spec.index).map(([name]) => [name]),
    ...Model.indexes,
  ].filter((group) => !isAdded(group));
  const wantedUniques = [
    ...Object.entries(Model.columns).filter(([, c]) => c.spec.unique && !c.spec.primaryKey).map(([name]) => [name]),
    ...Model.uniques,
  ].filter((group) => !isAdded(group) && !sameColumns(group, Model.primaryKey));
  const addedIndexes = wantedIndexes.filter((group) => !indexes.some((index) => sameColumns(index.columns, group)));
  const addedUniques = wantedUniques.filter((group) => !indexes.some((index) => index.unique && sameColumns(index.columns, group)));
  return { Model, addedColumns, droppedColumns, changedColumns, addedIndexes, addedUniques };
}

/**
 * Compares the models with the tables of the database: new tables, new and missing
 * columns, changed column types, and indexes and uniques the tables lack. Reads only.
 */
export async function diffSchema(engine: Engine, models: readonly ModelClass[], migrationsTable: string): Promise<SchemaDiff> {
  const seen = new Map<string, ModelClass>();
  for (const Model of models) {
    const other = seen.get(Model.table);
    if (other && other !== Model) throw new ImproperlyConfigured(`Models ${other.name} and ${Model.name} both use table '${Model.table}'`);
    seen.set(Model.table, Model);
  }
  const knex = engine.knex;
  const tables = await listTables(knex, engine.dialect);
  const existing = new Set(tables);
  const newTables = orderByDependencies([...seen.values()]).filter((Model) => !existing.has(Model.table));
  const changedTables: TableChange[] = [];
  for (const Model of seen.values()) {
    if (!existing.has(Model.table)) continue;
    const columns = await readColumns(knex, Model.table);
    const indexes = await readIndexes(knex, Model.table, engine.dialect);
    changedTables.push(compareTable(Model, columns, indexes, engine.dialect));
  }
  const unknownTables = tables.filter((name) => !seen.has(name) && !isBookkeepingTable(name, migrationsTable));
  return { newTables, changedTables, unknownTables, modelsByTable: seen };
}
