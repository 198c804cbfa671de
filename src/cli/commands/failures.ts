import { CommandError } from '../../core/errors.js';
import { formatTimestamp } from '../../core/format.js';
import { renderTable } from '../../core/table.js';
import { allModels, requireTables } from '../../run/environment.js';
import { knownProcessorNames } from '../../run/registry.js';
import { clearFailures, listFailures, retryFailures } from '../../run/status.js';
import { defineCommand, envOf } from '../command-spec.js';

/** The options of `failures`, as `configure` declares them. */
type FailuresOptions = { processors?: string[]; retry?: boolean; clear?: boolean; stack?: boolean; json?: boolean };

export const failures = defineCommand<FailuresOptions>({
  name: 'failures',
  summary: 'List the rows whose processing failed (retrying or quarantined); --retry makes them eligible now, --clear forgets them',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('-p, --processors <names...>', 'only the failures of these processors')
      .option('--retry', 'retry these rows on the next run, quarantined ones included (attempts are kept)')
      .option('--clear', 'forget these failures: the rows are processed again as if they never failed')
      .option('--stack', 'show the stack of each failure')
      .option('--json', 'print JSON instead of a table');
  },
  async handle(context, options) {
    const env = envOf(context);
    const engine = env.engine!;
    await requireTables(engine, allModels(env.settings));
    const names = knownProcessorNames(env.registry, options.processors);
    if (options.retry && options.clear) throw new CommandError('Choose --retry or --clear, not both');
    if (options.retry) {
      context.output.out(`${await retryFailures(engine, names)} failed row(s) will be retried on the next run\n`);
      return 0;
    }
    if (options.clear) {
      context.output.out(`${await clearFailures(engine, names)} failure record(s) cleared\n`);
      return 0;
    }
    const records = await listFailures(engine, names);
    if (options.json) {
      context.output.out(JSON.stringify(records, null, 2) + '\n');
      return 0;
    }
    if (records.length === 0) {
      context.output.out('No failed rows.\n');
      return 0;
    }
    const rows = records.map((r) => [
      r.processor,
      `${r.table} ${r.key.replaceAll('\x1f', ',')}`,
      String(r.attempts),
      r.quarantined ? 'quarantined' : `retry after ${formatTimestamp(r.nextAt)}`,
      formatTimestamp(r.lastAt),
      r.error.length > 80 ? r.error.slice(0, 79) + '…' : r.error,
    ]);
    context.output.out(renderTable(['Processor', 'Row', 'Attempts', 'State', 'Last failure (UTC)', 'Error'], rows, context.colours.out));
    if (options.stack) for (const r of records) context.output.out(`\n${r.processor} ${r.table} ${r.key}:\n${r.stack ?? '(no stack)'}\n`);
    return 0;
  },
});
