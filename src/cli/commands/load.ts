import { CommandError } from '../../core/errors.js';
import { envOf, type CommandSpec } from '../command-spec.js';
import { runAndReport } from './run.js';

export const load: CommandSpec = {
  name: 'load',
  summary: "Run the loader in this process: feed the stream",
  mode: 'in',
  async handle(context) {
    const { registry } = envOf(context);
    if (!registry.loader) throw new CommandError('The pipeline has no loader', { hint: 'Set `loader` in the settings' });
    return runAndReport(context, [[registry.loader]], true);
  },
};
