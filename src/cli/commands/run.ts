import { CommandError } from '../../core/errors.js';
import { allModels, requireTables } from '../../run/environment.js';
import type { StopFlag } from '../../run/execute.js';
import type { ProcessorClass } from '../../processors/processor.js';
import { planPhases, renderPlan } from '../../workers/plan.js';
import { selectProcessors } from '../../run/registry.js';
import { runPhases, type RunReport } from '../../workers/runner.js';
import { forkSpareWorker } from '../../workers/spare.js';
import type { ResolvedSettings } from '../../conf/settings.js';
import { defineCommand, envOf, type CommandContext } from '../command-spec.js';
import { exitCodeOf, reportRun, type SummaryTarget } from '../report.js';

/** The help of `--json` on the commands that run processors. */
export const JSON_SUMMARY_HELP =
  'print the run summary as one JSON document on standard output instead of lines on stderr: {"outcome", "exitCode", "processors": [{"processor", "kind", "outcome", "rows", "failedRows", "seconds", "errors"}]}';

/** The options every command that runs processors shares. */
export type SummaryOptions = { json?: boolean };

/**
 * Where a run's summary goes: `--json` prints a document on stdout; JSON logs get one
 * log record instead of lines for people, so that stderr stays one JSON object per line.
 */
export function summaryTarget(context: CommandContext, json: boolean | undefined, compact = false): SummaryTarget {
  if (json) return { kind: 'json', compact };
  const env = envOf(context);
  if ((context.logFormat ?? env.settings.logFormat) === 'json') return { kind: 'log', logger: env.logger };
  return { kind: 'human', colours: context.colours.err };
}

/** Runs the phases once and reports the outcome to `summary`. */
export async function runOnce(context: CommandContext, phases: ProcessorClass[][], sync: boolean, summary: SummaryTarget, stop?: StopFlag): Promise<RunReport> {
  const env = envOf(context);
  await requireTables(env.engine!, allModels(env.settings));
  const report = await runPhases(env, phases.filter((p) => p.length > 0), {
    sync,
    output: context.output,
    logLevel: context.logLevel,
    logFormat: context.logFormat,
    traceback: context.traceback,
    ...(stop ? { stop } : {}),
  });
  reportRun(report, summary, context.output, context.traceback);
  return report;
}

/** `--dry-run`: what would run, in which phase, with how many processes and each backlog; reads only. */
export async function printPlan(context: CommandContext, phases: ProcessorClass[][], sync: boolean): Promise<number> {
  const env = envOf(context);
  await requireTables(env.engine!, allModels(env.settings));
  context.output.out(renderPlan(await planPhases(env, phases, sync)));
  return 0;
}

/** The `--dry-run` option, the same in `run`, `check-alerts` and `run-all`. */
export const DRY_RUN_HELP = 'print what would run (phases, processes, each backlog) and run nothing: the database is only read';

/** Runs the phases, reports the outcome, and turns it into an exit code; with `dryRun`, prints the plan instead. */
export async function runAndReport(context: CommandContext, phases: ProcessorClass[][], sync: boolean, options: SummaryOptions & { dryRun?: boolean }): Promise<number> {
  if (options.dryRun) return printPlan(context, phases, sync);
  return exitCodeOf(await runOnce(context, phases, sync, summaryTarget(context, options.json)));
}

/**
 * `beforeOpen` of the commands that run processors: unless they run in this process
 * (`--sync`) or not at all (`--dry-run`), a worker process starts booting while this
 * one opens its environment and asks the backlogs (workers/spare.ts); the runner takes
 * it for its first process, or lets it go.
 */
export function forkWorkerAhead(settings: ResolvedSettings, options: { sync?: boolean; dryRun?: boolean }): (() => void) | undefined {
  if (options.sync || options.dryRun) return undefined;
  return forkSpareWorker(settings.settingsFile);
}

/** The options of `run`, as `configure` declares them. */
type RunOptions = SummaryOptions & { steps?: string[]; stepGroups?: string[]; sync?: boolean; dryRun?: boolean };

export const run = defineCommand<RunOptions>({
  name: 'run',
  summary: 'Run the steps, one process each (or in this process, in settings order, with --sync)',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('-s, --steps <names...>', 'only these steps (class names)')
      .option('--step-groups <groups...>', 'only the steps in these groups (also -sg)')
      .option('--sync', 'run in this process, one after the other, in settings order')
      .option('--dry-run', DRY_RUN_HELP)
      .option('--json', JSON_SUMMARY_HELP);
  },
  beforeOpen: forkWorkerAhead,
  async handle(context, options) {
    const env = envOf(context);
    const steps = selectProcessors(env.registry.steps, 'step', { names: options.steps, groups: options.stepGroups });
    if (steps.length === 0) throw new CommandError('No steps to run', { hint: 'List step classes in settings.steps' });
    return runAndReport(context, [steps], Boolean(options.sync), options);
  },
});
