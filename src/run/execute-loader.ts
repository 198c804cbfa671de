import { StoppedWhileWaiting } from '../db/sqlite-lock.js';
import { yieldToEventLoop, type LoopOutcome, type RunContext } from './execute.js';
import type { Loader } from './loader.js';
import { isThenable, storeProduced } from './store.js';

/** Thrown through the loader's generator to stop it between chunks. */
class StopRequested extends Error {}

/**
 * Feeds the stream: saves what `generate()` yields, committing every `chunkSize`
 * objects. A failure rolls back the chunk in flight only; `teardown` learns of it.
 */
export async function runLoader(loader: Loader, context: RunContext, chunkSize: number): Promise<LoopOutcome> {
  let stored = 0;
  let inChunk = 0;
  let error: unknown;
  let stopped = false;
  await context.engine.inTransaction(async () => loader.setup(), context.stop);
  let tx = await context.engine.begin(context.stop);
  try {
    let produced: unknown = loader.generate();
    if (isThenable(produced)) produced = await produced;
    const nextChunk = async () => {
      await tx.commit();
      context.onProgress?.(stored);
      inChunk = 0;
      await yieldToEventLoop();
      if (context.stop?.requested) throw new StopRequested();
      tx = await context.engine.begin(context.stop);
    };
    // Returns a promise only when a chunk ends, so storing a row awaits nothing.
    await storeProduced(loader, () => tx, produced, () => {
      stored += 1;
      if (++inChunk >= chunkSize) return nextChunk();
    });
    await tx.commit();
    context.onProgress?.(stored);
  } catch (caught) {
    if (caught instanceof StopRequested || caught instanceof StoppedWhileWaiting) {
      stopped = true;
    } else {
      error = caught;
      await tx.rollback();
      stored -= inChunk;
    }
  } finally {
    try {
      await context.engine.inTransaction(async () => loader.teardown(error));
    } catch (caught) {
      error ??= caught;
    }
  }
  return error === undefined ? { rows: stored, stopped } : { rows: stored, failure: error };
}
