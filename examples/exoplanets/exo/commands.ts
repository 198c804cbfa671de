import { Command, type CommanderCommand } from 'corral';
import { HabitableZoneStats, Planet } from './models.js';

/** Lists the planets found in the habitable zone of their star. */
export class HabitableCommand extends Command {
  static override commandName = 'habitable';
  static override description = 'List the planets in the habitable zone of their star';

  static override configure(cmd: CommanderCommand): void {
    cmd.option('-n, --limit <n>', 'show at most n planets', '20');
  }

  async handle(options: Record<string, unknown>) {
    const limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit < 0) {
      this.print(`--limit must be a whole number, got '${String(options.limit)}'`);
      return 2;
    }
    const hz = HabitableZoneStats.table;
    const rows = (await this.db(hz)
      .join(Planet.table, `${Planet.table}.id`, `${hz}.planet_id`)
      .where(`${hz}.in_habitable_zone`, true)
      .orderBy(`${Planet.table}.name`)
      .limit(limit)
      .select(`${Planet.table}.name`, 'sep', 'radio_inner', 'radio_outer')) as { name: string | null; sep: number; radio_inner: number; radio_outer: number }[];
    const total = (await this.db(hz).where('in_habitable_zone', true).count({ n: '*' }).first()) as { n: number | string };
    this.print(`Planets in the habitable zone: ${Number(total.n)}`);
    if (rows.length === 0) return;
    this.print(`${'name'.padEnd(22)} ${'sep [AU]'.padStart(9)} ${'inner'.padStart(7)} ${'outer'.padStart(7)}`);
    for (const row of rows) {
      this.print(`${(row.name ?? '?').padEnd(22)} ${row.sep.toFixed(3).padStart(9)} ${row.radio_inner.toFixed(3).padStart(7)} ${row.radio_outer.toFixed(3).padStart(7)}`);
    }
  }
}
