import type { Knex } from 'knex';
import { ImproperlyConfigured } from '../core/errors.js';
import type { Engine } from './engine.js';
import { referencedTable, type ModelClass } from './model.js';
import { toDb } from './values.js';

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

function defineTable(table: Knex.CreateTableBuilder, Model: ModelClass, engine: Engine): void {
  const pk = Model.primaryKey;
  for (const [name, column] of Object.entries(Model.columns)) {
    const spec = column.spec;
    const autoIncrement = spec.primaryKey && pk.length === 1 && (spec.kind === 'integer' || spec.kind === 'bigint');
    let builder: Knex.ColumnBuilder;
    if (autoIncrement) {
      builder = spec.kind === 'bigint' ? table.bigIncrements(name, { primaryKey: true }) : table.increments(name, { primaryKey: true });
    } else {
      switch (spec.kind) {
        case 'integer': builder = table.integer(name); break;
        case 'bigint': builder = table.bigInteger(name); break;
        case 'float': builder = table.double(name); break;
        case 'string': builder = table.string(name, spec.length); break;
        case 'text': builder = table.text(name); break;
        case 'boolean': builder = table.boolean(name); break;
        case 'datetime':
          builder = engine.dialect === 'postgres' ? table.timestamp(name, { useTz: true }) : table.datetime(name);
          break;
        case 'json': builder = engine.dialect === 'postgres' ? table.jsonb(name) : table.text(name); break;
      }
    }
    if (!spec.nullable) builder.notNullable();
    else if (!spec.primaryKey) builder.nullable();
    if (spec.unique) builder.unique();
    if (spec.index) builder.index();
    if (spec.hasDefault) builder.defaultTo(toDb(spec, spec.defaultValue, engine.dialect) as Knex.Value);
    if (spec.references) {
      const { table: target, primaryKey } = referencedTable(spec.references);
      const foreign = table.foreign(name).references(spec.references.column ?? primaryKey?.[0] ?? 'id').inTable(target);
      if (spec.references.onDelete) foreign.onDelete(spec.references.onDelete.toUpperCase());
    }
  }
  if (pk.length > 1) table.primary([...pk]);
  for (const columns of Model.indexes) table.index([...columns]);
  for (const columns of Model.uniques) table.unique([...columns]);
}

/**
 * Creates the tables that do not exist yet, in one transaction where the database
 * allows it. Existing tables are never altered or dropped: that is a migration.
 */
export async function createMissingTables(engine: Engine, models: readonly ModelClass[]): Promise<{ created: string[]; existing: string[] }> {
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
  await engine.knex.transaction(async (trx) => {
    for (const Model of ordered) {
      if (await trx.schema.hasTable(Model.table)) {
        existing.push(Model.table);
        continue;
      }
      await trx.schema.createTable(Model.table, (table) => defineTable(table, Model, engine));
      created.push(Model.table);
    }
  });
  return { created, existing };
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
