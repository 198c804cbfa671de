import { blameOf } from '../db/blame.js';
import type { Transaction } from '../db/engine.js';
import { isModelInstance, type ModelInstance } from '../db/model.js';
import type { Processor } from '../processors/processor.js';
import { noteWritten } from '../processors/written-tables.js';

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Told of an item the database refused (blame 'row'); the transaction is usable again. */
export type OnRefused = (item: ModelInstance, error: unknown) => void | Promise<void>;

/**
 * Stores what `generate`/`process` produced: nothing, one instance, or a (lazy,
 * maybe async) sequence, each item saved as soon as it is produced, so code after
 * a `yield` sees it in the database. With `onRefused` (the loader), an item the
 * database refuses is handed to it and the sequence goes on; without (a step), the
 * refusal is thrown: it is the failure of the row that produced it.
 */
export async function storeProduced(
  processor: Processor,
  tx: () => Transaction,
  produced: unknown,
  onStored: () => void | Promise<void>,
  onRefused?: OnRefused,
): Promise<void> {
  if (produced === undefined || produced === null) return;
  if (isModelInstance(produced)) {
    await store(processor, tx(), produced, onStored, onRefused);
    return;
  }
  if (typeof produced === 'object' && Symbol.asyncIterator in produced) {
    for await (const item of produced as AsyncIterable<unknown>) {
      processor.validate(item);
      await store(processor, tx(), item, onStored, onRefused);
    }
    return;
  }
  if (typeof produced === 'object' && Symbol.iterator in produced) {
    for (const item of produced as Iterable<unknown>) {
      processor.validate(item);
      // Awaits only what is asynchronous: on SQLite a row is stored synchronously.
      const pending = store(processor, tx(), item, onStored, onRefused);
      if (pending) await pending;
    }
    return;
  }
  processor.validate(produced);
}

function store(processor: Processor, tx: Transaction, item: ModelInstance, onStored: () => void | Promise<void>, onRefused: OnRefused | undefined): void | Promise<void> {
  let saved: boolean | Promise<boolean>;
  try {
    saved = tx.saveNow(item);
  } catch (error) {
    return refused(item, error, onRefused);
  }
  // Lineage: noted when the save was sent (a refused one throws above); a rolled-back chunk still shows intent.
  noteWritten(processor, item.model.table);
  if (isThenable(saved)) return saved.then(() => onStored(), (error: unknown) => refused(item, error, onRefused));
  return onStored();
}

function refused(item: ModelInstance, error: unknown, onRefused: OnRefused | undefined): void | Promise<void> {
  if (!onRefused || blameOf(error) !== 'row') throw error;
  return onRefused(item, error);
}
