import { createPipeline } from '../../creator/create-pipeline.js';
import { defineCommand } from '../command-spec.js';

/** The options of `create`, as `configure` declares them. */
type CreateOptions = { dryRun?: boolean };

export const create = defineCommand<CreateOptions>({
  name: 'create',
  summary: 'Create a new pipeline project: in_corral.js and a package with settings, models, loader, steps, alerts, commands and tests',
  mode: 'nopipe',
  configure(cmd) {
    cmd.argument('<name>', 'the pipeline name (a folder of that name is created)').option('--dry-run', 'list the files without writing them');
  },
  async handle(context, options, args) {
    createPipeline({ target: args[0]!, output: context.output, dryRun: Boolean(options.dryRun) });
    return 0;
  },
});
