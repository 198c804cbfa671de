import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { describeError } from '../core/errors.js';
import { renderTable } from '../core/table.js';
import type { Engine } from '../db/engine.js';
import { metaCommand } from './sql-meta.js';

/** One statement's outcome: rows to show, or how many rows it changed. */
export type SqlResult = { readonly columns: string[]; readonly rows: unknown[][] } | { readonly changed: number };

interface PgClient {
  query(sql: string): Promise<{ fields?: { name: string }[]; rows: Record<string, unknown>[]; rowCount: number | null; command?: string }>;
}

/**
 * Runs statements exactly as typed, on the database's own connection: not through
 * knex, which would take every `?` for a placeholder.
 */
export interface SqlRunner {
  run(sql: string): Promise<SqlResult>;
  close(): Promise<void>;
}

export async function openSqlRunner(engine: Engine): Promise<SqlRunner> {
  const sqlite: SqliteDatabase | undefined = engine.sqlite;
  if (sqlite) {
    return {
      run: async (sql) => {
        const statement = sqlite.prepare(sql);
        if (!statement.reader) return { changed: statement.run().changes };
        const columns = statement.columns().map((c) => c.name);
        const rows = statement.raw(true).all() as unknown[][];
        return { columns, rows };
      },
      close: async () => undefined,
    };
  }
  const client = engine.knex.client as { acquireConnection(): Promise<PgClient>; releaseConnection(c: PgClient): Promise<void> };
  const connection = await client.acquireConnection();
  return {
    run: async (sql) => {
      const raw = (await connection.query(sql)) as Awaited<ReturnType<PgClient['query']>> | Awaited<ReturnType<PgClient['query']>>[];
      const result = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
      if (result.fields && result.fields.length > 0) {
        const columns = result.fields.map((f) => f.name);
        return { columns, rows: result.rows.map((row) => columns.map((c) => row[c])) };
      }
      return { changed: result.rowCount ?? 0 };
    },
    close: async () => void (await client.releaseConnection(connection)),
  };
}

/** A cell as the table shows it. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const WRITES = /^\s*(insert|update|delete|replace|merge)\b/i;

/** A table of rows; the affected row count of a write; `OK` for anything else (DDL, BEGIN, ...). */
export function formatResult(result: SqlResult, statement = ''): string {
  if ('changed' in result) {
    if (!WRITES.test(statement)) return 'OK\n';
    return `(${result.changed} row${result.changed === 1 ? '' : 's'} affected)\n`;
  }
  const table = renderTable(result.columns, result.rows.map((row) => row.map(cell)));
  return `${table}(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})\n`;
}

/**
 * Splits typed text into complete statements at `;` outside quotes and comments;
 * what follows the last `;` is kept for the next line.
 */
export function splitStatements(text: string): { statements: string[]; rest: string } {
  const statements: string[] = [];
  let start = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) break;
      i = end + 1;
    } else if (c === ';') {
      const statement = text.slice(start, i).trim();
      if (statement) statements.push(statement);
      start = i + 1;
    }
  }
  return { statements, rest: text.slice(start) };
}

const EXIT = /^\s*(exit|quit|\\q)\s*;?\s*$/i;

export interface SqlPromptOptions {
  readonly engine: Engine;
  readonly input: Readable & { isTTY?: boolean };
  readonly output: Writable & { isTTY?: boolean };
}

/**
 * corral's own SQL prompt, for when the database's client is not installed: a
 * statement ends with `;`, `exit;` or end of input leaves, results print as tables,
 * a failing statement prints its error and the prompt goes on. Each statement
 * commits on its own unless you type BEGIN.
 */
export async function sqlPrompt(options: SqlPromptOptions): Promise<number> {
  const { engine, input, output } = options;
  const interactive = Boolean(input.isTTY && output.isTTY);
  const runner = await openSqlRunner(engine);
  const lines = readline.createInterface({ input, output: interactive ? output : undefined, terminal: interactive, crlfDelay: Infinity });
  output.write(`Connected to: ${engine.label}\nStatements end with ';'. .tables and .schema TABLE (or \\dt, \\d TABLE) describe the database; .help lists them. Type 'exit;' or Ctrl-D to leave.\n\n`);
  const dialect = engine.sqlite ? 'sqlite' : 'postgres';
  let pending = '';
  const prompt = () => {
    if (interactive) {
      lines.setPrompt(pending.trim() ? '...> ' : 'SQL> ');
      lines.prompt();
    }
  };
  try {
    prompt();
    for await (const line of lines) {
      if (!pending.trim() && EXIT.test(line)) break;
      if (!pending.trim() && /^\s*[.\\]/.test(line)) {
        // A meta command (.tables, \d TABLE): one line, no ';'.
        try {
          output.write((await metaCommand(line, runner, dialect)) ?? `Error: unknown command ${line.trim()}: .help lists the commands\n`);
        } catch (error) {
          output.write(`Error: ${describeError(error)}\n`);
        }
        prompt();
        continue;
      }
      const { statements, rest } = splitStatements(pending + line + '\n');
      pending = rest;
      for (const statement of statements) {
        try {
          output.write(formatResult(await runner.run(statement), statement));
        } catch (error) {
          output.write(`Error: ${describeError(error)}\n`);
        }
      }
      prompt();
    }
    if (pending.trim()) output.write(`Not run (no closing ';'): ${pending.trim()}\n`);
  } finally {
    lines.close();
    await runner.close();
  }
  return 0;
}
