/**
 * The IRIS pipeline's tests: `node in_corral.js test` runs each TestCase on a
 * fresh, throw-away database. Every processor (and the command) has at least one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestCase } from 'corral';
import { StatisticsAlert } from './alerts.js';
import { StatsCommand } from './commands.js';
import { Loader } from './load.js';
import { Flower, Name, Statistics } from './models.js';
import { SetosaStatistics, StatisticsCreator, VersicolorStatistics, VirginicaStatistics } from './steps.js';

type Means = readonly [sepal_l: number, sepal_w: number, petal_l: number, petal_w: number];

/** A small data set whose means are easy to work out by hand (below). */
const SMALL: Readonly<Record<string, readonly Means[]>> = {
  'Iris-setosa': [
    [5.0, 3.4, 1.5, 0.2],
    [4.8, 3.0, 1.4, 0.1],
  ],
  'Iris-virginica': [
    [6.3, 3.3, 6.0, 2.5],
    [5.8, 2.7, 5.1, 1.9],
    [7.1, 3.0, 5.9, 2.1],
  ],
  'Iris-versicolor': [
    [7.0, 3.2, 4.7, 1.4],
    [6.4, 3.2, 4.5, 1.5],
  ],
};

/** The means of SMALL, worked out by hand. */
const SMALL_MEANS: Readonly<Record<string, Means>> = {
  'Iris-setosa': [4.9, 3.2, 1.45, 0.15],
  'Iris-virginica': [6.4, 3.0, 17.0 / 3, 6.5 / 3],
  'Iris-versicolor': [6.7, 3.2, 4.6, 1.45],
};

/** The true means of iris.csv (Fisher's data: 50 flowers of each species). */
const CSV_MEANS: Readonly<Record<string, Means>> = {
  'Iris-setosa': [5.006, 3.418, 1.464, 0.244],
  'Iris-versicolor': [5.936, 2.77, 4.26, 1.326],
  'Iris-virginica': [6.588, 2.974, 5.552, 2.026],
};

const ZEROS = { mean_sepal_l: 0, mean_sepal_w: 0, mean_petal_l: 0, mean_petal_w: 0 };

/** Saves SMALL: its Names and Flowers, and a zeroed Statistics row per species when `withStatistics`. */
async function saveSmallIris(test: TestCase, withStatistics: boolean): Promise<Map<string, Name>> {
  const names = new Map<string, Name>();
  for (const [species, flowers] of Object.entries(SMALL)) {
    const name = new Name({ name: species });
    await test.save(name);
    names.set(species, name);
    for (const [sepal_l, sepal_w, petal_l, petal_w] of flowers) {
      await test.save(new Flower({ name_id: name.id, sepal_l, sepal_w, petal_l, petal_w }));
    }
    if (withStatistics) await test.save(new Statistics({ name_id: name.id, ...ZEROS }));
  }
  return names;
}

/** The Statistics row of `species` as stored, or a failed assertion. */
async function statisticsOf(test: TestCase, species: string): Promise<Record<string, number>> {
  const row = (await test
    .db(Statistics.table)
    .join(Name.table, `${Name.table}.id`, `${Statistics.table}.name_id`)
    .where(`${Name.table}.name`, species)
    .first(`${Statistics.table}.*`)) as Record<string, number> | undefined;
  test.assertTrue(row, `no Statistics row for ${species}`);
  return row!;
}

async function assertMeans(test: TestCase, species: string, expected: Means): Promise<void> {
  const row = await statisticsOf(test, species);
  const columns = ['mean_sepal_l', 'mean_sepal_w', 'mean_petal_l', 'mean_petal_w'] as const;
  columns.forEach((column, i) => test.assertAlmostEqual(row[column]!, expected[i]!, 7, `${species} ${column}: ${row[column]} != ${expected[i]}`));
}

// ---------------------------------------------------------------- loader

export class LoaderTest extends TestCase {
  static override subject = Loader;

  async validate() {
    await this.assertStreamCount(150, Flower);
    await this.assertStreamCount(3, Name);
    for (const species of ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']) {
      await this.assertStreamHas(Name, [{ name: species }]);
      const name = (await this.db(Name.table).where({ name: species }).first()) as { id: number };
      await this.assertStreamCount(50, Flower, [{ name_id: name.id }]);
    }
    // The first row of the file, as stored.
    await this.assertStreamHas(Flower, [{ sepal_l: 5.1, sepal_w: 3.5, petal_l: 1.4, petal_w: 0.2 }]);
  }
}

/** Loading again (a second run-all) adds nothing: the data set is in the stream already. */
export class LoaderAgainTest extends TestCase {
  static override subject = Loader;
  static override runBefore = [LoaderTest];

  async validate() {
    await this.assertStreamCount(150, Flower);
    await this.assertStreamCount(3, Name);
  }
}

// ---------------------------------------------------------------- StatisticsCreator

/** A Name without statistics gets a zeroed row; one that has them is left alone. */
export class StatisticsCreatorTest extends TestCase {
  static override subject = StatisticsCreator;

  override async setup() {
    await this.save(new Name({ name: 'Iris-setosa' }));
    await this.save(new Name({ name: 'Iris-virginica' }));
    const done = new Name({ name: 'Iris-versicolor' });
    await this.save(done);
    await this.save(new Statistics({ name_id: done.id, mean_sepal_l: 1, mean_sepal_w: 2, mean_petal_l: 3, mean_petal_w: 4 }));
  }

  async validate() {
    await this.assertStreamCount(3, Statistics);
    await this.assertStreamCount(2, Statistics, [ZEROS]);
    await this.assertStreamHas(Statistics, [{ mean_sepal_l: 1, mean_sepal_w: 2, mean_petal_l: 3, mean_petal_w: 4 }]);
  }
}

/** After the real loader: one zeroed Statistics row per species (also a fixture for the CSV tests). */
export class StatisticsCreatorAfterLoadTest extends TestCase {
  static override subject = StatisticsCreator;
  static override runBefore = [LoaderTest];

  async validate() {
    await this.assertStreamCount(3, Statistics, [ZEROS]);
  }
}

// ---------------------------------------------------------------- species steps

/** A species step on SMALL: its species gets the hand-computed means, the others keep their zeros. */
abstract class SmallSpeciesTest extends TestCase {
  abstract readonly species: string;

  override async setup() {
    await saveSmallIris(this, true);
  }

  async validate() {
    await assertMeans(this, this.species, SMALL_MEANS[this.species]!);
    await this.assertStreamCount(2, Statistics, [ZEROS]);
  }
}

export class SetosaStatisticsTest extends SmallSpeciesTest {
  static override subject = SetosaStatistics;
  readonly species = 'Iris-setosa';
}

export class VirginicaStatisticsTest extends SmallSpeciesTest {
  static override subject = VirginicaStatistics;
  readonly species = 'Iris-virginica';
}

export class VersicolorStatisticsTest extends SmallSpeciesTest {
  static override subject = VersicolorStatistics;
  readonly species = 'Iris-versicolor';
}

/** A species step on the real data (loaded and given zeroed statistics first): Fisher's means. */
abstract class CsvSpeciesTest extends TestCase {
  static override runBefore = [LoaderTest, StatisticsCreatorAfterLoadTest];
  abstract readonly species: string;

  async validate() {
    await assertMeans(this, this.species, CSV_MEANS[this.species]!);
  }
}

export class SetosaStatisticsCsvTest extends CsvSpeciesTest {
  static override subject = SetosaStatistics;
  readonly species = 'Iris-setosa';
}

export class VirginicaStatisticsCsvTest extends CsvSpeciesTest {
  static override subject = VirginicaStatistics;
  readonly species = 'Iris-virginica';
}

export class VersicolorStatisticsCsvTest extends CsvSpeciesTest {
  static override subject = VersicolorStatistics;
  readonly species = 'Iris-versicolor';
}

/** Statistics already computed (mean_sepal_l > 0) are not computed again. */
export class SpeciesStatisticsDoneTest extends TestCase {
  static override subject = SetosaStatistics;

  override async setup() {
    const names = await saveSmallIris(this, false);
    await this.save(new Statistics({ name_id: names.get('Iris-setosa')!.id, mean_sepal_l: 9, mean_sepal_w: 9, mean_petal_l: 9, mean_petal_w: 9 }));
  }

  async validate() {
    await assertMeans(this, 'Iris-setosa', [9, 9, 9, 9]);
  }
}

// ---------------------------------------------------------------- alert

/** The alert writes the computed statistics (only those) to statistics.log, here in a temporary folder. */
export class StatisticsAlertTest extends TestCase {
  static override subject = StatisticsAlert;
  private dir = '';

  override async setup() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iris-alert-'));
    this.patchSettings({ outputDir: this.dir });
    const setosa = new Name({ name: 'Iris-setosa' });
    const virginica = new Name({ name: 'Iris-virginica' });
    await this.save(setosa);
    await this.save(virginica);
    await this.save(new Statistics({ name_id: setosa.id, mean_sepal_l: 4.9, mean_sepal_w: 3.2, mean_petal_l: 1.45, mean_petal_w: 0.15 }));
    await this.save(new Statistics({ name_id: virginica.id, ...ZEROS }));
  }

  async validate() {
    const log = fs.readFileSync(path.join(this.dir, 'statistics.log'), 'utf8');
    this.assertTrue(log.includes("Statistics of 'Iris-setosa'"), log);
    this.assertTrue(/^\[iris-ALERT @ \d{4}-\d\d-\d\dT[\d:.]+Z\] /.test(log), log);
    for (const line of ['mean sepal length: 4.900 cm', 'mean sepal width:  3.200 cm', 'mean petal length: 1.450 cm', 'mean petal width:  0.150 cm']) {
      this.assertTrue(log.includes(line), `missing '${line}' in:\n${log}`);
    }
    this.assertFalse(log.includes('Iris-virginica'), log);
    // The row is remembered as alerted, so the next check-alerts skips it.
    await this.assertStreamCount(1, 'corral_alerted', [{ alert: 'StatisticsAlert' }]);
  }

  override teardown() {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- command

export class StatsCommandTest extends TestCase {
  static override subject = StatsCommand;

  override async setup() {
    const names = await saveSmallIris(this, false);
    const [sepal_l, sepal_w, petal_l, petal_w] = SMALL_MEANS['Iris-setosa']!;
    await this.save(new Statistics({ name_id: names.get('Iris-setosa')!.id, mean_sepal_l: sepal_l, mean_sepal_w: sepal_w, mean_petal_l: petal_l, mean_petal_w: petal_w }));
  }

  async validate() {
    this.assertEqual(this.commandStatus.exitCode, 0);
    const setosa = this.commandStatus.stdout.split('\n').find((line) => line.startsWith('Iris-setosa'));
    this.assertEqual(setosa?.split(/\s+/), ['Iris-setosa', '4.900', '3.200', '1.450', '0.150']);
  }
}
