/**
 * Settings of the EXO pipeline (appendix A.4 of the corral paper): every
 * `node in_corral.js` command reads them, and corral checks them when it starts.
 */
import { defineSettings } from 'corral';
import { InHabitableZoneAlert } from './alerts.js';
import { HabitableCommand } from './commands.js';
import { Loader } from './load.js';
import * as models from './models.js';
import { Pipeline } from './pipeline.js';
import { HabitableZone } from './steps.js';

export default defineSettings({
  name: 'exo',
  description: 'Loads a subset of the Exoplanet Orbit Database (exoplanets.org) and finds the planets in the habitable zone of their star.',

  // A SQLite file in the pipeline folder; EXO_DB overrides it (examples/demo.js points it at a temporary folder).
  connection: process.env.EXO_DB ?? 'sqlite:exo.db',

  models,
  loader: Loader,
  steps: [HabitableZone],
  alerts: [InHabitableZoneAlert],
  commands: [HabitableCommand],
  pipelineSetup: Pipeline,

  chunkSize: 1000,
  logLevel: 'info',

  // The data file, relative to the pipeline folder.
  exoPath: 'exoplanets.csv',
  // Where alerts write in_habzone.log and in_habzone.svg, relative to the pipeline folder; EXO_OUT overrides it.
  outputDir: process.env.EXO_OUT ?? '.',
});
