import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { DBError, describeError } from '../core/errors.js';
import type { Engine } from './engine.js';
import type { ModelClass } from './model.js';
import { describeDbColumn, type SchemaDiff, type TableChange } from './schema-diff.js';
import { columnDefinition, tableConstraints, type BuilderCall } from './schema.js';

/** The table knex records applied migrations in (and `<name>_lock`, its lock). */
export const MIGRATIONS_TABLE = 'corral_migrations';

/** The folder of a pipeline's migrations: `<pipeline root>/migrations`. */
export function migrationsDir(root: string): string {
  return path.join(root, 'migrations');
}

// ---------------------------------------------------------------------------
// Writing a migration

/** A JavaScript literal for a builder argument. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n')}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return `new Date('${value.toISOString()}')`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : literal(k)}: ${literal(v)}`);
    return `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** `table.integer('x').notNullable()` */
export function callsToCode(receiver: string, calls: readonly BuilderCall[]): string {
  return receiver + calls.map((c) => `.${c.method}(${c.args.map(literal).join(', ')})`).join('');
}

/**
 * Statements that declare a column, the same on both databases when they can be:
 * the column mapping differs for dates and JSON, so the file works on SQLite and on
 * PostgreSQL alike (`pg` is set at the top of `up`).
 */
function columnStatements(
  Model: ModelClass,
  name: string,
  known: ReadonlyMap<string, ModelClass> | undefined,
  suffix: readonly BuilderCall[] = [],
): { lines: string[]; dialectSpecific: boolean } {
  const lite = columnDefinition(Model, name, 'sqlite', known);
  const pg = columnDefinition(Model, name, 'postgres', known);
  const code = (def: typeof lite) => [callsToCode('table', [...def.column, ...suffix]) + ';', ...(def.foreign ? [callsToCode('table', def.foreign) + ';'] : [])];
  const [liteCode, pgCode] = [code(lite), code(pg)];
  if (liteCode.join('\n') === pgCode.join('\n')) return { lines: liteCode, dialectSpecific: false };
  return {
    lines: [`if (pg) {`, ...pgCode.map((l) => '  ' + l), `} else {`, ...liteCode.map((l) => '  ' + l), `}`],
    dialectSpecific: true,
  };
}

/** A `knex.schema.<method>(table, (table) => { ... })` block, or nothing when there are no lines. */
function schemaBlock(method: 'createTable' | 'alterTable', table: string, lines: readonly string[]): string[] {
  if (lines.length === 0) return [];
  return [`await knex.schema.${method}(${literal(table)}, (table) => {`, ...lines.map((l) => '  ' + l), '});'];
}

/** Statements separated by a blank line, for reading. */
function paragraphs(blocks: readonly string[][]): string[] {
  return blocks.filter((b) => b.length > 0).flatMap((b, i) => (i === 0 ? b : ['', ...b]));
}

/** Comment lines, long ones wrapped at word boundaries (code lines, indented, are kept whole). */
function comment(lines: readonly string[], width = 96): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith(' ') || line.length <= width) {
      out.push(line ? `// ${line}` : '//');
      continue;
    }
    let current = '';
    for (const word of line.split(' ')) {
      if (current && current.length + word.length + 1 > width) {
        out.push(`// ${current}`);
        current = '  ' + word;
      } else current = current ? `${current} ${word}` : word;
    }
    if (current.trim()) out.push(`// ${current}`);
  }
  return out;
}

export interface MigrationCode {
  /** The body of `up` (unindented lines). */
  readonly up: string[];
  readonly down: string[];
  /** What the author must finish or check, one line each (also written as comments in the file). */
  readonly warnings: string[];
  /** One line per change, for the command's summary: `+ column Example.mass`. */
  readonly summary: string[];
}

function alterations(change: TableChange, known: ReadonlyMap<string, ModelClass> | undefined, up: string[][], down: string[][], warnings: string[], summary: string[]): boolean {
  const { Model } = change;
  const table = Model.table;
  let dialectSpecific = false;
  const upLines: string[] = [];
  const downLines: string[] = [];
  const renameSuspected = change.addedColumns.length > 0 && change.droppedColumns.length > 0;
  for (const name of change.addedColumns) {
    const statements = columnStatements(Model, name, known);
    dialectSpecific ||= statements.dialectSpecific;
    upLines.push(...statements.lines);
    downLines.unshift(`table.dropColumn(${literal(name)});`);
    summary.push(`+ column ${table}.${name}`);
    const spec = Model.columns[name]!.spec;
    if (!spec.nullable && !spec.hasDefault) {
      const text = `'${table}.${name}' is NOT NULL without a default: adding it fails on SQLite, and on PostgreSQL when the table has rows. Give it .default(...) in the model, or add it nullable, fill it in, then make it NOT NULL.`;
      warnings.push(text);
      upLines.push(...comment([`WARNING: ${text}`]));
    }
  }
  for (const column of change.droppedColumns) {
    summary.push(`- column ${table}.${column.name}${renameSuspected ? ' (left commented out: a rename?)' : ''}`);
    if (renameSuspected) {
      upLines.push(`// table.dropColumn(${literal(column.name)});`);
    } else {
      upLines.push(`table.dropColumn(${literal(column.name)});`);
      downLines.push(`table.specificType(${literal(column.name)}, ${literal(describeDbColumn(column).replace(/ (NOT )?NULL$/, ''))})${column.nullable ? '' : '.notNullable()'}; // its data is not restored`);
    }
  }
  if (renameSuspected) {
    // Only a one-for-one exchange can be named; otherwise the general form.
    const oneForOne = change.droppedColumns.length === 1 && change.addedColumns.length === 1;
    const rename = oneForOne ? `table.renameColumn(${literal(change.droppedColumns[0]!.name)}, ${literal(change.addedColumns[0]!)})` : "table.renameColumn('old', 'new')";
    const text = `in '${table}', ${change.droppedColumns.map((c) => `'${c.name}'`).join(', ')} left the model and ${change.addedColumns.map((c) => `'${c}'`).join(', ')} arrived. If a column was renamed, replace its add and its drop with ${rename}; otherwise uncomment the drop (dropping loses the column's data).`;
    warnings.push(text);
    upLines.unshift(...comment([`WARNING: ${text}`]));
  }
  for (const columns of change.addedIndexes) {
    upLines.push(`table.index(${literal(columns)});`);
    downLines.unshift(`table.dropIndex(${literal(columns)});`);
    summary.push(`+ index ${table}(${columns.join(', ')})`);
  }
  for (const columns of change.addedUniques) {
    upLines.push(`table.unique(${literal(columns)});`);
    downLines.unshift(`table.dropUnique(${literal(columns)});`);
    summary.push(`+ unique ${table}(${columns.join(', ')})`);
  }
  for (const changed of change.changedColumns) {
    const example = columnStatements(Model, changed.name, known, [{ method: 'alter', args: [] }]);
    const text = `'${table}.${changed.name}' is ${changed.model} in the model but ${changed.database} in the database. corral does not guess how to convert existing values: write the change here.`;
    warnings.push(text);
    summary.push(`! column ${table}.${changed.name}: type or NULL changed (see the WARNING in the file)`);
    up.push(comment([`WARNING: ${text}`, 'For example:', ...schemaBlock('alterTable', table, example.lines).map((l) => '  ' + l)]));
  }
  up.push(schemaBlock('alterTable', table, upLines));
  down.unshift(schemaBlock('alterTable', table, downLines));
  return dialectSpecific;
}

/** The code of a migration that takes the database from its state to the models' (see `diffSchema`). */
export function migrationCode(diff: SchemaDiff): MigrationCode {
  const up: string[][] = [];
  const down: string[][] = [];
  const warnings: string[] = [];
  const summary: string[] = [];
  let dialectSpecific = false;
  const known = diff.modelsByTable;
  for (const Model of diff.newTables) {
    const lines: string[] = [];
    for (const name of Object.keys(Model.columns)) {
      const statements = columnStatements(Model, name, known);
      dialectSpecific ||= statements.dialectSpecific;
      lines.push(...statements.lines);
    }
    for (const constraint of tableConstraints(Model)) lines.push(callsToCode('table', [constraint]) + ';');
    // `createdb` creates missing tables too: a table it already made is left as it is.
    up.push([`if (!(await knex.schema.hasTable(${literal(Model.table)}))) {`, ...schemaBlock('createTable', Model.table, lines).map((l) => '  ' + l), '}']);
    down.unshift([`await knex.schema.dropTableIfExists(${literal(Model.table)});`]);
    summary.push(`+ table ${Model.table}`);
  }
  if (diff.newTables.length > 0 && diff.unknownTables.length > 0) {
    const text = `the database has table(s) no model uses (${diff.unknownTables.map((t) => `'${t}'`).join(', ')}) and the models have new ones (${diff.newTables.map((m) => `'${m.table}'`).join(', ')}). If a table was renamed, replace its createTable with: await knex.schema.renameTable('old', 'new');`;
    warnings.push(text);
    up.unshift(comment([`WARNING: ${text}`]));
  }
  for (const change of diff.changedTables) dialectSpecific = alterations(change, known, up, down, warnings, summary) || dialectSpecific;
  if (dialectSpecific) up.unshift(["// Dates and JSON are declared differently on SQLite and PostgreSQL.", "const pg = knex.client.dialect === 'postgresql';"]);
  // Drops of created tables are one statement each: keep them together.
  const drops = down.filter((b) => b.length === 1);
  return { up: paragraphs(up), down: paragraphs([...down.filter((b) => b.length !== 1), drops.flat()]), warnings, summary };
}

/** `Add mass to planets!` → `add_mass_to_planets` */
export function slugify(message: string): string {
  const slug = message
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 60)
    .replace(/_+$/, '');
  return slug || 'migration';
}

/** `20260125143005`, in UTC, as knex names its migrations. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

/** A file name in `dir` that sorts after every existing migration and clashes with none. */
export function newMigrationName(dir: string, message: string, now = new Date()): string {
  const existing = migrationFiles(dir);
  let stamp = timestamp(now);
  const last = existing[existing.length - 1];
  if (last && last.slice(0, 14) >= stamp) stamp = String(Number(last.slice(0, 14)) + 1);
  return `${stamp}_${slugify(message)}.js`;
}

// ---------------------------------------------------------------------------
// Listing and applying migrations

/** The migration files of `dir`, in the order they apply (file name order). */
export function migrationFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => /\.m?js$/.test(name) && !name.startsWith('.'))
    .sort();
}

export interface AppliedMigration {
  readonly name: string;
  readonly batch: number;
  readonly appliedAt: Date;
}

/** The migrations recorded as applied, oldest first (none when the table does not exist yet). */
export async function appliedMigrations(engine: Engine): Promise<AppliedMigration[]> {
  if (!(await engine.knex.schema.hasTable(MIGRATIONS_TABLE))) return [];
  const rows = (await engine.knex(MIGRATIONS_TABLE).select('name', 'batch', 'migration_time').orderBy('id')) as { name: string; batch: number; migration_time: unknown }[];
  return rows.map((r) => ({ name: r.name, batch: Number(r.batch), appliedAt: new Date(r.migration_time as string | number | Date) }));
}

export interface MigrationState {
  readonly applied: readonly AppliedMigration[];
  /** Files not applied yet, in the order `migrate` applies them. */
  readonly pending: readonly string[];
  /** Applied according to the database, but their file is gone. */
  readonly missing: readonly string[];
}

export async function migrationState(engine: Engine, dir: string): Promise<MigrationState> {
  const files = migrationFiles(dir);
  const applied = await appliedMigrations(engine);
  const done = new Set(applied.map((m) => m.name));
  const present = new Set(files);
  return { applied, pending: files.filter((f) => !done.has(f)), missing: applied.map((m) => m.name).filter((n) => !present.has(n)) };
}

/**
 * Where knex's migrator finds the migrations: the files of `dir`, always loaded as ES
 * modules (whatever the nearest package.json says), so they run without a build.
 */
function migrationSource(dir: string): Knex.MigrationSource<string> {
  return {
    getMigrations: async () => migrationFiles(dir),
    getMigrationName: (file) => file,
    getMigration: async (file) => (await import(pathToFileURL(path.join(dir, file)).href)) as Knex.Migration,
  };
}

export interface MigrateResult {
  /** The files applied (`latest`) or undone (`rollback`), in that order. */
  readonly files: string[];
  readonly batch: number;
}

type KnexLogger = { warn: (message: string) => void };

/** The capture installed on each knex logger, and the runs it serves. */
const captures = new WeakMap<KnexLogger, { own: KnexLogger['warn'] | undefined; sinks: Set<string[]> }>();

/**
 * Warnings knex sends to a logger while migrations run, captured. knex reports a failing
 * migration on the console besides throwing; the error corral throws says it once. One
 * capture per logger serves every overlapping `runMigrations` on that engine, each
 * getting every warning while it runs; the last to finish puts the logger's own back.
 * @internal exported for its test.
 */
export function captureWarnings(logger: KnexLogger, sink: string[]): () => void {
  let capture = captures.get(logger);
  if (!capture) {
    const own = Object.prototype.hasOwnProperty.call(logger, 'warn') ? logger.warn : undefined;
    const sinks = new Set<string[]>();
    capture = { own, sinks };
    captures.set(logger, capture);
    logger.warn = (message: string) => sinks.forEach((s) => s.push(String(message)));
  }
  capture.sinks.add(sink);
  const active = capture;
  return () => {
    active.sinks.delete(sink);
    if (active.sinks.size > 0) return;
    captures.delete(logger);
    if (active.own) logger.warn = active.own;
    else delete (logger as { warn?: unknown }).warn;
  };
}

/**
 * Runs knex's migrator with corral's table: `latest` applies every pending migration
 * in one transaction (SQLite and PostgreSQL both undo DDL on rollback), so a failing
 * migration leaves nothing half-applied; `rollback` undoes the last batch.
 */
export async function runMigrations(engine: Engine, dir: string, direction: 'latest' | 'rollback'): Promise<MigrateResult> {
  const warned: string[] = [];
  const release = captureWarnings((engine.knex.client as { logger: KnexLogger }).logger, warned);
  const config: Knex.MigratorConfig = { tableName: MIGRATIONS_TABLE, migrationSource: migrationSource(dir) };
  try {
    const [batch, files] = (direction === 'latest' ? await engine.knex.migrate.latest(config) : await engine.knex.migrate.rollback(config)) as [number, string[]];
    return { files, batch };
  } catch (error) {
    const failed = warned.map((w) => /^migration file "(.+)" failed$/.exec(w)?.[1]).find(Boolean);
    throw new DBError(`${failed ? `Migration ${failed} failed` : 'Migrating failed'}: ${describeError(error)}`, {
      hint: failed ? 'Nothing of this batch was applied (it ran in one transaction). Fix the migration and run migrate again.' : undefined,
      cause: error,
    });
  } finally {
    release();
  }
}
