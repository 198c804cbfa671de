/**
 * What kind of processor a class is, and its class-level declarations checked
 * without touching the database: what listings, plans and the registry need of a
 * processor class, without the loops that run one (execute.ts).
 */
import { ImproperlyConfigured } from '../core/errors.js';
import { checkConditions } from '../db/conditions.js';
import { checkKeyKinds } from '../db/bookkeeping/row-keys.js';
import { isModelClass, type ModelClass } from '../db/model.js';
import { Alert } from '../processors/alert.js';
import { Loader } from '../processors/loader.js';
import type { ProcessorClass } from '../processors/processor.js';
import { isAlertClass, isStepClass } from '../processors/processor-kinds.js';
import { Step } from '../processors/step.js';

export type ProcessorKind = 'loader' | 'step' | 'alert';

export function kindOf(Class: ProcessorClass): ProcessorKind {
  if (Class.prototype instanceof Loader) return 'loader';
  if (Class.prototype instanceof Step) return 'step';
  if (Class.prototype instanceof Alert) return 'alert';
  throw new ImproperlyConfigured(`${Class.name} is not a Loader, Step or Alert`);
}

export function modelOf(Class: typeof Step | typeof Alert): ModelClass {
  const Model = Class.model;
  if (!isModelClass(Model)) {
    throw new ImproperlyConfigured(`${Class.name}.model is not set to a model class`, {
      hint: `static model = models.SomeModel; inside class ${Class.name}`,
    });
  }
  if (Class.conditions === undefined) {
    throw new ImproperlyConfigured(`${Class.name}.conditions is not set`, { hint: 'static conditions = []  (every row) or e.g. [{ ra: null }]' });
  }
  checkConditions(Class.name, Model, Class.conditions);
  if (Class.prototype instanceof Alert) checkKeyKinds(Class.name, Model);
  return Model;
}

/** Checks a step's or alert's class-level declarations without touching the database. */
export function checkProcessorClass(Class: ProcessorClass): void {
  kindOf(Class); // throws for a class that is no Loader, Step or Alert
  if (isStepClass(Class) || isAlertClass(Class)) modelOf(Class);
}
