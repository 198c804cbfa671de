#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: corral's benchmark suite (issue 7). Builds the
 * PointSource pipeline in a temporary folder, measures the framework and the raw
 * loops side by side in the same run, compares with the targets, prints
 * a table, and writes docs/PERFORMANCE.md and bench/results/latest.json.
 * `--help` lists the options. See docs/PERFORMANCE.md for what each figure is.
 */
import * as childProcess from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { BRIGHT_MAG, pointSources } from './data.js';
import { round, stopAll, timeIt, timeNode } from './measure.js';
import { NOOP_STEPS, REPO, createFixture, freshSqlite, makeTempDir, removeSqlite } from './pipeline.js';
import * as pgb from './pg.js';
import * as raw from './raw.js';
import { printSummary, summarize, writeReports } from './report.js';

const HELP = `npm run bench -- [options]

  --quick            smoke run: 10k and 50k rows, PostgreSQL 10k rows, 2 repetitions of everything
  --reps N           repetitions of quick measurements: start-up and sizes under 500k rows (default 5)
  --big-reps N       repetitions of big loads: sizes of 500k rows and more, and PostgreSQL (default 3)
  --sizes A,B        SQLite row counts (default 100000,1000000)
  --pg-rows N        rows of the PostgreSQL step (default 100000)
  --pg-url URL       PostgreSQL server (default $CORRAL_BENCH_PG_URL, $CORRAL_TEST_PG_URL or ${pgb.DEFAULT_PG_URL})
  --no-pg            skip the PostgreSQL measurements
  --keep             keep the temporary folder (its path is printed)
  --report-only F    only rebuild the table and docs from a results JSON file
  --no-write         print the table only; write neither docs/PERFORMANCE.md nor bench/results/

Environment: BENCH_REPS, BENCH_BIG_REPS, BENCH_SIZES, BENCH_PG_ROWS mirror the flags.
A --quick run writes bench/results/quick.json only (never docs/PERFORMANCE.md).`;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      'big-reps': { type: 'string' },
      sizes: { type: 'string' },
      'pg-rows': { type: 'string' },
      'pg-url': { type: 'string' },
      'no-pg': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'report-only': { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const env = process.env;
  const int = (text, name) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number ≥ 1, not '${text}'`);
    return n;
  };
  const quick = values.quick;
  return {
    help: values.help,
    quick,
    reps: int(values.reps ?? env.BENCH_REPS ?? (quick ? 2 : 5), '--reps'),
    bigReps: int(values['big-reps'] ?? env.BENCH_BIG_REPS ?? (quick ? 2 : 3), '--big-reps'),
    sizes: String(values.sizes ?? env.BENCH_SIZES ?? (quick ? '10000,50000' : '100000,1000000'))
      .split(',')
      .map((s) => int(s.replace(/_/g, ''), '--sizes')),
    pgRows: int(values['pg-rows'] ?? env.BENCH_PG_ROWS ?? (quick ? 10_000 : 100_000), '--pg-rows'),
    pgUrl: values['pg-url'] ?? env.CORRAL_BENCH_PG_URL ?? env.CORRAL_TEST_PG_URL ?? pgb.DEFAULT_PG_URL,
    pg: !values['no-pg'],
    keep: values.keep,
    reportOnly: values['report-only'],
    write: !values['no-write'],
  };
}

const log = (text) => process.stderr.write(`${text}\n`);
/** Set on Ctrl-C: the failure of the command it stopped is expected, not news. */
let interrupted = false;

/** What the figures were measured on and with. */
async function machine(opts) {
  const release = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const sqlite = new Database(':memory:');
  const sqliteVersion = sqlite.prepare('select sqlite_version() AS v').get().v;
  sqlite.close();
  const pgVersion = opts.pg ? await pgb.probe(opts.pgUrl) : new Error('skipped with --no-pg');
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    ramGb: round(os.totalmem() / 1024 ** 3, 1),
    os: /PRETTY_NAME="?([^"\n]+)/.exec(release)?.[1] ?? `${os.type()} ${os.release()}`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    sqlite: sqliteVersion,
    postgres: pgVersion instanceof Error ? null : pgVersion,
    postgresNote: pgVersion instanceof Error ? pgVersion.message : undefined,
    loadAverageStart: os.loadavg().map((v) => round(v, 2)),
    corralCommit: git(['rev-parse', '--short', 'HEAD']),
    corralDirty: git(['status', '--porcelain', '--', 'src']) ? true : false,
  };
}

/** `git <args>` in the checkout, or null (no git, not a checkout). */
function git(args) {
  const result = childProcess.spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** dist/ is what the CLI runs: refuse to measure a missing build, warn about a stale one. */
function checkBuild() {
  const main = path.join(REPO, 'dist', 'cli', 'main.js');
  if (!fs.existsSync(main)) throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does).');
  const built = fs.statSync(main).mtimeMs;
  const newer = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (fs.statSync(file).mtimeMs > built) newer.push(path.relative(REPO, file));
    }
  };
  walk(path.join(REPO, 'src'));
  if (newer.length) log(`Warning: ${newer.length} file(s) of src/ are newer than dist/ (${newer[0]}…): the figures are those of the older build. Run \`npm run build\`.`);
}

/** The framework's own run records (corral_runs) in a SQLite file: the in-process time of the last command. */
function sqliteRunSpan(file, afterId) {
  const db = new Database(file, { readonly: true });
  try {
    return pgb.spanOf(db.prepare('SELECT started_at, ended_at, rows_done, status FROM corral_runs WHERE id > ?').all(afterId));
  } finally {
    db.close();
  }
}

function sqliteScalar(file, sql) {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).pluck().get();
  } finally {
    db.close();
  }
}

function expectEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`Check failed: ${what}: expected ${expected}, got ${actual}`);
}

/** A framework sample: the command's wall time, its in-process time from corral_runs, and its memory. */
function frameworkSample(run, span) {
  return {
    wallSeconds: round(run.seconds, 4),
    inProcessSeconds: span ? round(span.seconds, 4) : null,
    rows: span?.rows ?? null,
    workers: span?.workers ?? null,
    peakRssMb: round(run.peakRssMb, 1),
    totalRssMb: round(run.totalRssMb, 1),
    processes: run.processes,
  };
}

/** (a), (b): process start-up, interleaved so that noise hits every series alike. */
async function measureStartup(fixture, opts, dir) {
  const db = freshSqlite(fixture, path.join(dir, 'startup.db'));
  // Row 1, for the steps of runAllForked to find.
  const writer = new Database(db);
  writer.prepare('INSERT INTO "PointSource" (id, x, y, app_mag) VALUES (1, 0, 0, 20)').run();
  writer.close();
  const env = { BENCH_CONNECTION: `sqlite:${db}` };
  const noopEnv = { ...env, CORRAL_SETTINGS: fixture.noopSettingsFile };
  const series = {
    nodeFloor: () => timeNode(['-e', '0'], { cwd: fixture.root }),
    lssteps: () => fixture.cli(['lssteps'], env),
    help: () => fixture.cli(['--help'], env),
    forkFloor: () => timeNode([path.join(REPO, 'bench', 'floor.js'), String(NOOP_STEPS)], { cwd: fixture.root }),
    runAll: () => fixture.cli(['run-all'], noopEnv),
    runAllForked: () => fixture.cli(['run-all'], { ...noopEnv, BENCH_NOOP_ROW: '1' }),
  };
  const samples = Object.fromEntries(Object.keys(series).map((k) => [k, []]));
  // One unrecorded warm-up each: the OS page cache and tsx's transform cache, as on any second run.
  for (const run of Object.values(series)) await run();
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const [name, run] of Object.entries(series)) {
      const result = await run();
      samples[name].push({ wallSeconds: round(result.seconds, 4), peakRssMb: round(result.peakRssMb, 1), totalRssMb: round(result.totalRssMb, 1), processes: result.processes.length });
    }
    log(`  start-up rep ${rep + 1}/${opts.reps}: lssteps ${samples.lssteps.at(-1).wallSeconds.toFixed(3)} s, run-all x${NOOP_STEPS} ${samples.runAll.at(-1).wallSeconds.toFixed(3)} s`);
  }
  removeSqlite(db);
  return samples;
}

/** (c), (d), (e), (f) on SQLite: framework and raw loop on fresh copies of the same empty database, each rep. */
async function measureSqlite(fixture, opts, dir, n) {
  const reps = n >= 500_000 ? opts.bigReps : opts.reps;
  const expectedBright = [...pointSources(n)].filter((r) => r.app_mag < BRIGHT_MAG).length;
  const out = { rows: n, reps, brightRows: expectedBright, load: { framework: [], raw: [] }, step: { framework: [], raw: [] }, alerts: { framework: [], raw: [] } };
  for (let rep = 0; rep < reps; rep++) {
    const fwDb = freshSqlite(fixture, path.join(dir, `fw-${n}.db`));
    const rawDb = freshSqlite(fixture, path.join(dir, `raw-${n}.db`));
    const fwLog = path.join(dir, `fw-bright-${n}.log`);
    const rawLog = path.join(dir, `raw-bright-${n}.log`);
    for (const file of [fwLog, rawLog]) fs.rmSync(file, { force: true });
    const env = { BENCH_CONNECTION: `sqlite:${fwDb}`, BENCH_ROWS: String(n), BENCH_ALERT_FILE: fwLog };

    const framework = async (phase, args, check) => {
      const before = sqliteScalar(fwDb, 'SELECT coalesce(max(id), 0) FROM corral_runs');
      const run = await fixture.cli(args, env);
      const span = sqliteRunSpan(fwDb, before);
      check();
      out[phase].framework.push(frameworkSample(run, span));
    };
    const rawLoop = (phase, work, check) =>
      timeIt(work).then(({ seconds, result }) => {
        expectEqual(result, check, `raw ${phase} rows`);
        out[phase].raw.push({ seconds: round(seconds, 4), rows: result });
      });

    // Alternate which side goes first, so that neither always runs on a warmer (or busier) machine.
    const pairs = [
      [
        () => framework('load', ['load'], () => expectEqual(sqliteScalar(fwDb, 'SELECT count(*) FROM "PointSource"'), n, 'rows loaded by corral')),
        () => rawLoop('load', async () => raw.sqliteLoad(rawDb, n), n),
      ],
      [
        () => framework('step', ['run', '-s', 'RaDec'], () => expectEqual(sqliteScalar(fwDb, 'SELECT count(*) FROM "PointSource" WHERE ra IS NULL'), 0, 'rows left by the step')),
        () => rawLoop('step', async () => raw.sqliteStep(rawDb), n),
      ],
      [
        () => framework('alerts', ['check-alerts'], () => expectEqual(sqliteScalar(fwDb, 'SELECT count(*) FROM corral_alerted'), expectedBright, 'rows alerted by corral')),
        () => rawLoop('alerts', async () => raw.sqliteAlerts(rawDb, rawLog), expectedBright),
      ],
    ];
    for (const [fw, rw] of pairs) {
      if (rep % 2 === 0) {
        await fw();
        await rw();
      } else {
        await rw();
        await fw();
      }
    }
    if (rep === 0) {
      // Same data on both sides: the same rows, ids and results.
      const digest = (file) => sqliteScalar(file, `SELECT printf('%.6f %.6f %.6f %d', sum(x * id), sum(app_mag), sum(ra + dec), count(*)) FROM "PointSource"`);
      expectEqual(digest(fwDb), digest(rawDb), 'framework and raw databases hold the same rows after the step');
      expectEqual(fs.readFileSync(fwLog, 'utf8').split('\n').length - 1, expectedBright, 'lines in the alert file');
    }
    const last = (phase) => out[phase].framework.at(-1);
    log(
      `  sqlite ${n.toLocaleString('en-US')} rep ${rep + 1}/${reps}: load ${last('load').inProcessSeconds.toFixed(2)} s (raw ${out.load.raw.at(-1).seconds.toFixed(2)}), ` +
        `step ${last('step').inProcessSeconds.toFixed(2)} s (raw ${out.step.raw.at(-1).seconds.toFixed(2)}), alerts ${last('alerts').inProcessSeconds.toFixed(2)} s (raw ${out.alerts.raw.at(-1).seconds.toFixed(2)})`,
    );
    removeSqlite(fwDb);
    removeSqlite(rawDb);
  }
  return out;
}

/** (g) on PostgreSQL: the step with procs 1, 2, 4 and the raw unnest loop with 1 and 2 client processes, on a freshly refilled table each time. */
async function measurePg(fixture, opts, database) {
  const n = opts.pgRows;
  const env = { BENCH_CONNECTION: database.url };
  await fixture.cli(['createdb', '--noinput'], env);
  const variants = [
    ...[1, 2, 4].map((procs) => ({ key: `procs${procs}`, side: 'framework', procs })),
    ...[1, 2].map((clients) => ({ key: `raw${clients}`, side: 'raw', clients })),
  ];
  const out = { rows: n, reps: opts.bigReps, samples: Object.fromEntries(variants.map((v) => [v.key, []])) };
  for (let rep = 0; rep < opts.bigReps; rep++) {
    // Rotate the order each rep, so that no variant always runs first or last.
    const order = variants.map((_, i) => variants[(i + rep) % variants.length]);
    for (const variant of order) {
      await pgb.refill(database.url, n);
      if (variant.side === 'framework') {
        const before = await pgb.lastRunId(database.url);
        const run = await fixture.cli(['run', '-s', 'RaDec'], { ...env, BENCH_PROCS: String(variant.procs) });
        const span = await pgb.runSpan(database.url, before);
        expectEqual(span?.workers, variant.procs, `corral_runs records of procs ${variant.procs}`);
        expectEqual(span.rows, n, `rows reported by procs ${variant.procs}`);
        out.samples[variant.key].push(frameworkSample(run, span));
      } else {
        const result = await pgb.rawPgProcesses(database.url, variant.clients);
        expectEqual(result.rows, n, `rows of the raw loop with ${variant.clients} client(s)`);
        out.samples[variant.key].push({ seconds: round(result.seconds, 4), rows: result.rows });
      }
      expectEqual(await pgb.pending(database.url), 0, `rows left after ${variant.key}`);
    }
    const s = (key) => {
      const sample = out.samples[key].at(-1);
      return (sample.inProcessSeconds ?? sample.seconds).toFixed(2);
    };
    log(`  postgres ${n.toLocaleString('en-US')} rep ${rep + 1}/${opts.bigReps}: procs 1/2/4 ${s('procs1')}/${s('procs2')}/${s('procs4')} s, raw 1/2 clients ${s('raw1')}/${s('raw2')} s`);
  }
  return out;
}

async function main() {
  const opts = options();
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  if (opts.reportOnly) {
    const results = JSON.parse(fs.readFileSync(opts.reportOnly, 'utf8'));
    const summary = summarize(results);
    printSummary(summary);
    if (opts.write && !results.meta.options.quick) writeReports(results, summary);
    return 0;
  }
  checkBuild();
  const began = Date.now();
  const meta = await machine(opts);
  meta.options = { quick: opts.quick, reps: opts.reps, bigReps: opts.bigReps, sizes: opts.sizes, pgRows: opts.pgRows, pg: opts.pg };
  log(`corral bench${opts.quick ? ' (quick)' : ''}: ${meta.cpu}, ${meta.cores} cores, load ${meta.loadAverageStart.join(' ')}`);

  const dir = makeTempDir();
  let database;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (database) await database.drop().catch((error) => log(`Could not drop PostgreSQL database ${database.name}: ${error.message}`));
    if (opts.keep) log(`Kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  };
  // Ctrl-C: stop the command in flight first (it would write into the folder
  // again), then remove the temporary folder and the PostgreSQL database.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      interrupted = true;
      log(`\n${signal}: stopping the command in flight and cleaning up…`);
      void stopAll()
        .then(cleanup)
        .finally(() => process.exit(130));
    });
  }
  const results = { meta, measurements: {} };
  try {
    log('Scaffolding the PointSource pipeline with `corral create`…');
    const fixture = await createFixture(dir);
    log(`(a, b) start-up, ${opts.reps} repetitions`);
    results.measurements.startup = await measureStartup(fixture, opts, dir);
    results.measurements.sqlite = {};
    for (const n of opts.sizes) {
      log(`(c–f) SQLite, ${n.toLocaleString('en-US')} rows`);
      results.measurements.sqlite[n] = await measureSqlite(fixture, opts, dir, n);
    }
    if (!opts.pg) {
      results.measurements.postgres = { skipped: 'skipped with --no-pg' };
    } else if (meta.postgres === null) {
      results.measurements.postgres = { skipped: `PostgreSQL not reachable at ${redact(opts.pgUrl)}: ${meta.postgresNote}` };
      log(`(g) PostgreSQL skipped: ${results.measurements.postgres.skipped}`);
    } else {
      database = await pgb.createDatabase(opts.pgUrl);
      log(`(g) PostgreSQL ${meta.postgres}, ${opts.pgRows.toLocaleString('en-US')} rows, database ${database.name}`);
      results.measurements.postgres = await measurePg(fixture, opts, database);
    }
  } finally {
    await cleanup();
  }
  meta.loadAverageEnd = os.loadavg().map((v) => round(v, 2));
  meta.durationSeconds = round((Date.now() - began) / 1000, 1);
  const summary = summarize(results);
  results.summary = summary;
  printSummary(summary);
  if (opts.write) {
    const written = writeReports(results, summary);
    log(`Wrote ${written.join(', ')} (${meta.durationSeconds} s in all)`);
  }
  return 0;
}

/** A URL without its password, for messages. */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return url;
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  if (interrupted) await new Promise(() => undefined); // the signal handler exits once cleaned up
  log(`\nbench failed: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.BENCH_TRACE) log(error?.stack ?? '');
  process.exitCode = 1;
}
