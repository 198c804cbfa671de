import { renderTable } from '../../core/table.js';
import { migrationState, migrationsDir } from '../../db/migrations.js';
import { defineCommand, envOf } from '../command-spec.js';

const utc = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 19);

/** The options of `migrations`, as `configure` declares them. */
type MigrationsOptions = { json?: boolean };

export const migrations = defineCommand<MigrationsOptions>({
  name: 'migrations',
  summary: 'List the migrations: applied (with batch and time) and pending',
  mode: 'in',
  configure(cmd) {
    cmd.option('--json', 'print JSON instead of a table');
  },
  async handle(context, options) {
    const env = envOf(context);
    const dir = migrationsDir(env.settings.root);
    const state = await migrationState(env.engine!, dir);
    const missing = new Set(state.missing);
    const rows = [
      ...state.applied.map((m) => ({ name: m.name, status: missing.has(m.name) ? 'applied, file missing' : 'applied', batch: m.batch, appliedAt: m.appliedAt.toISOString() })),
      ...state.pending.map((name) => ({ name, status: 'pending', batch: null, appliedAt: null })),
    ];
    if (options.json) {
      context.output.out(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    if (rows.length === 0) {
      context.output.out(`No migrations in ${dir}.\n`);
      return 0;
    }
    context.output.out(
      renderTable(
        ['Migration', 'Status', 'Batch', 'Applied (UTC)'],
        rows.map((r) => [r.name, r.status, r.batch === null ? '' : String(r.batch), r.appliedAt === null ? '' : utc(new Date(r.appliedAt))]),
        context.colours.out,
      ),
    );
    context.output.out(`${state.applied.length} applied, ${state.pending.length} pending\n`);
    return 0;
  },
});
