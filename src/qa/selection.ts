import type { ResolvedSettings } from '../conf/settings.js';
import { commandNameOf, type CommandClass } from '../processors/command.js';
import type { ProcessorClass } from '../processors/processor.js';
import { buildRegistry, selectProcessors } from '../run/registry.js';

/** Which subjects' tests run: the original `test` command's selection flags. */
export interface TestSelection {
  readonly excludeLoader?: boolean;
  readonly excludeSteps?: boolean;
  readonly excludeAlerts?: boolean;
  readonly excludeCommands?: boolean;
  readonly steps?: readonly string[];
  readonly stepGroups?: readonly string[];
  readonly alerts?: readonly string[];
  readonly alertGroups?: readonly string[];
  /** Command names or class names. */
  readonly commands?: readonly string[];
}

/** Every subject the pipeline registers (the QAI's PCN), and the ones selected to run. */
export function selectSubjects(settings: ResolvedSettings, selection: TestSelection): { registered: (ProcessorClass | CommandClass)[]; selected: Set<unknown> } {
  const registry = buildRegistry(settings);
  const { commands } = registry;
  const registered = [...(registry.loader ? [registry.loader] : []), ...registry.steps, ...registry.alerts, ...commands];
  const selected = new Set<unknown>();
  if (registry.loader && !selection.excludeLoader) selected.add(registry.loader);
  if (!selection.excludeSteps) selectProcessors(registry.steps, 'step', { names: selection.steps, groups: selection.stepGroups }).forEach((s) => selected.add(s));
  if (!selection.excludeAlerts) selectProcessors(registry.alerts, 'alert', { names: selection.alerts, groups: selection.alertGroups }).forEach((a) => selected.add(a));
  if (!selection.excludeCommands) {
    for (const Class of commands) {
      if (!selection.commands || selection.commands.includes(Class.name) || selection.commands.includes(commandNameOf(Class))) selected.add(Class);
    }
  }
  return { registered, selected };
}
