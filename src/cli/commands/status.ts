import { renderTable } from '../../core/table.js';
import { allModels, requireTables } from '../../run/environment.js';
import { pipelineStatus } from '../../run/status.js';
import { envOf, type CommandSpec } from '../command-spec.js';

export const status: CommandSpec = {
  name: 'status',
  summary: 'Show per processor its backlog, rows in flight, failed rows and its last run',
  mode: 'in',
  configure(cmd) {
    cmd.option('--json', 'print JSON instead of a table');
  },
  async handle(context, options) {
    const env = envOf(context);
    await requireTables(env.engine!, allModels(env.settings));
    const statuses = await pipelineStatus(env);
    if (options.json) {
      context.output.out(JSON.stringify(statuses, null, 2) + '\n');
      return 0;
    }
    const rows = statuses.map((s) => [
      s.processor,
      s.kind,
      s.backlog === null ? '-' : String(s.backlog),
      String(s.inFlight) + (s.staleWorkers ? ` (${s.staleWorkers} stale)` : ''),
      String(s.retrying),
      String(s.quarantined),
      s.lastRun ? `${s.lastRun.startedAt.replace('T', ' ').slice(0, 19)} ${s.lastRun.status} ${s.lastRun.rows} rows${s.lastRun.failedRows ? `, ${s.lastRun.failedRows} failed` : ''}` : 'never',
    ]);
    context.output.out(renderTable(['Processor', 'Kind', 'Backlog', 'In flight', 'Retrying', 'Quarantined', 'Last run (UTC)'], rows));
    return 0;
  },
};
