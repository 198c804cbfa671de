/**
 * The columns of `corral_runs`, asked once per engine in one query: a database created
 * by an older corral lacks the newer ones (`session`, `wrote`) until `createdb` adds
 * them. Only type imports here: lease.ts, which the heartbeat thread loads, imports it.
 */
import type { Engine } from '../engine.js';

const known = new WeakMap<Engine, Promise<ReadonlySet<string>>>();

/** Whether `corral_runs` has `column`. */
export async function runsHaveColumn(engine: Engine, column: string): Promise<boolean> {
  return (await runsColumns(engine)).has(column);
}

function runsColumns(engine: Engine): Promise<ReadonlySet<string>> {
  let columns = known.get(engine);
  if (!columns) {
    const asked = columnsOf(engine);
    known.set(engine, asked);
    // A failure (a lost connection) is not remembered: the next caller asks again.
    asked.catch(() => {
      if (known.get(engine) === asked) known.delete(engine);
    });
    columns = asked;
  }
  return columns;
}

/**
 * PostgreSQL: the catalog itself, in the schema knex's hasColumn looks in (about 70 ms
 * less than information_schema.columns, a view that joins a dozen catalogs).
 */
async function columnsOf(engine: Engine): Promise<ReadonlySet<string>> {
  if (engine.dialect === 'postgres') {
    const result = (await engine.knex.raw(
      `SELECT a.attname AS name FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        WHERE c.relname = 'corral_runs' AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = current_schema())`,
    )) as { rows: { name: string }[] };
    return new Set(result.rows.map((row) => row.name));
  }
  return new Set(Object.keys(await engine.knex('corral_runs').columnInfo()));
}
