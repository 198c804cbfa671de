import fs from 'node:fs';
import path from 'node:path';
import { CommandError } from '../../core/errors.js';
import { CORRAL_ROOT } from '../../creator/create-pipeline.js';
import { renderTemplate } from '../../creator/render.js';
import { MIGRATIONS_TABLE, migrationCode, type MigrationCode, migrationState, migrationsDir, newMigrationName } from '../../db/migrations.js';
import { diffSchema, isEmptyDiff } from '../../db/schema-diff.js';
import { allModels } from '../../run/environment.js';
import { VERSION } from '../../version.js';
import { defineCommand, envOf } from '../command-spec.js';

const TEMPLATE = path.join(CORRAL_ROOT, 'templates', 'migration', 'migration.js-tpl');

const indent = (lines: readonly string[]) => lines.map((l) => (l ? '  ' + l : '')).join('\n');

/** The text of a migration file (templates/migration/migration.js-tpl) for this code. */
export function migrationFileText(code: MigrationCode, message: string, database: string, now = new Date()): string {
  return renderTemplate(fs.readFileSync(TEMPLATE, 'utf8'), {
    message: message.replace(/\s*\n\s*/g, ' '),
    version: VERSION,
    createdAt: now.toISOString(),
    database,
    up: indent(code.up),
    down: indent(code.down.length ? code.down : ['// Nothing to undo.']),
  });
}

/** The options of `makemigrations`, as `configure` declares them. */
type MakemigrationsOptions = { message: string; dryRun?: boolean };

export const makemigrations = defineCommand<MakemigrationsOptions>({
  name: 'makemigrations',
  summary: 'Compare the models with the database and write a migration for what changed (new tables, columns, indexes)',
  mode: 'in',
  configure(cmd) {
    cmd
      .requiredOption('-m, --message <text>', 'what the migration does (also its file name)')
      .option('--dry-run', 'print the migration instead of writing it')
      .addHelpText(
        'after',
        `
Writes <pipeline>/migrations/<timestamp>_<message>.js, a knex migration (plain
JavaScript, no build needed) with up() and down(), for: new tables, new columns,
dropped columns, new indexes and unique constraints. A changed column type, a
changed NULL-ability or a possible rename is never guessed: the file gets a
WARNING comment for you to finish. Apply the file with 'migrate'.
Nothing differs: nothing is written.`,
      );
  },
  async handle(context, options) {
    const env = envOf(context);
    const engine = env.engine!;
    const message = String(options.message ?? '').trim();
    if (!message) throw new CommandError('The migration needs a message: -m "what it does"');
    const dir = migrationsDir(env.settings.root);
    const state = await migrationState(engine, dir);
    if (state.pending.length > 0) {
      throw new CommandError(`${state.pending.length} migration(s) not applied yet: ${state.pending.join(', ')}`, {
        hint: 'makemigrations compares the models with the database: apply them first with `node in_corral.js migrate`',
      });
    }
    const diff = await diffSchema(engine, allModels(env.settings), MIGRATIONS_TABLE);
    if (isEmptyDiff(diff)) {
      context.output.out(`No changes: the tables of ${engine.label} match the models. Nothing was written.\n`);
      return 0;
    }
    const code = migrationCode(diff);
    const text = migrationFileText(code, message, engine.label);
    if (options.dryRun) {
      context.output.out(text);
      return 0;
    }
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, newMigrationName(dir, message));
    fs.writeFileSync(file, text);
    context.output.out(`Wrote ${path.relative(env.settings.root, file)}:\n${code.summary.map((s) => `  ${s}\n`).join('')}`);
    for (const warning of code.warnings) context.output.err(`WARNING: ${warning}\n`);
    if (code.warnings.length) context.output.err('Finish what the WARNING comments in the file ask before running migrate.\n');
    else context.output.out('Apply it with: node in_corral.js migrate\n');
    return 0;
  },
});
