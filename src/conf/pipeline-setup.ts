import type { Logger } from '../core/logger.js';
import type { ResolvedSettings } from './settings.js';

/**
 * Hooks around every command that opens the database (modes `in` and `test`):
 * create data folders, add log destinations, check external services. Subclass it
 * in the pipeline's `pipeline.ts` and name the class in `settings.pipelineSetup`.
 */
export class PipelineSetup {
  readonly settings: ResolvedSettings;
  readonly logger: Logger;

  constructor(settings: ResolvedSettings, logger: Logger) {
    this.settings = settings;
    this.logger = logger;
  }

  /** Runs before the command's work. */
  setup(): void | Promise<void> {}

  /** Runs after it, with the error when the command failed. */
  teardown(_error?: unknown): void | Promise<void> {}
}

/** Whether `value` is PipelineSetup or a subclass of it (the `pipelineSetup` setting). */
export function isPipelineSetupClass(value: unknown): value is typeof PipelineSetup {
  return value === PipelineSetup || (typeof value === 'function' && value.prototype instanceof PipelineSetup);
}
