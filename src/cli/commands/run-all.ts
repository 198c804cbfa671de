import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError } from '../../core/errors.js';
import type { StopFlag } from '../../run/execute.js';
import { runAllPhases } from '../../workers/plan.js';
import { defineCommand, envOf } from '../command-spec.js';
import { exitCodeOf } from '../report.js';
import { DRY_RUN_HELP, forkWorkerAhead, printPlan, runOnce, summaryTarget, type SummaryOptions } from './run.js';

/** Waits `seconds`, waking early when a stop is requested. */
async function pause(seconds: number, stop: StopFlag): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (!stop.requested && Date.now() < until) await sleep(Math.min(250, until - Date.now()));
}

/** The options of `run-all`, as `configure` declares them. */
type RunAllOptions = SummaryOptions & {
  steps?: string[];
  stepGroups?: string[];
  alerts?: string[];
  alertGroups?: string[];
  exclude?: string[];
  sync?: boolean;
  dryRun?: boolean;
  loop?: boolean;
  interval: string;
  untilIdle?: boolean;
};

export const runAll = defineCommand<RunAllOptions>({
  name: 'run-all',
  summary: 'Run the loader, then every step, then every alert (one process each, or --sync); --loop keeps going as data arrives',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('-s, --steps <names...>', 'only these steps (class names; default: every step)')
      .option('--step-groups <groups...>', 'only the steps in these groups (also -sg)')
      .option('-a, --alerts <names...>', 'only these alerts (class names; default: every alert)')
      .option('--alert-groups <groups...>', 'only the alerts in these groups (also -ag)')
      .option('--exclude <names...>', 'leave out these processors, the loader included (class names)')
      .option('--sync', 'run in this process, one after the other, in settings order')
      .option('--dry-run', DRY_RUN_HELP)
      .option('--loop', 'run again and again (loader, steps, alerts) until stopped by a signal')
      .option('--interval <seconds>', 'with --loop: pause between passes', '10')
      .option('--until-idle', 'load once, then run steps and alerts again until a pass finds no work')
      .option('--json', 'print the run summary as JSON on standard output instead of lines on stderr: one document, or with --loop/--until-idle one line per pass (JSON Lines); fields as in run --json');
  },
  beforeOpen: forkWorkerAhead,
  async handle(context, options) {
    const { registry, logger } = envOf(context);
    const [loader, steps, alerts] = runAllPhases(registry, {
      steps: options.steps,
      stepGroups: options.stepGroups,
      alerts: options.alerts,
      alertGroups: options.alertGroups,
      exclude: options.exclude,
    });
    const sync = Boolean(options.sync);
    if (options.loop && options.untilIdle) throw new CommandError('Choose --loop or --until-idle, not both');
    // With --loop or --until-idle, the plan of the first pass.
    if (options.dryRun) return printPlan(context, [loader, steps, alerts], sync);
    if (!options.loop && !options.untilIdle) return exitCodeOf(await runOnce(context, [loader, steps, alerts], sync, summaryTarget(context, options.json)));
    // Passes print one summary each: with --json, one line each, so that the output is JSON Lines.
    const summary = summaryTarget(context, options.json, true);

    const interval = Number(options.interval);
    if (!Number.isFinite(interval) || interval < 0) throw new CommandError(`--interval takes seconds (a number >= 0), got '${String(options.interval)}'`);
    const stop: StopFlag = { requested: false };
    // Installed here too so a signal during the pause between passes stops the loop.
    const onSignal = () => void (stop.requested = true);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let worst = 0;
    try {
      for (let pass = 1; !stop.requested; pass++) {
        const phases = options.untilIdle && pass > 1 ? [steps, alerts] : [loader, steps, alerts];
        logger.info(`Pass ${pass}`);
        const report = await runOnce(context, phases, sync, summary, stop);
        const code = exitCodeOf(report);
        if (code !== 130) worst = Math.max(worst, code);
        const work = report.stats.filter((s) => s.kind !== 'loader').reduce((n, s) => n + s.rows, 0);
        if (options.untilIdle && work === 0 && pass > 1) {
          logger.info(`Idle after ${pass} passes: no step or alert found work`);
          return worst;
        }
        if (options.loop && !stop.requested) await pause(interval, stop);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (summary.kind === 'human') context.output.err('Stopped by a signal: committed chunks are kept.\n');
    else logger.warn('Stopped by a signal: committed chunks are kept');
    return worst === 0 ? 130 : worst;
  },
});
