/**
 * Lineage learned from the runs: the tables each processor run wrote, kept in
 * `corral_runs.wrote` (a JSON array of table names), (db/bookkeeping/wrote.ts), so that `create-models-diagram
 * --lineage`, `create-doc` and `serve` can draw which processor writes which model
 * without the pipeline declaring it.
 *
 * What is seen: every instance a loader or step produces (`store.ts`), every
 * `this.save()` / `this.delete()`, and the rows a step processes (it writes back its
 * own model). What is not seen: writes through raw `this.db` knex, which carry no
 * model; a processor that writes that way declares `static writes = [Model]`.
 */
const written = new WeakMap<object, Set<string>>();
/** The last pair noted: a loader notes the same one for every row, and a noted table is never forgotten. */
let lastNoted: { processor: object; table: string } | undefined;

/** Notes that `processor` (an instance) wrote a row of `table` in this run. */
export function noteWritten(processor: object, table: string): void {
  if (lastNoted !== undefined && lastNoted.processor === processor && lastNoted.table === table) return;
  lastNoted = { processor, table };
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
