/**
 * makemigrations, migrate and migrations as a user runs them: `node in_corral.js ...`
 * in a scaffolded pipeline, after the models changed under a database holding rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, describePg, pgQuery } from '../helpers/postgres.js';
import { runCli } from '../helpers/run-cli.js';
import { queryDb } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-migrate-');

/** The scaffold's Example, with two new columns and an index, and a new model. */
function changeModels(pipe: ScaffoldedPipeline): void {
  pipe.edit('models.ts', '  doubled: float(),\n', "  doubled: float(),\n  mass: float().index(),\n  origin: string(20).notNull().default('scaffold'),\n");
  fs.appendFileSync(pipe.file('models.ts'), "\nexport class Note extends model('Note', { id: integer().primaryKey(), example_id: integer().references('Example'), text: string(200) }) {}\n");
}

/** `node in_corral.js <args>` with `input` on its standard input (answers to prompts). */
const answering = (pipe: ScaffoldedPipeline, args: string[], input: string) => runCli(['in_corral.js', ...args], { cwd: pipe.root, input });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error:'));
const migrationFiles = (pipe: ScaffoldedPipeline) => (fs.existsSync(path.join(pipe.root, 'migrations')) ? fs.readdirSync(path.join(pipe.root, 'migrations')) : []);

describe('on SQLite', () => {
  let pipe: ScaffoldedPipeline;

  beforeAll(async () => {
    pipe = await createPipeline(tempDir(), 'migpipe');
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await pipe.cli(['load']), 0);
  });

  test('when the models match the database then makemigrations says so and writes nothing', async () => {
    const result = await pipe.cli(['makemigrations', '-m', 'nothing yet']);
    expectExit(result, 0);
    expect(result.stdout).toBe(`No changes: the tables of sqlite:${pipe.dbFile} match the models. Nothing was written.\n`);
    expect(migrationFiles(pipe)).toEqual([]);
  });

  test('when makemigrations has no message then it fails with one error line', async () => {
    const result = await pipe.cli(['makemigrations']);
    expectExit(result, 1);
    expect(errorLines(result.stderr)).toEqual(["Error: required option '-m, --message <text>' not specified"]);
  });

  test('when the help is asked then each command explains itself, and createdb points at migrations', async () => {
    for (const [command, text] of [
      ['makemigrations', 'A changed column type'],
      ['migrate', "'createdb' only creates the tables"],
      ['migrations', 'applied (with batch and time) and pending'],
      ['createdb', 'write a migration'],
    ] as const) {
      const result = await pipe.cli([command, '--help']);
      expectExit(result, 0);
      expect(result.stdout.replace(/\s+/g, ' ')).toContain(text.replace(/\s+/g, ' '));
    }
  });

  test('when the models change then makemigrations, migrate and migrations take the database there and its rows survive', async () => {
    changeModels(pipe);
    const made = await pipe.cli(['makemigrations', '-m', 'Mass, origin and notes']);
    expectExit(made, 0);
    const [file] = migrationFiles(pipe);
    expect(file).toMatch(/^\d{14}_mass_origin_and_notes\.js$/);
    expect(made.stdout).toBe(`Wrote migrations/${file}:\n  + table Note\n  + column Example.mass\n  + column Example.origin\nApply it with: node in_corral.js migrate\n`);

    const listed = await pipe.cli(['migrations']);
    expectExit(listed, 0);
    expect(listed.stdout).toMatch(new RegExp(`\\| ${file} +\\| pending +\\|`));
    expect(listed.stdout).toContain('0 applied, 1 pending');

    // A second migration cannot be made on top of one not applied.
    const again = await pipe.cli(['makemigrations', '-m', 'too early']);
    expectExit(again, 1);
    expect(errorLines(again.stderr)).toEqual([`Error: 1 migration(s) not applied yet: ${file}`]);

    const refused = await answering(pipe, ['migrate'], 'no\n');
    expectExit(refused, 1);
    expect(refused.stderr).toContain('Nothing was migrated.');
    expect(queryDb(pipe.dbFile, 'SELECT name FROM pragma_table_info(?)', ['Example']).map((r) => r.name)).not.toContain('mass');

    const migrated = await answering(pipe, ['migrate'], 'yes\n');
    expectExit(migrated, 0);
    expect(migrated.stderr).toContain(`Apply 1 migration(s) to sqlite:${pipe.dbFile}? [yes/no]`);
    expect(migrated.stdout).toContain(`Applied 1 migration(s) (batch 1): ${file}`);
    expect(queryDb(pipe.dbFile, 'SELECT id, name, value, mass, origin FROM Example ORDER BY id')).toEqual(
      [1, 2, 3].map((i) => ({ id: i, name: `example-${i}`, value: i, mass: null, origin: 'scaffold' })),
    );
    expect(queryDb(pipe.dbFile, "SELECT name FROM pragma_index_list('Example')").map((r) => r.name)).toContain('example_mass_index');

    const after = await pipe.cli(['migrations']);
    expect(after.stdout).toMatch(new RegExp(`\\| ${file} +\\| applied +\\| 1 +\\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\|`));
    expect((await pipe.cli(['makemigrations', '-m', 'done'])).stdout).toMatch(/^No changes/);
    expect((await pipe.cli(['migrate', '--noinput'])).stdout).toMatch(/^No migrations to apply/);

    // The pipeline runs on the migrated tables.
    expectExit(await pipe.cli(['run', '--sync']), 0);
    expect(queryDb(pipe.dbFile, 'SELECT doubled FROM Example ORDER BY id')).toEqual([{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }]);

    const rolled = await pipe.cli(['migrate', '--rollback', '--noinput']);
    expectExit(rolled, 0);
    expect(rolled.stdout).toBe(`Rolled back: ${file}\n`);
    expect(queryDb(pipe.dbFile, 'SELECT name FROM pragma_table_info(?)', ['Example']).map((r) => r.name)).not.toContain('mass');
    expect(queryDb(pipe.dbFile, 'SELECT count(*) AS n FROM Example')).toEqual([{ n: 3 }]);
  });

  test('when a migration file is broken then migrate fails with one error line naming it, and applies nothing', async () => {
    const dir = path.join(pipe.root, 'migrations');
    fs.writeFileSync(path.join(dir, '29990101000000_broken.js'), "export async function up(knex) { await knex.raw('select * from nowhere'); }\nexport async function down() {}\n");
    try {
      const result = await pipe.cli(['migrate', '--noinput']);
      expectExit(result, 1);
      const errors = errorLines(result.stderr);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^Error: Migration 29990101000000_broken\.js failed: .*nowhere/);
      expect(result.stderr).toContain('Nothing of this batch was applied');
      expect(queryDb(pipe.dbFile, 'SELECT count(*) AS n FROM corral_migrations')).toEqual([{ n: 0 }]);
    } finally {
      fs.rmSync(path.join(dir, '29990101000000_broken.js'));
    }
  });
});

describePg('on PostgreSQL', () => {
  test('when the models change then the same migration flow works, the rows surviving', async () => {
    const database = await createTestDatabase();
    try {
      const pipe = await createPipeline(tempDir(), 'migpg');
      pipe.edit('settings.ts', "connection: 'sqlite:migpg-dev.db'", `connection: '${database.url}'`);
      expectExit(await pipe.cli(['createdb', '--noinput']), 0);
      expectExit(await pipe.cli(['load']), 0);
      changeModels(pipe);
      expectExit(await pipe.cli(['makemigrations', '-m', 'grow']), 0);
      const migrated = await pipe.cli(['migrate', '--noinput']);
      expectExit(migrated, 0);
      expect(migrated.stdout).toMatch(/Applied 1 migration\(s\) \(batch 1\): \d{14}_grow\.js/);
      expect(await pgQuery(database.url, 'SELECT id, mass, origin FROM "Example" ORDER BY id')).toEqual([1, 2, 3].map((id) => ({ id, mass: null, origin: 'scaffold' })));
      expect((await pipe.cli(['makemigrations', '-m', 'done'])).stdout).toMatch(/^No changes/);
      const listed = await pipe.cli(['migrations', '--json']);
      expectExit(listed, 0);
      expect(JSON.parse(listed.stdout)).toEqual([{ name: expect.stringMatching(/_grow\.js$/), status: 'applied', batch: 1, appliedAt: expect.any(String) }]);
      expectExit(await pipe.cli(['run', '--sync']), 0);
    } finally {
      await database.drop();
    }
  });
});
