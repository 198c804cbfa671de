import { formatCount, formatTimestamp } from '../../core/format.js';
import { renderTable } from '../../core/table.js';
import { allModels, requireTables } from '../../run/environment.js';
import { outcomeOf, outcomeText } from '../../db/bookkeeping/run-list.js';
import { healthProblems, pipelineStatus } from '../../run/status.js';
import { defineCommand, envOf } from '../command-spec.js';

/** " (1 stale, 2 dead)" after the rows in flight, or nothing. */
function workerNotes(stale: number, dead: number): string {
  const notes = [...(stale ? [`${stale} stale`] : []), ...(dead ? [`${dead} dead`] : [])];
  return notes.length ? ` (${notes.join(', ')})` : '';
}

/** The options of `status`, as `configure` declares them. */
type StatusOptions = { json?: boolean; check?: boolean };

export const status = defineCommand<StatusOptions>({
  name: 'status',
  summary: 'Show per processor its backlog, rows in flight, failed rows and its last run',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('--json', 'print JSON instead of a table')
      .option('--check', 'for monitors: print one line per problem and exit 1 if there is any, print nothing and exit 0 if there is none')
      .addHelpText(
        'after',
        `
--check reports quarantined rows, workers marked running whose heartbeat is older
than leaseSeconds (stale) or whose process on this host is gone (dead), and
processors whose last run failed. With --json it prints {"ok": ..., "problems": [...]}.
Exit codes: 0 healthy, 1 a problem (or the database could not be read).`,
      );
  },
  async handle(context, options) {
    const env = envOf(context);
    await requireTables(env.engine!, allModels(env.settings));
    const statuses = await pipelineStatus(env);
    if (options.check) {
      const problems = healthProblems(statuses);
      if (options.json) context.output.out(JSON.stringify({ ok: problems.length === 0, problems }, null, 2) + '\n');
      else for (const problem of problems) context.output.out(`${problem.message}\n`);
      return problems.length === 0 ? 0 : 1;
    }
    if (options.json) {
      context.output.out(JSON.stringify(statuses, null, 2) + '\n');
      return 0;
    }
    const rows = statuses.map((s) => [
      s.processor,
      s.kind,
      s.backlog === null ? '-' : formatCount(s.backlog),
      formatCount(s.inFlight) + workerNotes(s.staleWorkers, s.deadWorkers),
      formatCount(s.retrying),
      formatCount(s.quarantined),
      s.lastRun
        ? `${formatTimestamp(s.lastRun.startedAt)} ${outcomeText(outcomeOf(s.lastRun.status, s.lastRun.failedRows))} ${formatCount(s.lastRun.rows)} rows${s.lastRun.failedRows ? `, ${formatCount(s.lastRun.failedRows)} failed` : ''}`
        : 'never',
    ]);
    context.output.out(renderTable(['Processor', 'Kind', 'Backlog', 'In flight', 'Retrying', 'Quarantined', 'Last run (UTC)'], rows, context.colours.out));
    return 0;
  },
});
