import { migrationState, migrationsDir, runMigrations } from '../../db/migrations.js';
import { defineCommand, envOf } from '../command-spec.js';
import { confirm, databaseShown } from './createdb.js';

/** The options of `migrate`, as `configure` declares them. */
type MigrateOptions = { noinput?: boolean; rollback?: boolean };

export const migrate = defineCommand<MigrateOptions>({
  name: 'migrate',
  summary: 'Apply the pending migrations of the migrations folder (all in one transaction)',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('--noinput', 'do not ask for confirmation')
      .option('--rollback', 'undo the last batch of applied migrations instead (their down())')
      .addHelpText(
        'after',
        `
Migrations change tables that already exist; 'createdb' only creates the tables
that are missing. Write migrations with 'makemigrations -m MESSAGE' and list them
with 'migrations'. The pending ones are applied in file-name order, in one
transaction: when one fails, none of them is applied.`,
      );
  },
  async handle(context, options) {
    const env = envOf(context);
    const engine = env.engine!;
    const dir = migrationsDir(env.settings.root);
    const state = await migrationState(engine, dir);
    if (state.missing.length > 0) {
      context.output.err(`Warning: applied migrations whose file is gone from ${dir}: ${state.missing.join(', ')}\n`);
    }
    const rollback = Boolean(options.rollback);
    if (rollback) {
      const last = state.applied.length ? Math.max(...state.applied.map((m) => m.batch)) : undefined;
      const batch = state.applied.filter((m) => m.batch === last).map((m) => m.name);
      if (batch.length === 0) {
        context.output.out('No applied migrations to roll back.\n');
        return 0;
      }
      if (!options.noinput && !(await confirm(context.ask, `Undo ${batch.length} migration(s) on ${databaseShown(env)} (${batch.join(', ')})?`))) {
        context.output.err('Nothing was rolled back.\n');
        return 1;
      }
      const result = await runMigrations(engine, dir, 'rollback');
      context.output.out(`Rolled back: ${result.files.join(', ')}\n`);
      return 0;
    }
    if (state.pending.length === 0) {
      context.output.out(`No migrations to apply: ${engine.label} is up to date.\n`);
      return 0;
    }
    context.output.out(`Pending migrations:\n${state.pending.map((f) => `  ${f}\n`).join('')}`);
    if (!options.noinput && !(await confirm(context.ask, `Apply ${state.pending.length} migration(s) to ${databaseShown(env)}?`))) {
      context.output.err('Nothing was migrated.\n');
      return 1;
    }
    const result = await runMigrations(engine, dir, 'latest');
    context.output.out(`Applied ${result.files.length} migration(s) (batch ${result.batch}): ${result.files.join(', ')}\n`);
    return 0;
  },
});
