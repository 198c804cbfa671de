import { allModels, type Environment } from '../../run/environment.js';
import { createMissingTables } from '../../db/schema.js';
import { defineCommand, envOf } from '../command-spec.js';

/**
 * The database a confirmation names: its password-free label, and the variable it came
 * from when one replaced the settings' connection (so a prompt shows which it is).
 */
export function databaseShown(env: Environment): string {
  const source = env.settings.connectionSource;
  return `${env.engine!.label}${source === 'settings' || env.mode !== 'in' ? '' : ` (from ${source})`}`;
}

/** Asks until the answer is yes or no; no answer at all (end of input) is no. */
export async function confirm(ask: (q: string) => Promise<string | undefined>, question: string): Promise<boolean> {
  let prompt = `${question} [yes/no] `;
  for (;;) {
    const answer = await ask(prompt);
    if (answer === undefined) return false;
    const normalized = answer.trim().toLowerCase();
    if (normalized === 'yes' || normalized === 'y') return true;
    if (normalized === 'no' || normalized === 'n') return false;
    prompt = "Please answer 'yes' or 'no': ";
  }
}

/** The options of `createdb`, as `configure` declares them. */
type CreatedbOptions = { noinput?: boolean };

export const createdb = defineCommand<CreatedbOptions>({
  name: 'createdb',
  summary: "Create the database tables of the pipeline's models (and corral's own) that do not exist yet",
  mode: 'in',
  createsDatabase: true,
  configure(cmd) {
    cmd
      .option('--noinput', 'do not ask for confirmation')
      .addHelpText('after', "\nTables that already exist are never altered (except that columns a newer corral\nadded to its own corral_* tables are added): for a new column or index in an\nexisting table, write a migration ('makemigrations -m MESSAGE') and apply it ('migrate').");
  },
  async handle(context, options) {
    const env = envOf(context);
    const engine = env.engine!;
    if (!options.noinput) {
      let unanswered = false;
      const ask = async (question: string) => {
        const answer = await context.ask(question);
        unanswered = answer === undefined;
        return answer;
      };
      if (!(await confirm(ask, `Create the tables of '${env.settings.name}' in ${databaseShown(env)}?`))) {
        // No answer at all: standard input is not a terminal (a script, a pipe, CI).
        context.output.err(unanswered ? '\nNothing was created: no answer came (standard input is closed). In scripts, run: createdb --noinput\n' : 'Nothing was created.\n');
        return 1;
      }
    }
    const { created, existing, added } = await createMissingTables(engine, allModels(env.settings));
    if (created.length) context.output.out(`Created tables: ${created.join(', ')}\n`);
    if (added.length) context.output.out(`Added corral's new columns: ${added.join(', ')}\n`);
    const unchanged = existing.filter((table) => !added.some((column) => column.startsWith(`${table}.`)));
    if (unchanged.length) context.output.out(`Already present (left unchanged): ${unchanged.join(', ')}\n`);
    return 0;
  },
});
