import { CommandError } from '../../core/errors.js';
import { allModels, requireTables } from '../../run/environment.js';
import type { StopFlag } from '../../run/execute.js';
import type { ProcessorClass } from '../../run/processor.js';
import { planPhases, renderPlan } from '../../run/plan.js';
import { selectProcessors } from '../../run/registry.js';
import { exitCodeOf, printReport, runPhases, type RunReport } from '../../run/runner.js';
import { envOf, type CommandContext, type CommandSpec } from '../command-spec.js';

/** Runs the phases once and prints the summary. */
export async function runOnce(context: CommandContext, phases: ProcessorClass[][], sync: boolean, stop?: StopFlag): Promise<RunReport> {
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
  printReport(report, context.output, context.traceback);
  return report;
}

/** Runs the phases, prints the summary, and turns the outcome into an exit code; with `dryRun`, prints the plan instead. */
export async function runAndReport(context: CommandContext, phases: ProcessorClass[][], sync: boolean, dryRun = false): Promise<number> {
  if (dryRun) return printPlan(context, phases, sync);
  return exitCodeOf(await runOnce(context, phases, sync));
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

export const run: CommandSpec = {
  name: 'run',
  summary: 'Run the steps, one process each (or in this process, in settings order, with --sync)',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('-s, --steps <names...>', 'only these steps (class names)')
      .option('--step-groups <groups...>', 'only the steps in these groups (also -sg)')
      .option('--sync', 'run in this process, one after the other, in settings order')
      .option('--dry-run', DRY_RUN_HELP);
  },
  async handle(context, options) {
    const env = envOf(context);
    const steps = selectProcessors(env.registry.steps, 'step', { names: options.steps, groups: options.stepGroups });
    if (steps.length === 0) throw new CommandError('No steps to run', { hint: 'List step classes in settings.steps' });
    return runAndReport(context, [steps], Boolean(options.sync), Boolean(options.dryRun));
  },
};
