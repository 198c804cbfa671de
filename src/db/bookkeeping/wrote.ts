/** `corral_runs.wrote`: the tables a run wrote, for the lineage (what is noted: processors/written-tables.ts). */
import type { Engine } from '../engine.js';
import { Run } from './models.js';
import { runsHaveColumn } from './runs-columns.js';

/** Whether `corral_runs` has the `wrote` column (a database created by an older corral has not; `createdb` adds it). Asked once per engine. */
export function runsHaveWrote(engine: Engine): Promise<boolean> {
  return runsHaveColumn(engine, 'wrote');
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
