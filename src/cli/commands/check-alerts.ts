import { CommandError } from '../../core/errors.js';
import { selectProcessors } from '../../run/registry.js';
import { defineCommand, envOf } from '../command-spec.js';
import { DRY_RUN_HELP, JSON_SUMMARY_HELP, forkWorkerAhead, runAndReport, type SummaryOptions } from './run.js';

/** The options of `check-alerts`, as `configure` declares them. */
type CheckAlertsOptions = SummaryOptions & { alerts?: string[]; alertGroups?: string[]; sync?: boolean; dryRun?: boolean };

export const checkAlerts = defineCommand<CheckAlertsOptions>({
  name: 'check-alerts',
  summary: 'Run the alerts: send each new matching row to their endpoints, once',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('-a, --alerts <names...>', 'only these alerts (class names)')
      .option('--alert-groups <groups...>', 'only the alerts in these groups (also -ag)')
      .option('--sync', 'run in this process, one after the other, in settings order')
      .option('--dry-run', DRY_RUN_HELP)
      .option('--json', JSON_SUMMARY_HELP);
  },
  beforeOpen: forkWorkerAhead,
  async handle(context, options) {
    const env = envOf(context);
    const alerts = selectProcessors(env.registry.alerts, 'alert', { names: options.alerts, groups: options.alertGroups });
    if (alerts.length === 0) throw new CommandError('No alerts to run', { hint: 'List alert classes in settings.alerts' });
    return runAndReport(context, [alerts], Boolean(options.sync), options);
  },
});
