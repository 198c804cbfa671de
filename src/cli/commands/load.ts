import { CommandError } from '../../core/errors.js';
import { defineCommand, envOf } from '../command-spec.js';
import { JSON_SUMMARY_HELP, runAndReport, type SummaryOptions } from './run.js';

export const load = defineCommand<SummaryOptions>({
  name: 'load',
  summary: "Run the loader in this process: feed the stream",
  mode: 'in',
  configure(cmd) {
    cmd.option('--json', JSON_SUMMARY_HELP);
  },
  async handle(context, options) {
    const { registry } = envOf(context);
    if (!registry.loader) throw new CommandError('The pipeline has no loader', { hint: 'Set `loader` in the settings' });
    return runAndReport(context, [[registry.loader]], true, options);
  },
});
