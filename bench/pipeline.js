/**
 * The fixture: the paper's PointSource pipeline, scaffolded by `corral create` in
 * a temporary folder exactly as a user would, then given its own models, loader,
 * step, alert and settings. The settings read a few BENCH_* variables, so one
 * folder serves every measurement (SQLite files, PostgreSQL, procs, row count).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { timeNode } from './measure.js';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
const DATA_URL = pathToFileURL(fileURLToPath(new URL('./data.js', import.meta.url))).href;
export const NAME = 'pointbench';

const files = {
  'models.ts': `import { float, integer, model } from 'corral';

/** A source detected on an image: pixel position, sky position once solved, magnitude. */
export class PointSource extends model('PointSource', {
  id: integer().primaryKey(),
  x: float().notNull(),
  y: float().notNull(),
  ra: float(),
  dec: float(),
  app_mag: float().notNull(),
}) {}
`,
  'load.ts': `import { Loader as BaseLoader } from 'corral';
import { pointSources } from ${JSON.stringify(DATA_URL)};
import { PointSource } from './models.js';

/** benchRows deterministic pseudo-random sources, ra/dec not solved yet. */
export class Loader extends BaseLoader {
  *generate() {
    for (const row of pointSources(Number(this.settings.benchRows))) yield new PointSource(row);
  }
}
`,
  'steps.ts': `import { Step } from 'corral';
import { raDecOf } from ${JSON.stringify(DATA_URL)};
import { PointSource } from './models.js';

/** Solves ra/dec from x/y for every source that has none. */
export class RaDec extends Step<PointSource> {
  static override model = PointSource;
  static override conditions = [{ ra: null }];

  process(row: PointSource) {
    const [ra, dec] = raDecOf(row.x, row.y);
    row.ra = ra;
    row.dec = dec;
  }
}
`,
  'alerts.ts': `import { Alert, File, type Endpoint } from 'corral';
import { BRIGHT_MAG, alertLine } from ${JSON.stringify(DATA_URL)};
import { PointSource } from './models.js';

/** One line per bright source (about 1 % of them), once. */
export class BrightAlert extends Alert<PointSource> {
  static override model = PointSource;
  static override conditions = [['app_mag', '<', BRIGHT_MAG]];
  static override alertTo = [new File(process.env.BENCH_ALERT_FILE ?? 'bright.log')];

  override renderAlert(now: Date, _endpoint: Endpoint, row: PointSource): string {
    return alertLine(now, row);
  }
}
`,
  'settings.ts': `import { defineSettings } from 'corral';
import { BrightAlert } from './alerts.js';
import { Loader } from './load.js';
import * as models from './models.js';
import { RaDec } from './steps.js';

export default defineSettings({
  name: '${NAME}',
  description: 'The PointSource benchmark pipeline of bench/.',
  connection: process.env.BENCH_CONNECTION ?? 'sqlite:${NAME}-dev.db',
  models,
  loader: Loader,
  steps: [RaDec],
  alerts: [BrightAlert],
  procs: { RaDec: Number(process.env.BENCH_PROCS ?? 1) },
  chunkSize: 1000,
  logLevel: 'info',
  benchRows: Number(process.env.BENCH_ROWS ?? 1000),
});
`,
  'noop.ts': `import { Step } from 'corral';
import { PointSource } from './models.js';

/** Finds row 1 and leaves it as it is: always work to do, none done. */
export class Noop0 extends Step<PointSource> {
  static override model = PointSource;
  static override conditions = [{ id: 1 }];
  process() {}
}
`,
  // The worker's start-up: one step that always finds row 1 (and leaves it as it is),
  // so \`run\` forks one worker for it, and \`run --sync\` does the same work without.
  'one-worker-settings.ts': `import { defineSettings } from 'corral';
import * as models from './models.js';
import { Noop0 } from './noop.js';

export default defineSettings({
  name: '${NAME}',
  connection: process.env.BENCH_CONNECTION ?? 'sqlite:${NAME}-dev.db',
  models,
  steps: [Noop0],
  chunkSize: 1000,
  logLevel: 'info',
});
`,
};

/**
 * Scaffolds the pipeline in `dir` and creates an empty SQLite database,
 * `template.db`, that every SQLite measurement (framework and raw) starts from a
 * copy of: same schema, same file.
 */
export async function createFixture(dir) {
  await timeNode([path.join(REPO, 'bin', 'corral.js'), 'create', NAME], { cwd: dir });
  const root = path.join(dir, NAME);
  // What `npm install` does with the scaffold's file: dependency (a symlink to the
  // checkout), without npm's minute of start-up.
  fs.mkdirSync(path.join(root, 'node_modules'), { recursive: true });
  fs.symlinkSync(REPO, path.join(root, 'node_modules', 'corral'), 'dir');
  const pkg = path.join(root, NAME);
  // The scaffold's examples use its Example model, which is replaced.
  for (const file of ['commands.ts', 'tests.ts']) fs.rmSync(path.join(pkg, file), { force: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(pkg, file), text);

  const fixture = {
    root,
    dir,
    settingsFile: path.join(pkg, 'settings.ts'),
    oneWorkerSettingsFile: path.join(pkg, 'one-worker-settings.ts'),
    templateDb: path.join(dir, 'template.db'),
    /** `node [nodeArgs] in_corral.js <args>` in the pipeline folder, timed. */
    cli(args, env = {}, { nodeArgs = [], ...options } = {}) {
      return timeNode([...nodeArgs, 'in_corral.js', ...args], { cwd: root, env, ...options });
    },
  };
  await fixture.cli(['createdb', '--noinput'], { BENCH_CONNECTION: `sqlite:${fixture.templateDb}` });
  return fixture;
}

/** A fresh copy of the empty template database at `file` (no WAL or SHM left over). */
export function freshSqlite(fixture, file) {
  removeSqlite(file);
  fs.copyFileSync(fixture.templateDb, file);
  return file;
}

export function removeSqlite(file) {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
}

export function makeTempDir() {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'corral-bench-')));
}
