import { PipelineSetup } from 'corral';

/** Runs around every command that opens the database: create folders, add log destinations. */
export class Pipeline extends PipelineSetup {
  override setup(): void {}

  override teardown(_error?: unknown): void {}
}
