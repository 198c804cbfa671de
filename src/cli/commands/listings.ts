import { renderTable } from '../../core/table.js';
import type { ProcessorClass } from '../../run/processor.js';
import { groupsOf, selectProcessors } from '../../run/registry.js';
import { envOf, type CommandSpec } from '../command-spec.js';

function listing(kind: 'step' | 'alert'): CommandSpec {
  const title = kind === 'step' ? 'Step Class' : 'Alert Class';
  return {
    name: kind === 'step' ? 'lssteps' : 'lsalerts',
    summary: `List the ${kind}s and their groups, in settings order (no database needed)`,
    mode: 'out',
    configure(cmd) {
      cmd.option('-g, --groups <groups...>', `only the ${kind}s in these groups`);
    },
    async handle(context, options) {
      const env = envOf(context);
      const available: readonly ProcessorClass[] = kind === 'step' ? env.registry.steps : env.registry.alerts;
      const chosen = selectProcessors(available, kind, { groups: options.groups });
      if (chosen.length === 0) {
        context.output.out(`  NO ${kind.toUpperCase()}S FOUND\n`);
        return 0;
      }
      context.output.out(renderTable([title, 'Groups'], chosen.map((p) => [p.name, p.groups.join(':')])));
      return 0;
    },
  };
}

export const lssteps = listing('step');
export const lsalerts = listing('alert');

export const groups: CommandSpec = {
  name: 'groups',
  summary: 'List the groups of steps and alerts (no database needed)',
  mode: 'out',
  async handle(context) {
    const { registry } = envOf(context);
    context.output.out(
      renderTable(['Processor', 'Groups'], [
        ['Steps', groupsOf(registry.steps).join(':') || '-'],
        ['Alerts', groupsOf(registry.alerts).join(':') || '-'],
      ]),
    );
    return 0;
  },
};
