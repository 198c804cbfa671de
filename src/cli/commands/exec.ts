import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CommandError, describeError } from '../../core/errors.js';
import { enableTypeScript, settingsView } from '../../conf/load.js';
import { popContext, pushContext } from '../../db/context.js';
import { allModels } from '../../run/environment.js';
import { defineCommand, envOf, type NoOptions } from '../command-spec.js';

const SCRIPT = /\.(?:[cm]?[jt]s|tsx)$/;

export const exec = defineCommand<NoOptions>({
  name: 'exec',
  summary: 'Run a TypeScript or JavaScript file inside the pipeline: settings, models and database open',
  mode: 'in',
  importsSources: true,
  configure(cmd) {
    cmd
      .argument('<file>', 'the .ts or .js file to run (relative to the current folder)')
      .argument('[args...]', 'passed to its default export as `args` (put options after --)')
      .addHelpText(
        'after',
        `
The file runs as a module of the pipeline: it may import the pipeline's models
and corral. Its top-level code runs on import. When it has a default export,
exec calls it inside one transaction, committed when it returns (or resolves) and
rolled back when it throws:

  export default async function ({ db, settings, models, logger, args }) {
    const rows = await db('Example').where({ processed: true });
    logger.info(\`\${rows.length} processed rows\`);
  }

A number it returns becomes the exit code.`,
      );
  },
  async handle(context, _options, args) {
    const env = envOf(context);
    const engine = env.engine!;
    const [given, ...rest] = args;
    if (!given) throw new CommandError('exec needs a file: node in_corral.js exec FILE');
    const file = path.resolve(given);
    if (!fs.existsSync(file)) throw new CommandError(`File not found: ${given}`, { hint: `Looked for ${file}` });
    if (!fs.statSync(file).isFile() || !SCRIPT.test(file)) throw new CommandError(`exec runs a .ts or .js file, not ${given}`);
    if (!/\.[cm]?js$/.test(file)) await enableTypeScript();
    const failed = (error: unknown) => new CommandError(`${given} failed: ${describeError(error)}`, { cause: error });

    // Top-level code gets the database too (rows can follow relations), outside any transaction.
    const base = { engine, db: engine.knex };
    pushContext(base);
    try {
      let module: { default?: unknown };
      try {
        module = (await import(pathToFileURL(file).href)) as { default?: unknown };
      } catch (error) {
        throw failed(error);
      }
      const main = module.default;
      if (main === undefined) return 0;
      if (typeof main !== 'function') {
        throw new CommandError(`The default export of ${given} is not a function`, {
          hint: 'export default async function ({ db, settings, models, logger, args }) { ... }',
        });
      }
      const models = Object.fromEntries(allModels(env.settings).map((m) => [m.name, m]));
      const logger = env.logger.child({ processor: path.basename(file) });
      let result: unknown;
      try {
        result = await engine.inTransaction(async (tx) =>
          (main as (input: object) => unknown)({ db: tx.db, settings: settingsView(env.settings), models, logger, args: rest }),
        );
      } catch (error) {
        throw failed(error);
      }
      return typeof result === 'number' && Number.isInteger(result) ? result : 0;
    } finally {
      popContext(base);
    }
  },
});
