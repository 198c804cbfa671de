import { Alert } from './alert.js';
import { Loader } from './loader.js';
import type { ProcessorClass } from './processor.js';
import { Step } from './step.js';

/**
 * A class as a pipeline declares it: concrete (it can be constructed) and with the
 * static members of its base. `typeof Step` itself is abstract, so a value of that
 * type cannot be constructed; a user's `class MyStep extends Step` can.
 */
export type ConcreteClass<C extends abstract new () => object> = (new () => InstanceType<C>) & { readonly [K in keyof C]: C[K] };

export type LoaderClass = ConcreteClass<typeof Loader>;
export type StepClass = ConcreteClass<typeof Step>;
export type AlertClass = ConcreteClass<typeof Alert>;

/**
 * Whether `value` is a subclass of `Base`. JavaScript cannot tell an abstract class
 * from a concrete one: a subclass that leaves out `process` is caught when it runs,
 * as it always was.
 */
export function isSubclassOf<B extends abstract new () => object>(value: unknown, Base: B): value is ConcreteClass<B> {
  return typeof value === 'function' && value.prototype instanceof Base;
}

export function isLoaderClass(Class: ProcessorClass): Class is LoaderClass {
  return isSubclassOf(Class, Loader);
}

export function isStepClass(Class: ProcessorClass): Class is StepClass {
  return isSubclassOf(Class, Step);
}

export function isAlertClass(Class: ProcessorClass): Class is AlertClass {
  return isSubclassOf(Class, Alert);
}
