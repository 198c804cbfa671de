/**
 * Mistakes a user makes, each answered with a one-line error, a non-zero exit
 * code and the data left as it was: on SQLite and on PostgreSQL where the database
 * is involved; the SQLite file's own mistakes (a missing or empty file) on SQLite,
 * and their PostgreSQL counterparts (a missing database, a database without tables).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { pipelineOnDatabase } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { CORRAL_BIN } from '../helpers/paths.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { tablesOf } from '../helpers/sqlite.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-bad-');
let scaffold: Promise<ScaffoldedPipeline> | undefined;
/** The scaffold as created (never run): each database's tests work on a copy. */
const scaffoldOnce = () => (scaffold ??= createPipeline(tempDir(), 'badpipe'));

/** The lines starting with "Error:" (logs and hints aside). */
function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('Error:'));
}

/** Runs with settings.ts edited, then puts the file back. */
async function withEditedSettings(pipe: ScaffoldedPipeline, search: string | RegExp, replacement: string, work: () => Promise<void>): Promise<void> {
  const original = fs.readFileSync(pipe.settingsFile, 'utf8');
  try {
    pipe.edit('settings.ts', search, replacement);
    await work();
  } finally {
    fs.writeFileSync(pipe.settingsFile, original);
  }
}

forEachDatabase((dialect) => {
  const on = pipelineOnDatabase(dialect, async () => copyPipeline(await scaffoldOnce(), path.join(tempDir(), dialect)));
  let loaded: Record<string, unknown[]>;

  beforeAll(async () => {
    expectExit(await on.pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await on.pipe.cli(['load']), 0);
    loaded = await on.db.snapshot();
    expect(loaded.Example).toHaveLength(3);
  });

  describe('bad command lines', () => {
    test('when the command is unknown then one error line suggests the closest command and nothing changes', async () => {
      const result = await on.pipe.cli(['chek-alerts']);
      expectExit(result, 1);
      expect(errorLines(result)).toEqual(["Error: unknown command 'chek-alerts' (Did you mean check-alerts?)"]);
      expect(await on.db.snapshot()).toEqual(loaded);
    });

    test('when a step name is unknown then one error line suggests the closest step and nothing runs', async () => {
      const result = await on.pipe.cli(['run', '--steps', 'MyStp']);
      expectExit(result, 1);
      expect(errorLines(result)).toEqual(["Error: Unknown step 'MyStp'. (Did you mean MyStep?)"]);
      expect(await on.db.snapshot()).toEqual(loaded);
    });
  });

  describe('bad settings', () => {
    test('when CORRAL_SETTINGS points at a missing file then the error names the file', async () => {
      const missing = path.join(tempDir(), 'nowhere', 'settings.ts');
      const result = await on.pipe.cli(['run'], { CORRAL_SETTINGS: missing });
      expectExit(result, 1);
      expect(errorLines(result)).toEqual([`Error: Settings file not found: ${missing}`]);
      expect(await on.db.snapshot()).toEqual(loaded);
    });

    test('when settings.ts has chunkSize -1 then the error names the setting and the file', async () => {
      await withEditedSettings(on.pipe, 'chunkSize: 1000', 'chunkSize: -1', async () => {
        const result = await on.pipe.cli(['run']);
        expectExit(result, 1);
        expect(errorLines(result)).toHaveLength(1);
        expect(errorLines(result)[0]).toMatch(new RegExp(`^Error: Setting 'chunkSize' in ${on.pipe.settingsFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is invalid: `));
        expect(result.stderr).toContain('For example: chunkSize: 1000');
      });
      expect(await on.db.snapshot()).toEqual(loaded);
    });

    if (dialect === 'sqlite') {
      test('when the database server is unreachable then the error names the database, without a stack', async () => {
        await withEditedSettings(on.pipe, "connection: 'sqlite:badpipe-dev.db'", "connection: 'postgres://nobody@127.0.0.1:1/x'", async () => {
          const result = await on.pipe.cli(['run']);
          expectExit(result, 1);
          expect(errorLines(result)).toHaveLength(1);
          expect(errorLines(result)[0]).toMatch(/^Error: Cannot connect to the database \(postgres:\/\/nobody@127\.0\.0\.1:1\/x\): .*ECONNREFUSED/);
          expect(result.stderr).toContain('Check that the server is running');
          expect(result.stdout).toBe('');
          expect(result.stderr).not.toMatch(/^\s+at /m);
        });
      });
    }
  });

  if (dialect === 'postgres') {
    describe('a PostgreSQL database that is missing or empty', () => {
      test('when the database does not exist then run and createdb give one error line naming it and a hint, without a stack', async () => {
        const missing = `${on.database!.name}_missing`;
        const url = new URL(on.database!.url);
        url.pathname = `/${missing}`;
        await withEditedSettings(on.pipe, /^ {2}connection: '[^']*'/m, `  connection: '${url.toString()}'`, async () => {
          for (const args of [['run'], ['createdb', '--noinput']]) {
            const result = await on.pipe.cli(args);
            expectExit(result, 1);
            expect(errorLines(result)).toHaveLength(1);
            expect(errorLines(result)[0]).toMatch(new RegExp(`^Error: Cannot connect to the database \\(postgres://[^)]*/${missing}\\): database "${missing}" does not exist$`));
            expect(result.stderr).toContain('Create the database on the server first');
            expect(result.stderr).toContain('then run `node in_corral.js createdb` for its tables');
            expect(result.stdout).toBe('');
            expect(result.stderr).not.toMatch(/^\s+at /m);
          }
        });
        expect(await on.db.snapshot()).toEqual(loaded);
      });

      test('when the database exists but has no tables then run lists the missing tables, says to run createdb, and creates none', async () => {
        await on.db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
        const result = await on.pipe.cli(['run']);
        expectExit(result, 1);
        const label = on.database!.url.replace(/:[^:@/]*@/, '@');
        expect(errorLines(result)).toEqual([`Error: Tables 'Example', 'corral_alerted', 'corral_failures', 'corral_runs' missing in ${label}`]);
        expect(result.stderr).toContain('Create them with: node in_corral.js createdb');
        expect(await on.db.tables()).toEqual([]);
      });
    });
  }
});

describe('a SQLite database file that is missing or empty', () => {
  test('when run comes before createdb then the error says to run createdb and no database file is left behind', async () => {
    const fresh = await createPipeline(tempDir(), 'emptypipe');
    const result = await fresh.cli(['run']);
    expectExit(result, 1);
    expect(errorLines(result)).toEqual([`Error: The database file ${fresh.dbFile} does not exist`]);
    expect(result.stderr).toContain('Create it with: node in_corral.js createdb');
    expect(fs.existsSync(fresh.dbFile)).toBe(false);
  });

  test('when the database exists but a table is missing then the error lists the missing tables and says to run createdb', async () => {
    const fresh = await createPipeline(tempDir(), 'halfpipe');
    fs.writeFileSync(fresh.dbFile, '');
    const result = await fresh.cli(['run']);
    expectExit(result, 1);
    expect(errorLines(result)).toEqual([`Error: Tables 'Example', 'corral_alerted', 'corral_failures', 'corral_runs' missing in sqlite:${fresh.dbFile}`]);
    expect(result.stderr).toContain('Create them with: node in_corral.js createdb');
    expect(tablesOf(fresh.dbFile)).toEqual([]);
  });
});

describe('corral create', () => {
  test.each([
    ['9lives', "Error: '9lives' is not a valid pipeline name: use letters, digits and _, not starting with a digit"],
    ['my-pipe', "Error: 'my-pipe' is not a valid pipeline name: use letters, digits and _, not starting with a digit"],
    ['class', "Error: 'class' is a reserved word in JavaScript"],
    ['steps', "Error: 'steps' clashes with a file of the pipeline scaffold or with corral itself"],
  ])('when the name is %s then it is refused and no folder is written', async (name, message) => {
    const result = await runCli([CORRAL_BIN, 'create', name], { cwd: tempDir() });
    expectExit(result, 1);
    expect(errorLines(result)).toEqual([message]);
    expect(fs.existsSync(path.join(tempDir(), name))).toBe(false);
  });

  test('when the target folder exists then it is refused and the folder is left alone', async () => {
    const pipe = await scaffoldOnce();
    const listing = () => fs.readdirSync(pipe.root, { recursive: true, encoding: 'utf8' }).sort();
    const before = listing();
    const settings = fs.readFileSync(pipe.settingsFile, 'utf8');
    const result = await runCli([CORRAL_BIN, 'create', 'badpipe'], { cwd: tempDir() });
    expectExit(result, 1);
    expect(errorLines(result)).toEqual([`Error: '${pipe.root}' already exists`]);
    expect(listing()).toEqual(before);
    expect(fs.readFileSync(pipe.settingsFile, 'utf8')).toBe(settings);
  });
});
