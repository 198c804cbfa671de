import type { Transaction } from '../db/engine.js';
import { isModelInstance, type ModelInstance } from '../db/model.js';
import type { Processor } from './processor.js';

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Stores what `generate`/`process` produced: nothing, one instance, or a (lazy,
 * maybe async) sequence, each item saved as soon as it is produced, so code after
 * a `yield` sees it in the database.
 */
export async function storeProduced(processor: Processor, tx: () => Transaction, produced: unknown, onStored: () => void | Promise<void>): Promise<void> {
  if (produced === undefined || produced === null) return;
  if (isModelInstance(produced)) {
    await store(tx(), produced, onStored);
    return;
  }
  if (typeof produced === 'object' && Symbol.asyncIterator in produced) {
    for await (const item of produced as AsyncIterable<unknown>) {
      processor.validate(item);
      await store(tx(), item, onStored);
    }
    return;
  }
  if (typeof produced === 'object' && Symbol.iterator in produced) {
    for (const item of produced as Iterable<unknown>) {
      processor.validate(item);
      // Awaits only what is asynchronous: on SQLite a row is stored synchronously.
      const pending = store(tx(), item, onStored);
      if (pending) await pending;
    }
    return;
  }
  processor.validate(produced);
}

function store(tx: Transaction, item: ModelInstance, onStored: () => void | Promise<void>): void | Promise<void> {
  const saved = tx.saveNow(item);
  if (isThenable(saved)) return saved.then(() => onStored());
  return onStored();
}
