/**
 * What the processor loops share at run time. execute.ts and the loops it calls
 * (execute-loader.ts, ...) both import this; the loops import only types from
 * execute.ts, so the modules form no cycle (scripts/check-layers.js checks it).
 */
import { Processor } from '../processors/processor.js';

/**
 * A turn of the event loop (timers, signals, IPC), between chunks. Two immediates:
 * signals arrive in the loop's poll phase, and one immediate queued from an I/O
 * callback runs before the next poll; two always have a poll between them, so a
 * signal that came during the chunk is handled before the stop flag is read.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Whether the processor has its own `setup` or `teardown`: the base class's does
 * nothing, and needs no transaction (two round trips each on PostgreSQL).
 */
export function overrides(processor: Processor, hook: 'setup' | 'teardown'): boolean {
  return processor[hook] !== Processor.prototype[hook];
}
