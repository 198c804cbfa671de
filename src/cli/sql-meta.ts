/**
 * The meta commands of corral's built-in SQL prompt, the ones people type from
 * habit: `.tables` / `\dt` (sqlite3 / psql) list the tables, `.schema TABLE` /
 * `\d TABLE` describe one (columns, primary key, indexes), `.schema` alone every
 * table. They answer the same way on SQLite and PostgreSQL, from the catalog.
 */
import { renderTable } from '../core/table.js';
import type { SqlResult } from './sql-prompt.js';

export type Dialect = 'sqlite' | 'postgres';

/** What the meta commands need: a statement runner (no bindings, so names are quoted here). */
export interface MetaRunner {
  run(sql: string): Promise<SqlResult>;
}

const TABLES = /^\s*(?:\.tables|\\dt\+?|\\d)\s*;?\s*$/i;
const DESCRIBE = /^\s*(?:\.schema|\\d\+?)\s+("?)([^"\s;]+)\1\s*;?\s*$/i;
const SCHEMA_ALL = /^\s*\.schema\s*;?\s*$/i;
const HELP = /^\s*(?:\.help|\\\?)\s*;?\s*$/i;

const sqlText = (text: string) => `'${text.replace(/'/g, "''")}'`;
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

function rowsOf(result: SqlResult): unknown[][] {
  return 'rows' in result ? result.rows : [];
}

async function tableNames(runner: MetaRunner, dialect: Dialect): Promise<string[]> {
  const sql =
    dialect === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
      : "SELECT table_name FROM information_schema.tables WHERE table_schema = ANY (current_schemas(false)) AND table_type = 'BASE TABLE' ORDER BY table_name";
  return rowsOf(await runner.run(sql)).map((row) => String(row[0]));
}

async function describeTable(runner: MetaRunner, dialect: Dialect, table: string): Promise<string> {
  let columns: string[][];
  let primaryKey: string[];
  let indexes: string[];
  if (dialect === 'sqlite') {
    const info = rowsOf(await runner.run(`PRAGMA table_info(${identifier(table)})`));
    // cid, name, type, notnull, dflt_value, pk
    columns = info.map((r) => [String(r[1]), String(r[2] || ''), Number(r[3]) ? 'no' : 'yes', r[4] === null ? '' : String(r[4])]);
    primaryKey = info.filter((r) => Number(r[5]) > 0).sort((a, b) => Number(a[5]) - Number(b[5])).map((r) => String(r[1]));
    indexes = rowsOf(await runner.run(`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ${sqlText(table)} AND sql IS NOT NULL ORDER BY name`)).map((r) => String(r[0]));
  } else {
    const regclass = `to_regclass(${sqlText(identifier(table))})`;
    columns = rowsOf(
      await runner.run(
        `SELECT a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'no' ELSE 'yes' END, coalesce(pg_get_expr(d.adbin, d.adrelid), '') ` +
          `FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum ` +
          `WHERE a.attrelid = ${regclass} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      ),
    ).map((r) => r.map(String));
    primaryKey = rowsOf(
      await runner.run(
        `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) ` +
          `WHERE i.indrelid = ${regclass} AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      ),
    ).map((r) => String(r[0]));
    indexes = rowsOf(
      await runner.run(`SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = ${regclass} AND NOT i.indisprimary ORDER BY 1`),
    ).map((r) => String(r[0]));
  }
  const lines = [`Table ${table}`, renderTable(['Column', 'Type', 'Null', 'Default'], columns).trimEnd()];
  lines.push(`Primary key: ${primaryKey.length ? primaryKey.join(', ') : '(none)'}`);
  if (indexes.length) lines.push('Indexes:', ...indexes.map((sql) => `  ${sql}`));
  return lines.join('\n') + '\n';
}

/** The table a typed name means: exact, else the one that differs only in case. */
function resolveTable(typed: string, tables: readonly string[]): string | undefined {
  return tables.find((t) => t === typed) ?? tables.find((t) => t.toLowerCase() === typed.toLowerCase());
}

export const META_HELP = [
  '.tables or \\dt          list the tables',
  '.schema TABLE or \\d TABLE  the columns, primary key and indexes of a table',
  '.schema                 every table',
  "exit; or Ctrl-D         leave",
].join('\n');

/**
 * The answer to a meta command, or undefined when `line` is not one (then it is SQL).
 * An unknown table is one line naming the tables there are.
 */
export async function metaCommand(line: string, runner: MetaRunner, dialect: Dialect): Promise<string | undefined> {
  if (HELP.test(line)) return META_HELP + '\n';
  if (TABLES.test(line)) {
    const tables = await tableNames(runner, dialect);
    return renderTable(['Table'], tables.map((t) => [t])) + `(${tables.length} table${tables.length === 1 ? '' : 's'})\n`;
  }
  if (SCHEMA_ALL.test(line)) {
    const tables = await tableNames(runner, dialect);
    const parts: string[] = [];
    for (const table of tables) parts.push(await describeTable(runner, dialect, table));
    return parts.join('\n') || '(no tables)\n';
  }
  const describe = DESCRIBE.exec(line);
  if (describe) {
    const tables = await tableNames(runner, dialect);
    const table = resolveTable(describe[2]!, tables);
    if (!table) return `Error: no table '${describe[2]}'; the tables are: ${tables.join(', ') || '(none)'}\n`;
    return describeTable(runner, dialect, table);
  }
  return undefined;
}
