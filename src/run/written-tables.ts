/**
 * Lineage learned from the runs: the tables each processor run wrote, kept in
 * `corral_runs.wrote` (a JSON array of table names), so that `create-models-diagram
 * --lineage`, `create-doc` and `serve` can draw which processor writes which model
 * without the pipeline declaring it.
 *
 * What is seen: every instance a loader or step produces (`store.ts`), every
 * `this.save()` / `this.delete()`, and the rows a step processes (it writes back its
 * own model). What is not seen: writes through raw `this.db` knex, which carry no
 * model; a processor that writes that way declares `static writes = [Model]`.
 */
import fs from 'node:fs';
import { describeError } from '../core/errors.js';
import type { ConnectionConfig } from '../conf/connection.js';
import { Engine } from '../db/engine.js';
import { Run } from '../db/framework-models.js';

const written = new WeakMap<object, Set<string>>();

/** Notes that `processor` (an instance) wrote a row of `table` in this run. */
export function noteWritten(processor: object, table: string): void {
  let tables = written.get(processor);
  if (!tables) {
    tables = new Set();
    written.set(processor, tables);
  }
  tables.add(table);
}

/** The tables `processor` wrote in this run, sorted. */
export function tablesWritten(processor: object): string[] {
  return [...(written.get(processor) ?? [])].sort();
}

const wroteColumns = new WeakMap<Engine, Promise<boolean>>();

/** Whether `corral_runs` has the `wrote` column (a database created by an older corral has not; `createdb` adds it). Asked once per engine. */
export function runsHaveWrote(engine: Engine): Promise<boolean> {
  let known = wroteColumns.get(engine);
  if (!known) {
    known = engine.knex.schema.hasColumn(Run.table, 'wrote');
    wroteColumns.set(engine, known);
  }
  return known;
}

/** The `wrote` value of a run: a JSON array, or null when it wrote nothing. */
export function wroteValue(tables: readonly string[]): string | null {
  return tables.length === 0 ? null : JSON.stringify([...tables].sort());
}

/**
 * The tables each processor's runs wrote, over its whole recorded history: one
 * short read (distinct values), nothing on a database without the column.
 */
export async function learnedWrites(engine: Engine): Promise<Map<string, Set<string>>> {
  const learned = new Map<string, Set<string>>();
  if (!(await runsHaveWrote(engine))) return learned;
  const rows = (await engine.knex(Run.table).whereNotNull('wrote').distinct('processor', 'wrote')) as { processor: string; wrote: string }[];
  for (const row of rows) {
    let tables: unknown;
    try {
      tables = JSON.parse(row.wrote);
    } catch {
      continue;
    }
    if (!Array.isArray(tables)) continue;
    const set = learned.get(row.processor) ?? new Set<string>();
    for (const table of tables) if (typeof table === 'string') set.add(table);
    learned.set(row.processor, set);
  }
  return learned;
}

/**
 * `learnedWrites` for a command that opens no database (`create-models-diagram`,
 * `create-doc`): opens the pipeline's database for one read and closes it. A
 * database that does not exist yet, or cannot be reached, has taught nothing: the
 * lineage then shows what the processors declare, and `reason` says why.
 */
export async function learnedWritesOf(connection: ConnectionConfig, leaseSeconds: number): Promise<{ learned: Map<string, Set<string>>; reason?: string }> {
  if (connection.filename && !fs.existsSync(connection.filename)) return { learned: new Map(), reason: `the database file ${connection.filename} does not exist yet` };
  let engine: Engine | undefined;
  try {
    engine = await Engine.open({ knex: connection.knex, label: connection.label, leaseSeconds });
    return { learned: await learnedWrites(engine) };
  } catch (error) {
    return { learned: new Map(), reason: `the database could not be read (${describeError(error)})` };
  } finally {
    await engine?.destroy();
  }
}
