import { renderTable } from '../../core/table.js';
import type { ProcessorClass } from '../../processors/processor.js';
import { groupsOf, selectProcessors } from '../../run/registry.js';
import { defineCommand, envOf, type CliCommand } from '../command-spec.js';

/** The options of `lssteps` and `lsalerts`. */
type ListingOptions = { groups?: string[]; json?: boolean };

function listing(kind: 'step' | 'alert'): CliCommand {
  const title = kind === 'step' ? 'Step Class' : 'Alert Class';
  return defineCommand<ListingOptions>({
    name: kind === 'step' ? 'lssteps' : 'lsalerts',
    summary: `List the ${kind}s and their groups, in settings order (no database needed)`,
    mode: 'out',
    configure(cmd) {
      cmd
        .option('-g, --groups <groups...>', `only the ${kind}s in these groups`)
        .option('--json', `print one JSON document instead of a table: {"${kind}s": [{"name", "groups", "procs", "chunkSize"}]}`);
    },
    async handle(context, options) {
      const env = envOf(context);
      const available: readonly ProcessorClass[] = kind === 'step' ? env.registry.steps : env.registry.alerts;
      const chosen = selectProcessors(available, kind, { groups: options.groups });
      if (options.json) {
        const entries = chosen.map((p) => ({ name: p.name, groups: [...p.groups], procs: env.settings.procs[p.name] ?? p.procs ?? 1, chunkSize: p.chunkSize ?? env.settings.chunkSize }));
        context.output.out(JSON.stringify({ [`${kind}s`]: entries }, null, 2) + '\n');
        return 0;
      }
      if (chosen.length === 0) {
        context.output.out(`  NO ${kind.toUpperCase()}S FOUND\n`);
        return 0;
      }
      context.output.out(renderTable([title, 'Groups'], chosen.map((p) => [p.name, p.groups.join(':')]), context.colours.out));
      return 0;
    },
  });
}

export const lssteps = listing('step');
export const lsalerts = listing('alert');

export const groups = defineCommand<{ json?: boolean }>({
  name: 'groups',
  summary: 'List the groups of steps and alerts (no database needed)',
  mode: 'out',
  configure(cmd) {
    cmd.option('--json', 'print one JSON document instead of a table: {"steps": [group, ...], "alerts": [group, ...]}');
  },
  async handle(context, options) {
    const { registry } = envOf(context);
    if (options.json) {
      context.output.out(JSON.stringify({ steps: groupsOf(registry.steps), alerts: groupsOf(registry.alerts) }, null, 2) + '\n');
      return 0;
    }
    context.output.out(
      renderTable(['Processor', 'Groups'], [
        ['Steps', groupsOf(registry.steps).join(':') || '-'],
        ['Alerts', groupsOf(registry.alerts).join(':') || '-'],
      ], context.colours.out),
    );
    return 0;
  },
});
