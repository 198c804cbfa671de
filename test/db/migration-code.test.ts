/**
 * The code `makemigrations` writes for new tables declares the same keys `createdb`
 * creates: a string primary key is the table's PRIMARY KEY, and a foreign key given by
 * table name alone references that model's key, not a guessed `id`.
 */
import { expect, test } from 'vitest';
import { bigint, boolean, datetime, float, integer, json, string, text } from '../../src/db/columns.js';
import { model, type ModelClass } from '../../src/db/model.js';
import type { DbColumn, SchemaDiff, TableChange } from '../../src/db/schema-diff.js';
import { migrationCode } from '../../src/db/migrations.js';
import { orderByDependencies } from '../../src/db/schema.js';

test('when a new model has a string primary key referenced by table name then the migration declares the key and references it', () => {
  const Survey = model('Survey', { code: string(12).primaryKey(), title: string() });
  const Night = model('Night', { id: integer().primaryKey(), survey_code: string(12).notNull().references('Survey') });
  const models = [Night, Survey];
  const code = migrationCode({
    newTables: orderByDependencies(models),
    changedTables: [],
    unknownTables: [],
    modelsByTable: new Map(models.map((m) => [m.table, m])),
  });
  const text = code.up.join('\n');
  expect(text).toContain("table.primary(['code']);");
  expect(text).toContain("table.foreign('survey_code').references('code').inTable('Survey');");
  // The numbered key of Night stays an increments column, with no second PRIMARY KEY.
  expect(text).toContain("table.increments('id', { primaryKey: true })");
  expect(text).not.toContain("table.primary(['id']);");
  expect(text.indexOf("createTable('Survey'")).toBeLessThan(text.indexOf("createTable('Night'"));
});

/** The difference a changed table makes, with nothing else changed. */
function changed(Model: ModelClass, change: Partial<Omit<TableChange, 'Model'>>): SchemaDiff {
  return {
    newTables: [],
    unknownTables: [],
    changedTables: [{ Model, addedColumns: [], droppedColumns: [], changedColumns: [], addedIndexes: [], addedUniques: [], ...change }],
  };
}

const dbColumn = (name: string, nullable: boolean): DbColumn => ({ name, type: 'integer', maxLength: null, nullable });

test('when a new table has defaults of every kind then each is written as a literal the file can run', () => {
  const Odd = model('Odd', {
    id: integer().primaryKey(),
    label: string().default("it's a \\path\nnext"),
    note: text().nullable().default(null as unknown as string),
    seen: datetime().default(new Date('2001-02-03T04:05:06Z')),
    shown: boolean().default(true),
    meta: json().default({ a: 1 }),
    weight: float().default(1.5),
  });
  const text0 = migrationCode({ newTables: [Odd], changedTables: [], unknownTables: [] }).up.join('\n');
  expect(text0).toContain(String.raw`table.string('label', 255).nullable().defaultTo('it\'s a \\path\nnext');`);
  expect(text0).toContain("table.text('note').nullable().defaultTo(null);");
  expect(text0).toContain('table.double(\'weight\').nullable().defaultTo(1.5);');
  // Dates, booleans and JSON differ: the file declares them per database, `pg` set first.
  expect(text0.split('\n')[1]).toBe("const pg = knex.client.dialect === 'postgresql';");
  expect(text0).toContain("    table.timestamp('seen', { useTz: true }).nullable().defaultTo('2001-02-03T04:05:06.000Z');");
  expect(text0).toContain("    table.boolean('shown').nullable().defaultTo(true);");
  expect(text0).toContain("    table.boolean('shown').nullable().defaultTo(1);");
  expect(text0).toContain(`    table.jsonb('meta').nullable().defaultTo('{"a":1}');`);
});

test('when a new table has an index on two columns and a cascading foreign key then the file declares both', () => {
  const Parent = model('Parent', { id: bigint().primaryKey() });
  const Child = model('Child', { id: integer().primaryKey(), parent_id: bigint().references('Parent', { onDelete: 'cascade' }) }, { indexes: [['id', 'parent_id']] });
  const up = migrationCode({ newTables: [Parent, Child], changedTables: [], unknownTables: [] }).up.join('\n');
  expect(up).toContain("table.bigIncrements('id', { primaryKey: true }).notNullable();");
  expect(up).toContain("table.foreign('parent_id').references('id').inTable('Parent').onDelete('CASCADE');");
  expect(up).toContain("table.index(['id', 'parent_id']);");
});

test('when a NOT NULL column leaves the model then the drop is undone by a NOT NULL column, its data not restored', () => {
  const Planet = model('Planet', { id: integer().primaryKey() });
  const code = migrationCode(changed(Planet, { droppedColumns: [dbColumn('mass', false), dbColumn('radius', true)] }));
  expect(code.up).toContain("  table.dropColumn('mass');");
  expect(code.down).toContain("  table.specificType('mass', 'integer').notNullable(); // its data is not restored");
  expect(code.down).toContain("  table.specificType('radius', 'integer'); // its data is not restored");
  expect(code.summary).toEqual(['- column Planet.mass', '- column Planet.radius']);
  expect(code.warnings).toEqual([]);
});

test('when two columns leave and two arrive then the rename warning cannot name them and shows the general form', () => {
  const Planet = model('Planet', { id: integer().primaryKey(), mass_kg: float(), radius_km: float() });
  const code = migrationCode(changed(Planet, { addedColumns: ['mass_kg', 'radius_km'], droppedColumns: [dbColumn('mass', true), dbColumn('radius', true)] }));
  expect(code.warnings).toHaveLength(1);
  expect(code.warnings[0]).toContain("in 'Planet', 'mass', 'radius' left the model and 'mass_kg', 'radius_km' arrived");
  expect(code.warnings[0]).toContain("replace its add and its drop with table.renameColumn('old', 'new')");
  expect(code.up).toContain("  // table.dropColumn('mass');");
  expect(code.summary).toContain('- column Planet.radius (left commented out: a rename?)');
  // The warning is a comment wrapped at word boundaries, each line short and continued indented.
  const comments = code.up.filter((l) => l.startsWith('  //') && !l.includes('dropColumn'));
  expect(comments.length).toBeGreaterThan(1);
  expect(comments.every((l) => l.length <= 2 + 3 + 96)).toBe(true);
  expect(comments[1]).toMatch(/^ {2}\/\/ {3}\S/);
  expect(comments.map((l) => l.replace(/^ {2}\/\/ +/, '')).join(' ')).toBe(`WARNING: ${code.warnings[0]}`);
});

test('when one column is renamed then the warning gives the renameColumn to write', () => {
  const Planet = model('Planet', { id: integer().primaryKey(), mass_kg: float() });
  const code = migrationCode(changed(Planet, { addedColumns: ['mass_kg'], droppedColumns: [dbColumn('mass', true)] }));
  expect(code.warnings[0]).toContain("replace its add and its drop with table.renameColumn('mass', 'mass_kg')");
});
