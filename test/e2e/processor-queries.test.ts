/**
 * A processor's queries and deletes, as a pipeline uses them: a step that keeps one
 * row per name reads its group with `find` and `findOne`, counts with `count`, and
 * deletes the later copies with `delete`, in the chunk's transaction. Run as a user
 * runs it (`run`, forked), on SQLite and on PostgreSQL; the database then holds
 * exactly what those calls decided.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { configureSettings, usePipelineDb, type PipelineDb } from '../helpers/pipeline-db.js';
import { copyPipeline, createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/postgres.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-queries-');
let scaffold: ScaffoldedPipeline | undefined;

/**
 * MyStep, rewritten: the first row of each name (by primary key) records how many
 * rows share its name (`find`) and how many have a greater value (`count`), then
 * deletes the other rows of its name. A query that answered wrongly throws, which
 * fails the row and the command.
 */
const DEDUPLICATING_STEP = `import { Step } from 'corral';
import { Example } from './models.js';

export class MyStep extends Step<Example> {
  static override model = Example;
  static override conditions = [{ processed: false }];

  async process(row: Example) {
    const group = await this.find(Example, [{ name: row.name }]);
    const first = await this.findOne(Example, [{ name: row.name }]);
    if (!(first instanceof Example) || first.id !== group[0]?.id) throw new Error('findOne is not the first of find');
    if (!group.every((one) => one instanceof Example && one.processed === (one.id === row.id ? row.processed : false))) {
      throw new Error('find did not return Example instances with booleans as booleans');
    }
    if ((await this.findOne(Example, [{ name: 'nobody' }])) !== null) throw new Error('findOne found a name nobody has');
    row.copies = group.length;
    row.above = await this.count(Example, [['value', '>', row.value]]);
    for (const copy of group.slice(1)) await this.delete(copy);
    row.processed = true;
  }
}
`;

async function scaffoldOnce(): Promise<ScaffoldedPipeline> {
  if (!scaffold) {
    scaffold = await createPipeline(tempDir(), 'querypipe');
    scaffold.edit('models.ts', '  doubled: float(),', '  doubled: float(),\n  copies: integer(),\n  above: integer(),');
  }
  return scaffold;
}

forEachDatabase((dialect) => {
  let pipe: ScaffoldedPipeline;
  let db: PipelineDb;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    pipe = copyPipeline(await scaffoldOnce(), tempDir(), `querypipe-${dialect}`);
    if (dialect === 'postgres') database = await createTestDatabase();
    db = usePipelineDb(pipe, dialect, database);
    // One row a chunk: a copy deleted by an earlier row is never read.
    configureSettings(pipe, { chunkSize: 1, logLevel: 'warn' });
    pipe.edit('steps.ts', /[\s\S]*/, DEDUPLICATING_STEP);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  test('when the step reads its group with find and findOne, counts with count and deletes the copies then one row per name is left, with the figures it saw', async () => {
    const f = dialect === 'postgres' ? 'false' : '0';
    await db.exec(`INSERT INTO "Example" (id, name, value, processed) VALUES (1, 'a', 1, ${f}), (2, 'b', 2, ${f}), (3, 'a', 3, ${f}), (4, 'c', 4, ${f}), (5, 'b', 5, ${f}), (6, 'a', 6, ${f})`);
    const result = await pipe.cli(['run']);
    expectExit(result, 0);
    expect(result.stderr).toMatch(/ok +step +MyStep +3 rows/);
    const rows = await db.query<{ id: number | string; name: string; copies: number | string; above: number | string }>('SELECT id, name, copies, above FROM "Example" ORDER BY id');
    // Row 1 saw all six rows (five above it) and deleted 3 and 6; row 2 saw 1, 2, 4, 5 and deleted 5; row 4 saw 1, 2, 4.
    expect(rows.map((row) => [Number(row.id), row.name, Number(row.copies), Number(row.above)])).toEqual([
      [1, 'a', 3, 5],
      [2, 'b', 2, 2],
      [4, 'c', 1, 0],
    ]);
    expect(await db.count('processed')).toBe(3);
  });
});
