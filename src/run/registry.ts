import { CommandError, ImproperlyConfigured } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { conditionWarnings } from '../db/conditions.js';
import { Alert } from './alert.js';
import { checkProcessorClass, kindOf, modelOf, type ProcessorKind } from './execute.js';
import { Loader } from './loader.js';
import type { ProcessorClass } from './processor.js';
import { Step } from './step.js';

/** The processors a pipeline declares, checked once and kept in settings order. */
export interface Registry {
  readonly loader: ProcessorClass | undefined;
  readonly steps: readonly ProcessorClass[];
  readonly alerts: readonly ProcessorClass[];
}

function checkList(list: readonly unknown[], Base: abstract new () => unknown, setting: string): ProcessorClass[] {
  return list.map((Class, index) => {
    if (typeof Class !== 'function' || !(Class.prototype instanceof Base)) {
      const name = typeof Class === 'function' ? Class.name : String(Class);
      throw new ImproperlyConfigured(`Setting '${setting}[${index}]' (${name}) must be a subclass of corral's ${Base.name}`, {
        hint: `Declare it as: export class ${name || 'MyProcessor'} extends ${Base.name} { ... }`,
      });
    }
    return Class as unknown as ProcessorClass;
  });
}

export function buildRegistry(settings: ResolvedSettings): Registry {
  let loader: ProcessorClass | undefined;
  if (settings.loader) [loader] = checkList([settings.loader], Loader, 'loader');
  const steps = checkList(settings.steps, Step, 'steps');
  const alerts = checkList(settings.alerts, Alert, 'alerts');
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
  return { loader, steps, alerts };
}

/** What is valid but surely a mistake in the declared classes (reversed `between` bounds), one line each. */
export function registryWarnings(registry: Registry): string[] {
  return [...registry.steps, ...registry.alerts].flatMap((Class) => conditionWarnings(Class.name, (Class as unknown as typeof Step).conditions ?? []));
}

/**
 * A step or alert on a model the settings do not list would fail mid-run with
 * "no such table": createdb and migrations only know the listed models.
 */
function checkModelDeclared(Class: ProcessorClass, settings: ResolvedSettings): void {
  const Model = modelOf(Class as unknown as typeof Step);
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

export function allProcessors(registry: Registry): ProcessorClass[] {
  return [...(registry.loader ? [registry.loader] : []), ...registry.steps, ...registry.alerts];
}

/** Every group used by `processors`, sorted. */
export function groupsOf(processors: readonly ProcessorClass[]): string[] {
  return [...new Set(processors.flatMap((p) => p.groups))].sort();
}

/**
 * Picks processors by class name or by group, keeping settings order. Unknown and
 * repeated names are errors with a suggestion.
 */
export function selectProcessors(
  available: readonly ProcessorClass[],
  what: 'step' | 'alert',
  selection: { names?: readonly string[] | undefined; groups?: readonly string[] | undefined },
): ProcessorClass[] {
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

export function findProcessor(registry: Registry, kind: ProcessorKind, name: string): ProcessorClass {
  const pool = kind === 'loader' ? (registry.loader ? [registry.loader] : []) : kind === 'step' ? registry.steps : registry.alerts;
  const found = pool.find((p) => p.name === name && kindOf(p) === kind);
  if (!found) throw new ImproperlyConfigured(`No ${kind} named '${name}' in the settings`);
  return found;
}
