import { envOf, type CommandSpec } from '../command-spec.js';
import { runAndReport } from './run.js';

export const runAll: CommandSpec = {
  name: 'run-all',
  summary: 'Run the loader, then every step, then every alert (one process each, or --sync)',
  mode: 'in',
  configure(cmd) {
    cmd.option('--sync', 'run in this process, one after the other, in settings order');
  },
  async handle(context, options) {
    const { registry } = envOf(context);
    return runAndReport(context, [registry.loader ? [registry.loader] : [], [...registry.steps], [...registry.alerts]], Boolean(options.sync));
  },
};
