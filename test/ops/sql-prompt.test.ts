/** corral's built-in SQL prompt (dbshell without a client), driven through streams. */
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { splitStatements, sqlPrompt } from '../../src/cli/sql-prompt.js';
import { integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { forEachDatabase } from '../helpers/postgres.js';
import { tableNames as tablesOf } from '../helpers/introspect.js';
import { useUnitDb, type UnitDb } from '../helpers/unit-db.js';

class Star extends model('Star', { id: integer().primaryKey(), name: string(50).notNull() }) {}

async function prompt(db: UnitDb, typed: string): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  input.end(typed);
  expect(await sqlPrompt({ engine: db.engine, input, output })).toBe(0);
  return text;
}

describe('splitStatements', () => {
  test("when text holds ';' inside quotes or comments then only the real ends split it", () => {
    expect(splitStatements("select ';' as a; -- x; y\nselect \"b;\" from t; /* ; */ select 3")).toEqual({
      statements: ["select ';' as a", '-- x; y\nselect "b;" from t'],
      rest: ' /* ; */ select 3',
    });
  });
});

forEachDatabase((dialect) => {
  const openDb = useUnitDb(dialect);

  test('when statements are typed then SELECTs print tables, writes their row count, errors a line, and the prompt goes on to exit;', async () => {
    const db = await openDb({ models: [Star] });
    const out = await prompt(
      db,
      [
        "insert into \"Star\" (name) values ('Sun'), ('Vega');",
        'select id, name',
        '  from "Star" order by id;',
        'select * from nowhere;',
        "update \"Star\" set name = 'Sol' where id = 1; select '?' as q;",
        'exit;',
        "insert into \"Star\" (name) values ('after exit');",
      ].join('\n') + '\n',
    );
    expect(out).toContain(`Connected to: ${db.engine.label}`);
    expect(out).toContain('(2 rows affected)');
    expect(out).toContain(['+----+------+', '| id | name |', '+====+======+', '| 1  | Sun  |', '| 2  | Vega |', '+----+------+', '(2 rows)'].join('\n'));
    expect(out).toMatch(/Error: .*nowhere/);
    expect(out).toContain('(1 row affected)');
    expect(out).toContain('| ? |');
    expect(await db.engine.knex('Star').orderBy('id').pluck('name')).toEqual(['Sol', 'Vega']);
  });

  test('when .tables, \\dt, .schema TABLE and \\d TABLE are typed then the tables are listed and one is described, as on the other database', async () => {
    const db = await openDb({ models: [Star] });
    const out = await prompt(db, ['.tables', '\\dt', '.schema Star', '\\d star', '\\d nowhere', '.nonsense', "select 'still here' as s;"].join('\n') + '\n');
    const listing = /\| Table +\|\n\+=+\+\n((?:\| .* \|\n)+)\+-+\+\n\((\d+) tables\)/.exec(out);
    expect(listing, out).not.toBeNull();
    const tables = listing![1]!.split('\n').filter(Boolean).map((l) => l.slice(2, -2).trim());
    expect(tables).toContain('Star');
    expect(tables).toContain('corral_runs');
    expect(tables.some((t) => t.startsWith('sqlite_'))).toBe(false);
    expect(out.split('(' + tables.length + ' tables)').length).toBe(3);
    // Described twice (.schema Star, \d star: the case is forgiven), the same way on both databases.
    const described = out.split('Table Star\n');
    expect(described.length, out).toBe(3);
    const name = dialect === 'sqlite' ? 'varchar(50)' : 'character varying(50)';
    expect(described[1]).toMatch(new RegExp(`^\\| Column \\| Type +\\| Null \\| Default +\\|`, 'm'));
    expect(described[1]).toMatch(new RegExp(`^\\| name +\\| ${name.replace(/[()]/g, '\\$&')} +\\| no +\\|`, 'm'));
    expect(described[1]).toMatch(/^\| id +\| integer +\| (no|yes) +\|/im);
    expect(described[1]).toContain('Primary key: id');
    expect(out).toMatch(/Error: no table 'nowhere'; the tables are: .*Star/);
    expect(out).toContain('Error: unknown command .nonsense: .help lists the commands');
    expect(out).toContain('| still here |');
  });

  test('when cells hold CJK text and emoji then the columns still line up (widths in terminal columns)', async () => {
    const db = await openDb({ models: [Star] });
    const out = await prompt(db, "insert into \"Star\" (name) values ('日本語の星'), ('🌟 nova'), ('Vega');\nselect name, id from \"Star\" order by id;\n");
    expect(out).toContain(
      ['+------------+----+', '| name       | id |', '+============+====+', '| 日本語の星 | 1  |', '| 🌟 nova    | 2  |', '| Vega       | 3  |', '+------------+----+'].join('\n'),
    );
  });

  test('when a table has no primary key, a nullable column with a default and an index then .schema shows them, and .help the commands', async () => {
    const db = await openDb({ models: [Star] });
    // SQLite lets a column have no type at all: its type cell is empty.
    await db.engine.knex.raw(`CREATE TABLE "Loose" (note varchar(20) DEFAULT 'none', size integer${dialect === 'sqlite' ? ', anything' : ''})`);
    await db.engine.knex.raw('CREATE INDEX "Loose_size" ON "Loose" (size)');
    const out = await prompt(db, ['.help', '.schema "Loose";'].join('\n') + '\n');
    expect(out).toContain('.tables or \\dt          list the tables\n');
    const described = out.split('Table Loose\n')[1]!;
    expect(described).toMatch(/^\| note +\| [^|]*var[^|]*\(20\) +\| yes +\| 'none'[^|]* \|$/m);
    expect(described).toMatch(/^\| size +\| integer +\| yes +\| +\|$/im);
    if (dialect === 'sqlite') expect(described).toMatch(/^\| anything +\| +\| yes +\| +\|$/m);
    expect(described).toContain('Primary key: (none)\nIndexes:\n  CREATE INDEX "Loose_size" ON ');
  });

  test('when the database has one table, then none, then .tables, .schema and \\d TABLE say so', async () => {
    const db = await openDb({ models: [Star] });
    for (const table of await tablesOf(db)) if (table !== 'Star') await db.engine.knex.schema.dropTable(table);
    const one = await prompt(db, ['.tables', '.schema'].join('\n') + '\n');
    expect(one).toContain('(1 table)\n');
    expect(one.split('Table Star\n').length).toBe(2);
    await db.engine.knex.schema.dropTable('Star');
    const none = await prompt(db, ['.tables', '.schema', '\\d Star'].join('\n') + '\n');
    expect(none).toContain('(0 tables)\n');
    expect(none).toContain('(no tables)\n');
    expect(none).toContain("Error: no table 'Star'; the tables are: (none)\n");
  });

  test('when input ends in the middle of a statement then it is not run, and the prompt says so', async () => {
    const db = await openDb({ models: [Star] });
    const out = await prompt(db, "insert into \"Star\" (name) values ('half')");
    expect(out).toContain("Not run (no closing ';')");
    expect(await db.engine.knex('Star').count({ n: '*' })).toEqual([{ n: dialect === 'sqlite' ? 0 : '0' }]);
  });
});
