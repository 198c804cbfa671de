/**
 * makemigrations' engine: the diff between models and tables, the migration code it
 * writes, and knex's migrator applying that code, on SQLite and PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { migrationFileText } from '../../src/cli/commands/makemigrations.js';
import { DBError } from '../../src/core/errors.js';
import { bigint, boolean, datetime, float, integer, json, string, text } from '../../src/db/columns.js';
import { frameworkModels } from '../../src/db/bookkeeping/models.js';
import { MIGRATIONS_TABLE, captureWarnings, migrationCode, migrationState, newMigrationName, runMigrations, slugify } from '../../src/db/migrations.js';
import { model, type ModelClass } from '../../src/db/model.js';
import { diffSchema, isEmptyDiff } from '../../src/db/schema-diff.js';
import { columnNames, tableNames } from '../helpers/introspect.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { normalizeRow, useUnitDb, type UnitDb } from '../helpers/unit-db.js';
import { recreateOldAlertedTable } from '../helpers/old-alerted-table.js';

// A date default: createdb on PostgreSQL once wrote it in a form the server refused.
const Star = model('Star', { id: integer().primaryKey(), name: string(50).notNull().unique(), since: datetime().default(new Date('2001-02-03T04:05:06Z')) });
const planetColumns = {
  id: integer().primaryKey(),
  name: string(100).notNull(),
  mass: float(),
  star_id: integer().references('Star'),
  found: datetime(),
  meta: json(),
  habitable: boolean().notNull().default(false),
  period: bigint(),
  notes: text(),
};
const Planet = model('Planet', planetColumns, { indexes: [['name', 'mass']], uniques: [['name', 'star_id']] });
const Observation = model('Observation', { night: integer().primaryKey(), camera: string(10).primaryKey(), seeing: float().index() });
const V1 = [Star, Planet, Observation];

/** Planet, one version later: three new columns (one indexed), a new unique, and a new table. */
const PlanetV2 = model(
  'Planet',
  {
    ...planetColumns,
    radius: float().index(),
    discovered_by: string(40).notNull().default('survey'),
    confirmed: boolean().notNull().default(true),
    seen_at: datetime().default(new Date('2020-01-02T03:04:05Z')),
  },
  { indexes: [['name', 'mass']], uniques: [['name', 'star_id'], ['name', 'radius']] },
);
const Moon = model('Moon', { id: integer().primaryKey(), planet_id: integer().notNull().references(() => PlanetV2), tags: json(), seen: datetime() });

const withFramework = (models: readonly ModelClass[]) => [...models, ...frameworkModels];

async function diff(db: UnitDb, models: readonly ModelClass[]) {
  return diffSchema(db.engine, withFramework(models), MIGRATIONS_TABLE);
}

/** Writes the migration for the difference between the database and `models` into `<db.dir>/migrations`. */
async function makeMigration(db: UnitDb, models: readonly ModelClass[], message: string) {
  const code = migrationCode(await diff(db, models));
  const dir = path.join(db.dir, 'migrations');
  fs.mkdirSync(dir, { recursive: true });
  const name = newMigrationName(dir, message);
  fs.writeFileSync(path.join(dir, name), migrationFileText(code, message, db.engine.label));
  return { code, dir, name };
}

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  test('when createdb made the tables then the models and the database do not differ', async () => {
    const db = await openDb({ models: V1 });
    const found = await diff(db, V1);
    expect(found.newTables).toEqual([]);
    expect(found.unknownTables).toEqual([]);
    expect(found.changedTables.filter((t) => !isEmptyDiff({ newTables: [], changedTables: [t], unknownTables: [] }))).toEqual([]);
    expect(isEmptyDiff(found)).toBe(true);
  });

  test("when an older corral made corral_alerted (a numbered id, a unique index) then the models and the database do not differ", async () => {
    const db = await openDb({ models: V1 });
    await recreateOldAlertedTable(db.engine.knex, dialect);
    expect(isEmptyDiff(await diff(db, V1))).toBe(true);
  });

  test('when models gain columns, indexes, a unique and a table then the migration adds them and the rows survive', async () => {
    const db = await openDb({ models: V1 });
    await db.engine.knex('Star').insert({ name: 'Sun' });
    await db.engine.knex('Planet').insert([
      { name: 'Earth', mass: 1, star_id: 1 },
      { name: 'Mars', mass: 0.1, star_id: 1 },
    ]);
    const { code, dir, name } = await makeMigration(db, [Star, PlanetV2, Observation, Moon], 'Planets grow radius; moons');
    expect(name).toMatch(/^\d{14}_planets_grow_radius_moons\.js$/);
    expect(code.summary).toEqual([
      '+ table Moon',
      '+ column Planet.radius',
      '+ column Planet.discovered_by',
      '+ column Planet.confirmed',
      '+ column Planet.seen_at',
      '+ unique Planet(name, radius)',
    ]);
    expect(code.warnings).toEqual([]);

    expect(await migrationState(db.engine, dir)).toEqual({ applied: [], pending: [name], missing: [] });
    expect(await runMigrations(db.engine, dir, 'latest')).toEqual({ files: [name], batch: 1 });
    expect(await columnNames(db, 'Planet')).toEqual([...Object.keys(planetColumns), 'radius', 'discovered_by', 'confirmed', 'seen_at']);
    expect(await tableNames(db)).toContain('Moon');
    const rows = ((await db.engine.knex('Planet').select('name', 'mass', 'radius', 'discovered_by', 'confirmed').orderBy('id')) as Record<string, unknown>[]).map((r) =>
      normalizeRow(r, ['confirmed']),
    );
    expect(rows).toEqual([
      { name: 'Earth', mass: 1, radius: null, discovered_by: 'survey', confirmed: true },
      { name: 'Mars', mass: 0.1, radius: null, discovered_by: 'survey', confirmed: true },
    ]);
    // The new unique holds, and the new table's foreign key too.
    await db.engine.knex('Planet').insert({ name: 'Venus', radius: 0.9 });
    await expect(db.engine.knex('Planet').insert({ name: 'Venus', radius: 0.9 })).rejects.toThrow(/unique/i);
    await expect(db.engine.knex('Moon').insert({ planet_id: 999 })).rejects.toThrow(/foreign key/i);
    expect(isEmptyDiff(await diff(db, [Star, PlanetV2, Observation, Moon]))).toBe(true);
    expect((await migrationState(db.engine, dir)).pending).toEqual([]);

    // down() takes it all back, rows included.
    expect((await runMigrations(db.engine, dir, 'rollback')).files).toEqual([name]);
    expect(await columnNames(db, 'Planet')).toEqual(Object.keys(planetColumns));
    expect(await tableNames(db)).not.toContain('Moon');
    expect(await db.engine.knex('Planet').pluck('name')).toEqual(expect.arrayContaining(['Earth', 'Mars', 'Venus']));
    expect(isEmptyDiff(await diff(db, V1))).toBe(true);
  });

  test('when a column leaves a model then the migration drops it and the other columns keep their values', async () => {
    const db = await openDb({ models: V1 });
    await db.engine.knex('Observation').insert({ night: 1, camera: 'A', seeing: 1.5 });
    const Slim = model('Observation', { night: integer().primaryKey(), camera: string(10).primaryKey() });
    const { code, dir } = await makeMigration(db, [Star, Planet, Slim], 'drop seeing');
    expect(code.summary).toEqual(['- column Observation.seeing']);
    await runMigrations(db.engine, dir, 'latest');
    expect(await columnNames(db, 'Observation')).toEqual(['night', 'camera']);
    expect(await db.engine.knex('Observation').select('night', 'camera')).toEqual([{ night: 1, camera: 'A' }]);
    expect(isEmptyDiff(await diff(db, [Star, Planet, Slim]))).toBe(true);
  });

  test('when a column seems renamed then the drop is left commented out under a warning and no data is lost', async () => {
    const db = await openDb({ models: V1 });
    await db.engine.knex('Observation').insert({ night: 1, camera: 'A', seeing: 1.5 });
    const Renamed = model('Observation', { night: integer().primaryKey(), camera: string(10).primaryKey(), fwhm: float().index() });
    const { code, dir, name } = await makeMigration(db, [Star, Planet, Renamed], 'rename seeing');
    expect(code.warnings).toHaveLength(1);
    expect(code.warnings[0]).toContain("'seeing' left the model and 'fwhm' arrived");
    expect(code.warnings[0]).toContain("table.renameColumn('seeing', 'fwhm')");
    expect(code.up).toContain("  // table.dropColumn('seeing');");
    const file = fs.readFileSync(path.join(dir, name), 'utf8');
    expect(file).toMatch(/\/\/ WARNING: in 'Observation', 'seeing' left the model/);
    await runMigrations(db.engine, dir, 'latest');
    expect(await columnNames(db, 'Observation')).toEqual(['night', 'camera', 'seeing', 'fwhm']);
    expect(await db.engine.knex('Observation').pluck('seeing')).toEqual([1.5]);
  });

  test('when a column changes type or NULL-ability then only a warning is written, with the change to finish', async () => {
    const db = await openDb({ models: V1 });
    const Changed = model('Star', { ...Star.columns, name: text().notNull().unique() });
    const Nullable = model('Observation', { night: integer().primaryKey(), camera: string(10).primaryKey(), seeing: float().notNull().index() });
    const code = migrationCode(await diff(db, [Changed, Planet, Nullable]));
    expect(code.summary).toEqual([
      '! column Star.name: type or NULL changed (see the WARNING in the file)',
      '! column Observation.seeing: type or NULL changed (see the WARNING in the file)',
    ]);
    const varchar = dialect === 'sqlite' ? 'varchar(50)' : 'character varying(50)';
    expect(code.warnings[0]).toContain(`'Star.name' is text NOT NULL in the model but ${varchar} NOT NULL in the database`);
    expect(code.warnings[1]).toContain("'Observation.seeing' is");
    // Nothing but comments: no statement would run.
    expect(code.up.filter((line) => line.trim() && !line.trim().startsWith('//'))).toEqual([]);
    expect(code.up.join('\n')).toContain("//     table.text('name').notNullable().unique().alter();");
  });

  test('when a NOT NULL column without a default is added then the file warns that existing rows stop it', async () => {
    const db = await openDb({ models: V1 });
    const Stricter = model('Star', { ...Star.columns, kind: string(10).notNull() });
    const code = migrationCode(await diff(db, [Stricter, Planet, Observation]));
    expect(code.up).toContain("  table.string('kind', 10).notNullable();");
    expect(code.warnings).toEqual([expect.stringContaining("'Star.kind' is NOT NULL without a default")]);
  });

  test('when a table no model uses sits beside a new one then a rename warning is written, and nothing is dropped', async () => {
    const db = await openDb({ models: V1 });
    const Sun = model('Sun', { id: integer().primaryKey(), name: string(50).notNull().unique() });
    const found = await diff(db, [Sun, Planet, Observation]);
    expect(found.unknownTables).toEqual(['Star']);
    const code = migrationCode(found);
    expect(code.warnings).toEqual([expect.stringContaining("await knex.schema.renameTable('old', 'new')")]);
    expect(code.up.join('\n')).not.toMatch(/drop/i);
  });

  test('when a migration of a batch throws then none of the batch is applied and the error names the file', async () => {
    const db = await openDb({ models: V1 });
    const { dir, name } = await makeMigration(db, [Star, PlanetV2, Observation], 'add radius');
    const broken = newMigrationName(dir, 'broken');
    fs.writeFileSync(
      path.join(dir, broken),
      "export async function up(knex) {\n  await knex.schema.alterTable('Star', (t) => { t.float('x'); });\n  throw new Error('half done');\n}\nexport async function down() {}\n",
    );
    const error = await runMigrations(db.engine, dir, 'latest').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DBError);
    expect((error as DBError).message).toBe(`Migration ${broken} failed: half done`);
    expect((error as DBError).hint).toMatch(/Nothing of this batch was applied/);
    expect(await columnNames(db, 'Planet')).toEqual(Object.keys(planetColumns));
    expect(await columnNames(db, 'Star')).toEqual(['id', 'name', 'since']);
    expect(await migrationState(db.engine, dir)).toMatchObject({ applied: [], pending: [name, broken] });
  });

  test('when the file of an applied migration is gone then migrate refuses, names no file of its own, and applies nothing', async () => {
    const db = await openDb({ models: V1 });
    const first = await makeMigration(db, [Star, PlanetV2, Observation], 'add radius');
    expect((await runMigrations(db.engine, first.dir, 'latest')).files).toEqual([first.name]);
    const second = await makeMigration(db, [Star, PlanetV2, Observation, Moon], 'add moons');
    fs.rmSync(path.join(first.dir, first.name));
    const error = await runMigrations(db.engine, first.dir, 'latest').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DBError);
    expect((error as DBError).message).toMatch(new RegExp(`^Migrating failed: .*${first.name}`));
    expect((error as DBError).hint).toBeUndefined();
    expect(await tableNames(db)).not.toContain('Moon');
    expect(await migrationState(db.engine, first.dir)).toMatchObject({ pending: [second.name], missing: [first.name] });
  });
});

describe('knex warnings while migrations run', () => {
  test('when two runs overlap and the first ends first then each got the warnings of its time and the logger is its own again', () => {
    const seen: string[] = [];
    class KnexLikeLogger {
      warn(message: string) {
        seen.push(message);
      }
    }
    const logger = new KnexLikeLogger();
    const first: string[] = [];
    const second: string[] = [];
    const releaseFirst = captureWarnings(logger, first);
    const releaseSecond = captureWarnings(logger, second);
    logger.warn('both');
    releaseFirst();
    logger.warn('second only');
    releaseSecond();
    logger.warn('after');
    expect(first).toEqual(['both']);
    expect(second).toEqual(['both', 'second only']);
    expect(seen).toEqual(['after']);
    expect(Object.prototype.hasOwnProperty.call(logger, 'warn')).toBe(false);
  });
});

describe('migration file names', () => {
  test('when a message has punctuation and capitals then the slug is lower-case words joined by _', () => {
    expect(slugify('Add mass (kg) to Planet!')).toBe('add_mass_kg_to_planet');
    expect(slugify('***')).toBe('migration');
  });

  test('when a migration with a later time stamp exists then the new name still sorts after it', () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'corral-names-'));
    try {
      fs.writeFileSync(path.join(dir, '29990101000000_future.js'), '');
      expect(newMigrationName(dir, 'next', new Date('2026-01-01T00:00:00Z'))).toBe('29990101000001_next.js');
      expect(newMigrationName(path.join(dir, 'none'), 'first', new Date('2026-01-02T03:04:05Z'))).toBe('20260102030405_first.js');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
