import { Step, type Condition } from 'corral';
import { Flower, Name, Statistics } from './models.js';

/** Adds a Statistics row, every mean at 0, for each Name that has none yet. */
export class StatisticsCreator extends Step<Name> {
  static override model = Name;
  static override conditions = [];

  async *process(name: Name) {
    const stats = await this.findOne(Statistics, [{ name_id: name.id }]);
    if (stats === null) {
      yield new Statistics({ name_id: name.id, mean_sepal_l: 0, mean_sepal_w: 0, mean_petal_l: 0, mean_petal_w: 0 });
    }
  }
}

/** The arithmetic mean of `values` (NaN for none). */
export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * What the three species steps share: the conditions "statistics of `species`,
 * not computed yet", and filling in the true means of the species' flowers.
 * (The paper's listing divided the wrong sums; this one does not.)
 */
export abstract class SpeciesStatistics extends Step<Statistics> {
  static override model = Statistics;
  static override groups = ['default', 'statistics'];

  /** The conditions of the step for one species: its Statistics row, while the means are 0. */
  static forSpecies(species: string): Condition[] {
    return [
      (q) =>
        q.whereIn('name_id', function () {
          this.select('id').from(Name.table).where('name', species);
        }),
      { mean_sepal_l: 0 },
    ];
  }

  async process(stats: Statistics): Promise<void> {
    const name = await stats.related(Name);
    const flowers = name ? await name.relatedMany(Flower) : [];
    if (flowers.length === 0) {
      // Nothing to average yet: the row keeps its zeros and is picked up again next run.
      this.logger.warn(`${String(name ?? stats)} has no flowers yet`);
      return;
    }
    stats.mean_sepal_l = mean(flowers.map((f) => f.sepal_l));
    stats.mean_sepal_w = mean(flowers.map((f) => f.sepal_w));
    stats.mean_petal_l = mean(flowers.map((f) => f.petal_l));
    stats.mean_petal_w = mean(flowers.map((f) => f.petal_w));
  }
}

/** The mean measurements of Iris setosa. */
export class SetosaStatistics extends SpeciesStatistics {
  static override conditions = SpeciesStatistics.forSpecies('Iris-setosa');
}

/** The mean measurements of Iris virginica. */
export class VirginicaStatistics extends SpeciesStatistics {
  static override conditions = SpeciesStatistics.forSpecies('Iris-virginica');
}

/** The mean measurements of Iris versicolor. */
export class VersicolorStatistics extends SpeciesStatistics {
  static override conditions = SpeciesStatistics.forSpecies('Iris-versicolor');
}
