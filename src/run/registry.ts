import { CommandError, ImproperlyConfigured } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { conditionWarnings } from '../db/conditions.js';
import { Alert } from '../processors/alert.js';
import { Command, type CommandClass } from '../processors/command.js';
import { checkProcessorClass, kindOf, modelOf, type ProcessorKind } from './processor-class.js';
import { Loader } from '../processors/loader.js';
import type { ProcessorClass } from '../processors/processor.js';
import { isSubclassOf, type AlertClass, type ConcreteClass, type LoaderClass, type StepClass } from '../processors/processor-kinds.js';
import { Step } from '../processors/step.js';

/**
 * The classes a pipeline declares, by kind, checked once and kept in settings order.
 * The settings hold them as plain classes (conf/ knows nothing of processors); from
 * here on each has the type of its kind.
 */
export interface Registry {
  readonly loader: LoaderClass | undefined;
  readonly steps: readonly StepClass[];
  readonly alerts: readonly AlertClass[];
  readonly commands: readonly CommandClass[];
}

function checkList<B extends abstract new () => object>(list: readonly unknown[], Base: B, setting: string): ConcreteClass<B>[] {
  return list.map((Class, index) => {
    if (!isSubclassOf(Class, Base)) {
      const name = typeof Class === 'function' ? Class.name : String(Class);
      throw new ImproperlyConfigured(`Setting '${setting}[${index}]' (${name}) must be a subclass of corral's ${Base.name}`, {
        hint: `Declare it as: export class ${name || 'MyProcessor'} extends ${Base.name} { ... }`,
      });
    }
    return Class;
  });
}

/**
 * The pipeline's own commands, checked. Apart from `buildRegistry` because the command
 * line lists them before any environment opens (a broken step must not hide them from --help).
 */
export function commandClasses(settings: ResolvedSettings): CommandClass[] {
  return checkList(settings.commands, Command, 'commands');
}

export function buildRegistry(settings: ResolvedSettings): Registry {
  const [loader] = settings.loader ? checkList([settings.loader], Loader, 'loader') : [];
  const steps = checkList(settings.steps, Step, 'steps');
  const alerts = checkList(settings.alerts, Alert, 'alerts');
  const commands = commandClasses(settings);
  const seen = new Map<string, string>();
  for (const [Class, setting] of [...(loader ? [[loader, 'loader'] as const] : []), ...steps.map((s) => [s, 'steps'] as const), ...alerts.map((a) => [a, 'alerts'] as const)]) {
    const previous = seen.get(Class.name);
    if (previous) {
      throw new ImproperlyConfigured(`Two processors are named '${Class.name}' (in '${previous}' and '${setting}')`, {
        hint: 'Processor names must be unique: they name processes, alert memory and tests',
      });
    }
    seen.set(Class.name, setting);
    checkProcessorClass(Class);
  }
  for (const Class of [...steps, ...alerts]) checkModelDeclared(Class, settings);
  checkProcs(settings.procs, [...steps, ...alerts]);
  return { loader, steps, alerts, commands };
}

/** What is valid but surely a mistake in the declared classes (reversed `between` bounds), one line each. */
export function registryWarnings(registry: Registry): string[] {
  return [...registry.steps, ...registry.alerts].flatMap((Class) => conditionWarnings(Class.name, Class.conditions ?? []));
}

/**
 * A step or alert on a model the settings do not list would fail mid-run with
 * "no such table": createdb and migrations only know the listed models.
 */
function checkModelDeclared(Class: StepClass | AlertClass, settings: ResolvedSettings): void {
  const Model = modelOf(Class);
  if (settings.models.some((listed) => listed === Model || listed.table === Model.table)) return;
  throw new ImproperlyConfigured(`${Class.name}'s model ${Model.name} (table '${Model.table}') is not in the 'models' setting`, {
    hint: `Export ${Model.name} from the models module the settings import (models: import * as models from './models.js'), or add it to the models list; then create its table (createdb, or makemigrations and migrate)`,
  });
}

/** A `procs` key that names no step or alert would be ignored: the processor would run one process, and nobody told. */
function checkProcs(procs: Readonly<Record<string, number>>, processors: readonly ProcessorClass[]): void {
  const names = processors.map((p) => p.name);
  for (const name of Object.keys(procs)) {
    if (names.includes(name)) continue;
    throw new ImproperlyConfigured(`Setting 'procs' names '${name}', which is no step or alert of the pipeline.${didYouMean(name, names)}`, {
      hint: `Key 'procs' by the class name of a step or alert: ${names.join(', ') || '(the pipeline has none)'}`,
    });
  }
}

export function allProcessors(registry: Registry): (LoaderClass | StepClass | AlertClass)[] {
  return [...(registry.loader ? [registry.loader] : []), ...registry.steps, ...registry.alerts];
}

/** The names a `-p/--processors` option gave, checked against the registry (one "did you mean" error for a typo). */
export function knownProcessorNames(registry: Registry, names: readonly string[] | undefined): string[] | undefined {
  if (names === undefined) return undefined;
  const known = allProcessors(registry).map((p) => p.name);
  for (const name of names) {
    if (!known.includes(name)) throw new CommandError(`Unknown processor '${name}'.${didYouMean(name, known)}`, { hint: `Known: ${known.join(', ')}` });
  }
  return [...names];
}

/** Every group used by `processors`, sorted. */
export function groupsOf(processors: readonly ProcessorClass[]): string[] {
  return [...new Set(processors.flatMap((p) => p.groups))].sort();
}

/**
 * Picks processors by class name or by group, keeping settings order. Unknown and
 * repeated names are errors with a suggestion.
 */
export function selectProcessors<P extends ProcessorClass>(
  available: readonly P[],
  what: 'step' | 'alert',
  selection: { names?: readonly string[] | undefined; groups?: readonly string[] | undefined },
): P[] {
  const { names, groups } = selection;
  if (names && groups) throw new CommandError(`Choose ${what}s by name or by group, not both`);
  const allNames = available.map((p) => p.name);
  if (names) {
    const seen = new Set<string>();
    for (const name of names) {
      if (!allNames.includes(name)) {
        throw new CommandError(`Unknown ${what} '${name}'.${didYouMean(name, allNames)}`, {
          hint: `Known ${what}s: ${allNames.join(', ') || '(none)'}`,
        });
      }
      if (seen.has(name)) throw new CommandError(`${what} '${name}' is given twice`);
      seen.add(name);
    }
    return available.filter((p) => seen.has(p.name));
  }
  if (groups) {
    const known = groupsOf(available);
    for (const group of groups) {
      if (!known.includes(group)) {
        throw new CommandError(`Unknown ${what} group '${group}'.${didYouMean(group, known)}`, { hint: `Known groups: ${known.join(', ') || '(none)'}` });
      }
    }
    return available.filter((p) => p.groups.some((g) => groups.includes(g)));
  }
  return [...available];
}

export function findProcessor(registry: Registry, kind: ProcessorKind, name: string): LoaderClass | StepClass | AlertClass {
  const pool: readonly (LoaderClass | StepClass | AlertClass)[] = kind === 'loader' ? (registry.loader ? [registry.loader] : []) : kind === 'step' ? registry.steps : registry.alerts;
  const found = pool.find((p) => p.name === name && kindOf(p) === kind);
  if (!found) throw new ImproperlyConfigured(`No ${kind} named '${name}' in the settings`);
  return found;
}
