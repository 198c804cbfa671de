import type { ModelInstance } from '../db/model.js';
import { Processor } from './processor.js';

export type Generated = Iterable<ModelInstance> | AsyncIterable<ModelInstance> | ModelInstance | null | undefined | void;

/**
 * Feeds the stream: `generate()` yields model instances (sync or async, lazily) and
 * corral saves each one as it comes, committing every `chunkSize` rows. A pipeline
 * has exactly one loader.
 */
export abstract class Loader extends Processor {
  abstract generate(): Generated | Promise<Generated>;
}
