/**
 * Settings of the IRIS pipeline (appendix A.3 of the corral paper): every
 * `node in_corral.js` command reads them, and corral checks them when it starts.
 */
import { defineSettings } from 'corral';
import { StatisticsAlert } from './alerts.js';
import { StatsCommand } from './commands.js';
import { Loader } from './load.js';
import * as models from './models.js';
import { Pipeline } from './pipeline.js';
import { SetosaStatistics, StatisticsCreator, VersicolorStatistics, VirginicaStatistics } from './steps.js';

export default defineSettings({
  name: 'iris',
  description: 'Loads the IRIS flower data set and computes the mean measurements of each species.',

  // A SQLite file in the pipeline folder; IRIS_DB overrides it (e.g. 'sqlite:/tmp/iris.db').
  connection: process.env.IRIS_DB ?? 'sqlite:iris.db',

  models,
  loader: Loader,
  // `run --sync` runs the steps in this order: the creator first, so the species
  // steps find the Statistics rows in the same run.
  steps: [StatisticsCreator, SetosaStatistics, VirginicaStatistics, VersicolorStatistics],
  alerts: [StatisticsAlert],
  commands: [StatsCommand],
  pipelineSetup: Pipeline,

  chunkSize: 1000,
  logLevel: 'info',

  // The data file, relative to the pipeline folder.
  irisPath: 'iris.csv',
  // Where alerts write (statistics.log), relative to the pipeline folder; IRIS_OUT overrides it.
  outputDir: process.env.IRIS_OUT ?? '.',
});
