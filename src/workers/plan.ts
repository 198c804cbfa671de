import { CommandError } from '../core/errors.js';
import { formatCount } from '../core/format.js';
import { didYouMean } from '../core/suggest.js';
import { renderTable } from '../core/table.js';
import type { Environment } from '../run/environment.js';
import { kindOf, type ProcessorKind } from '../run/processor-class.js';
import type { ProcessorClass } from '../processors/processor.js';
import { allProcessors, selectProcessors, type Registry } from '../run/registry.js';
import { procsOf } from './runner.js';
import { backlogOf } from '../run/status.js';

/**
 * `--dry-run`: what a run would do, read from the database and changed in nothing.
 * Each processor's backlog is counted as `status` counts it (a read: no write lock
 * on SQLite, no row lock on PostgreSQL), and its processes are decided as the
 * runner decides them (runner.ts): a processor with work gets its `procs`
 * processes, one without runs in the command's own process, in milliseconds.
 */

/** One processor in the plan. */
export interface PlannedProcessor {
  /** 1-based: the phases run one after the other. */
  readonly phase: number;
  readonly processor: string;
  readonly kind: ProcessorKind;
  /** Rows waiting now; null for the loader, whose work is not in the database. */
  readonly backlog: number | null;
  /** Processes forked for it; 0 when it runs in the command's own process. */
  readonly processes: number;
  /** Why it runs where it does, when that is not plain. */
  readonly note: string | null;
}

/** The selection of `run-all`: the options of `run` and `check-alerts`, and `--exclude`. */
export interface RunAllSelection {
  readonly steps?: readonly string[] | undefined;
  readonly stepGroups?: readonly string[] | undefined;
  readonly alerts?: readonly string[] | undefined;
  readonly alertGroups?: readonly string[] | undefined;
  /** Processors left out, whatever their kind (the loader included). */
  readonly exclude?: readonly string[] | undefined;
}

/**
 * The phases of `run-all`: the loader, the selected steps, the selected alerts (each
 * kind whole when nothing selects it), minus `exclude`. Unknown names and groups are
 * one error with a suggestion, as in `run` and `check-alerts`.
 */
export function runAllPhases(registry: Registry, selection: RunAllSelection): [loader: ProcessorClass[], steps: ProcessorClass[], alerts: ProcessorClass[]] {
  const steps = selectProcessors(registry.steps, 'step', { names: selection.steps, groups: selection.stepGroups });
  const alerts = selectProcessors(registry.alerts, 'alert', { names: selection.alerts, groups: selection.alertGroups });
  const excluded = new Set(selection.exclude ?? []);
  const known = allProcessors(registry).map((p) => p.name);
  for (const name of excluded) {
    if (!known.includes(name)) throw new CommandError(`Unknown processor '${name}' in --exclude.${didYouMean(name, known)}`, { hint: `Known processors: ${known.join(', ') || '(none)'}` });
  }
  const keep = (list: readonly ProcessorClass[]) => list.filter((Class) => !excluded.has(Class.name));
  return [keep(registry.loader ? [registry.loader] : []), keep(steps), keep(alerts)];
}

/** What running `phases` would do now; `sync` runs everything in the command's process. */
export async function planPhases(env: Environment, phases: readonly (readonly ProcessorClass[])[], sync: boolean): Promise<PlannedProcessor[]> {
  const plan: PlannedProcessor[] = [];
  for (const [index, phase] of phases.filter((p) => p.length > 0).entries()) {
    for (const Class of phase) {
      const kind = kindOf(Class);
      const backlog = await backlogOf(env.engine!, Class, env.settings);
      const base = { phase: index + 1, processor: Class.name, kind, backlog };
      if (sync) plan.push({ ...base, processes: 0, note: 'in this process (--sync)' });
      else if (backlog === 0) plan.push({ ...base, processes: 0, note: 'no backlog now: runs here, unless its phase gives it rows' });
      else plan.push({ ...base, processes: procsOf(Class, env), note: null });
    }
  }
  return plan;
}

/** The plan as a table, with a first line that says nothing ran. */
export function renderPlan(plan: readonly PlannedProcessor[]): string {
  if (plan.length === 0) return 'Dry run: no processor is selected; nothing would run.\n';
  const rows = plan.map((p) => [
    String(p.phase),
    p.kind,
    p.processor,
    p.backlog === null ? '-' : formatCount(p.backlog),
    p.processes === 0 ? 'this one' : String(p.processes),
    p.note ?? '',
  ]);
  const phases = new Set(plan.map((p) => p.phase)).size;
  const forked = plan.reduce((n, p) => n + p.processes, 0);
  return (
    `Dry run: nothing was run or written. ${phases === 1 ? '1 phase' : `${phases} phases, one after the other`}; ${forked === 1 ? '1 process' : `${formatCount(forked)} processes`} would be forked.\n` +
    renderTable(['Phase', 'Kind', 'Processor', 'Backlog', 'Processes', 'Note'], rows)
  );
}
