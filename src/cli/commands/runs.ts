import { CommandError } from '../../core/errors.js';
import { formatCount, formatDuration, formatTimestamp } from '../../core/format.js';
import { renderTable } from '../../core/table.js';
import { allModels, requireTables } from '../../run/environment.js';
import { knownProcessorNames } from '../../run/registry.js';
import { RUN_OUTCOMES, listRuns, outcomeText, parseOutcomes, parseSince } from '../../db/bookkeeping/run-list.js';
import { defineCommand, envOf } from '../command-spec.js';

/** The options of `runs`, as `configure` declares them. */
type RunsOptions = { processors?: string[]; status?: string[]; since?: string; limit: string; json?: boolean };

export const runs = defineCommand<RunsOptions>({
  name: 'runs',
  summary: 'List past and running runs, newest first: processor, status, rows, failed rows, duration, host, pid, start',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('-p, --processors <names...>', 'only the runs of these processors')
      .option('--status <statuses...>', `only runs that ended so: ${RUN_OUTCOMES.join(', ')}`)
      .option('--since <when>', 'only runs started since then: a time ago (30m, 6h, 2d) or a UTC date or time (2026-12-06, "2026-12-06 10:00")')
      .option('-n, --limit <count>', 'show at most this many runs', '50')
      .option('--json', 'print JSON instead of a table');
  },
  async handle(context, options) {
    const env = envOf(context);
    await requireTables(env.engine!, allModels(env.settings));
    const names = knownProcessorNames(env.registry, options.processors);
    const limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CommandError(`--limit takes a whole number >= 1, got '${String(options.limit)}'`);
    const entries = await listRuns(env.engine!, {
      processors: names,
      outcomes: options.status ? parseOutcomes(options.status) : undefined,
      since: options.since === undefined ? undefined : parseSince(String(options.since)),
      limit,
    });
    if (options.json) {
      context.output.out(JSON.stringify(entries, null, 2) + '\n');
      return 0;
    }
    if (entries.length === 0) {
      context.output.out('No runs.\n');
      return 0;
    }
    const rows = entries.map((r) => [
      formatTimestamp(r.startedAt),
      r.processor + (r.partition ? ` (${r.partition})` : ''),
      outcomeText(r.outcome),
      formatCount(r.rows),
      formatCount(r.failedRows),
      formatDuration(r.seconds),
      r.host,
      String(r.pid),
      r.error === null ? '' : r.error.length > 60 ? r.error.slice(0, 59) + '…' : r.error,
    ]);
    context.output.out(renderTable(['Started (UTC)', 'Processor', 'Status', 'Rows', 'Failed', 'Duration', 'Host', 'Pid', 'Error'], rows, context.colours.out));
    return 0;
  },
});
