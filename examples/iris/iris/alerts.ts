import path from 'node:path';
import { Alert, File, type Endpoint } from 'corral';
import { Name, Statistics } from './models.js';

/** Writes the means of each species to statistics.log once they are computed. */
export class StatisticsAlert extends Alert<Statistics> {
  static override model = Statistics;
  static override conditions = [['mean_sepal_l', '>', 0]];
  // Relative to the `outputDir` setting, so a test or a demo can send the output elsewhere.
  static override alertTo = [new File((settings) => path.join(String(settings.outputDir ?? '.'), 'statistics.log'))];

  override async renderAlert(now: Date, _endpoint: Endpoint, stats: Statistics): Promise<string> {
    const name = await stats.related(Name);
    const cm = (value: number) => `${value.toFixed(3)} cm`;
    return [
      `[${this.settings.resolved.name}-ALERT @ ${now.toISOString()}] Statistics of '${name?.name ?? `name_id=${stats.name_id}`}'`,
      `    mean sepal length: ${cm(stats.mean_sepal_l)}`,
      `    mean sepal width:  ${cm(stats.mean_sepal_w)}`,
      `    mean petal length: ${cm(stats.mean_petal_l)}`,
      `    mean petal width:  ${cm(stats.mean_petal_w)}`,
      '',
    ].join('\n');
  }
}
