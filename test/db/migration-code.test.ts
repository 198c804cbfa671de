/**
 * The code `makemigrations` writes for new tables declares the same keys `createdb`
 * creates: a string primary key is the table's PRIMARY KEY, and a foreign key given by
 * table name alone references that model's key, not a guessed `id`.
 */
import { expect, test } from 'vitest';
import { integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
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
