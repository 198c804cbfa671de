import { Command } from 'corral';
import { Name, Statistics } from './models.js';

/** Prints the mean measurements of every species computed so far. */
export class StatsCommand extends Command {
  static override commandName = 'stats';
  static override description = 'Print the mean measurements of each species';

  async handle() {
    const rows = (await this.db(Statistics.table)
      .join(Name.table, `${Name.table}.id`, `${Statistics.table}.name_id`)
      .select(`${Name.table}.name as species`, 'mean_sepal_l', 'mean_sepal_w', 'mean_petal_l', 'mean_petal_w')
      .orderBy(`${Name.table}.name`)) as { species: string; mean_sepal_l: number; mean_sepal_w: number; mean_petal_l: number; mean_petal_w: number }[];
    if (rows.length === 0) {
      this.print('No statistics yet: run `node in_corral.js run-all --sync`.');
      return;
    }
    const header = ['species', 'sepal_l', 'sepal_w', 'petal_l', 'petal_w'];
    this.print(header.map((h, i) => (i === 0 ? h.padEnd(16) : h.padStart(8))).join(' '));
    for (const row of rows) {
      const means = [row.mean_sepal_l, row.mean_sepal_w, row.mean_petal_l, row.mean_petal_w];
      this.print([row.species.padEnd(16), ...means.map((m) => (m === 0 ? '-' : m.toFixed(3)).padStart(8))].join(' '));
    }
  }
}
