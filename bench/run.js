#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: corral's benchmark (issues 7 and 15). Builds the
 * PointSource pipeline in a temporary folder and measures whole commands
 * (`node in_corral.js load|run|check-alerts|run-all`) side by side, in the same
 * run, with minimal raw programs (`bench/raw-cli.js`) doing the same work on the
 * same rows; profiles each command to say what bounds it; compares with the
 * issue's targets; prints a table and writes docs/PERFORMANCE.md and
 * bench/results/*.json. `--help` lists the options. docs/PERFORMANCE.md says
 * what each figure is.
 */
import * as childProcess from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { BRIGHT_MAG, pointSources } from './data.js';
import { round, stopAll, timeNode } from './measure.js';
import { REPO, createFixture, freshSqlite, makeTempDir, removeSqlite } from './pipeline.js';
import * as pgb from './pg.js';
import { profileFlags, summariseDir } from './profile.js';
import { printSummary, summarize, writeReports } from './report.js';

const HELP = `npm run bench -- [options]

  --quick            development run: 100k rows only, 2 repetitions, PostgreSQL 20k rows
  --reps N           repetitions of sizes under 500k rows (default 5)
  --startup-reps N   repetitions of the start-up commands (default 15: each takes a fraction
                     of a second, and their differences are a few hundredths, within noise)
  --big-reps N       repetitions of sizes from 500k rows and of PostgreSQL (default 3)
  --sizes A,B,…      SQLite row counts (default 100000,1000000,5000000; above 1M rows
                     only load and step are measured, for the cost growth table)
  --pg-rows N        rows of the PostgreSQL loader and step (default 100000)
  --pg-url URL       PostgreSQL server (default $CORRAL_BENCH_PG_URL, $CORRAL_TEST_PG_URL or ${pgb.DEFAULT_PG_URL})
  --db-prefix P      name prefix of the throw-away PostgreSQL database (default ${pgb.DEFAULT_DB_PREFIX})
  --no-pg            skip the PostgreSQL measurements
  --profile-rows N   rows of the profiled commands (default 100000)
  --no-profile       skip the CPU profiles ("what bounds each figure")
  --keep             keep the temporary folder (its path is printed)
  --report-only F    only rebuild the table and docs from a results JSON file
  --no-write         print the table only; write neither docs/PERFORMANCE.md nor bench/results/
  --write-docs       with --quick: write docs/PERFORMANCE.md too, labelled as a quick run

Environment: BENCH_REPS, BENCH_STARTUP_REPS, BENCH_BIG_REPS, BENCH_SIZES, BENCH_PG_ROWS, BENCH_DB_PREFIX mirror the flags.
A --quick run writes bench/results/quick.json only; with --write-docs, docs/PERFORMANCE.md and
bench/results/latest.json, labelled as a quick run.`;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      'startup-reps': { type: 'string' },
      'big-reps': { type: 'string' },
      sizes: { type: 'string' },
      'pg-rows': { type: 'string' },
      'pg-url': { type: 'string' },
      'db-prefix': { type: 'string' },
      'no-pg': { type: 'boolean', default: false },
      'profile-rows': { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'report-only': { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'write-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const env = process.env;
  const int = (text, name) => {
    const n = Number(String(text).replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number ≥ 1, not '${text}'`);
    return n;
  };
  const quick = values.quick;
  return {
    help: values.help,
    quick,
    reps: int(values.reps ?? env.BENCH_REPS ?? (quick ? 2 : 5), '--reps'),
    startupReps: int(values['startup-reps'] ?? env.BENCH_STARTUP_REPS ?? (quick ? 3 : 15), '--startup-reps'),
    bigReps: int(values['big-reps'] ?? env.BENCH_BIG_REPS ?? (quick ? 2 : 3), '--big-reps'),
    sizes: String(values.sizes ?? env.BENCH_SIZES ?? (quick ? '100000' : '100000,1000000,5000000'))
      .split(',')
      .map((s) => int(s, '--sizes'))
      .sort((a, b) => a - b),
    pgRows: int(values['pg-rows'] ?? env.BENCH_PG_ROWS ?? (quick ? 20_000 : 100_000), '--pg-rows'),
    pgUrl: values['pg-url'] ?? env.CORRAL_BENCH_PG_URL ?? env.CORRAL_TEST_PG_URL ?? pgb.DEFAULT_PG_URL,
    dbPrefix: pgb.checkDbPrefix(values['db-prefix'] ?? env.BENCH_DB_PREFIX ?? pgb.DEFAULT_DB_PREFIX),
    pg: !values['no-pg'],
    profile: !values['no-profile'],
    profileRows: int(values['profile-rows'] ?? 100_000, '--profile-rows'),
    keep: values.keep,
    reportOnly: values['report-only'],
    write: !values['no-write'],
    writeDocs: !quick || values['write-docs'],
  };
}

const log = (text) => process.stderr.write(`${text}\n`);
/** Set on Ctrl-C: the failure of the command it stopped is expected, not news. */
let interrupted = false;

const RAW_CLI = path.join(REPO, 'bench', 'raw-cli.js');

/** `node [nodeArgs] bench/raw-cli.js <args>`, timed like a corral command; its stdout is `{ rows, seconds }`. */
async function rawCli(args, { cwd, nodeArgs = [] } = {}) {
  const run = await timeNode([...nodeArgs, RAW_CLI, ...args], { cwd });
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1));
  return { ...run, rows: result.rows, inProcessSeconds: result.seconds };
}

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

/** A raw program's sample, in the same shape as the framework's. */
function rawSample(run) {
  return {
    wallSeconds: round(run.seconds, 4),
    inProcessSeconds: round(run.inProcessSeconds, 4),
    rows: run.rows,
    peakRssMb: round(run.peakRssMb, 1),
    totalRssMb: round(run.totalRssMb, 1),
    processes: run.processes,
  };
}

/**
 * Start-up, interleaved so that noise hits every series alike: an out-mode
 * command against `node -e 0`, and a forked worker against a bare forked child.
 * The worker's cost is `run` (which forks one worker for the one step, which
 * finds one row) minus `run --sync` (the same work in the command's process);
 * the bare child's is `node bench/floor.js 1` (fork one child with an IPC
 * channel, wait for its exit) minus `node -e 0`.
 */
async function measureStartup(fixture, opts, dir) {
  const db = freshSqlite(fixture, path.join(dir, 'startup.db'));
  const writer = new Database(db);
  writer.prepare('INSERT INTO "PointSource" (id, x, y, app_mag) VALUES (1, 0, 0, 20)').run();
  writer.close();
  const env = { BENCH_CONNECTION: `sqlite:${db}` };
  const oneWorker = { ...env, CORRAL_SETTINGS: fixture.oneWorkerSettingsFile };
  const series = {
    nodeFloor: () => timeNode(['-e', '0'], { cwd: fixture.root }),
    lssteps: () => fixture.cli(['lssteps'], env),
    forkFloor: () => timeNode([path.join(REPO, 'bench', 'floor.js'), '1'], { cwd: fixture.root }),
    workerRun: () => fixture.cli(['run'], oneWorker),
    workerSync: () => fixture.cli(['run', '--sync'], oneWorker),
  };
  const samples = Object.fromEntries(Object.keys(series).map((k) => [k, []]));
  // One unrecorded warm-up each: the OS page cache and the compile cache, as on any second run.
  for (const run of Object.values(series)) await run();
  const check = await fixture.cli(['run', '--json'], oneWorker);
  if (!/"rows":\s*1\b/.test(check.stdout)) throw new Error(`Check failed: the one-worker step did not process its row: ${check.stdout.slice(0, 500)}`);
  for (let rep = 0; rep < opts.startupReps; rep++) {
    for (const [name, run] of Object.entries(series)) {
      const result = await run();
      samples[name].push({ wallSeconds: round(result.seconds, 4), peakRssMb: round(result.peakRssMb, 1), totalRssMb: round(result.totalRssMb, 1), processes: result.processes.length });
    }
    const w = (k) => samples[k].at(-1).wallSeconds;
    log(`  start-up rep ${rep + 1}/${opts.startupReps}: lssteps ${w('lssteps').toFixed(3)} s (node -e 0 ${w('nodeFloor').toFixed(3)}), run ${w('workerRun').toFixed(3)} s (--sync ${w('workerSync').toFixed(3)}, bare fork ${w('forkFloor').toFixed(3)})`);
  }
  removeSqlite(db);
  return samples;
}

const count = (file) => sqliteScalar(file, 'SELECT count(*) FROM "PointSource"');
const pendingRows = (file) => sqliteScalar(file, 'SELECT count(*) FROM "PointSource" WHERE ra IS NULL');
const alerted = (file, alert) => sqliteScalar(file, `SELECT count(*) FROM corral_alerted WHERE alert = '${alert}'`);
const linesOf = (file) => fs.readFileSync(file, 'utf8').split('\n').length - 1;
/** The rows and values of a database: equal on every side after the same work. */
const digest = (file) => sqliteScalar(file, `SELECT printf('%.6f %.6f %.6f %d', sum(x * id), sum(app_mag), sum(ra + dec), count(*)) FROM "PointSource"`);

/**
 * SQLite at n rows: each phase as a corral command and as raw programs (columns
 * only, and SELECT *), on fresh copies of the same empty database, every rep.
 * `all` is `run-all` (load, step, alert in one command) against one raw program
 * doing the three.
 */
async function measureSqlite(fixture, opts, dir, n) {
  const reps = n >= 500_000 ? opts.bigReps : opts.reps;
  const bright = [...pointSources(n)].filter((r) => r.app_mag < BRIGHT_MAG).length;
  // Above 1M rows (the 5M row of the cost growth table) only load and step, each against the raw columns program.
  const growthOnly = n > 1_000_000;
  const phases = growthOnly ? ['load', 'step'] : ['load', 'step', 'alerts', 'all'];
  const out = { rows: n, reps, brightRows: bright, phases: Object.fromEntries(phases.map((p) => [p, { corral: [], raw: [], rawStar: [] }])) };
  const file = (name) => path.join(dir, `${name}-${n}.db`);
  const logFile = (name) => path.join(dir, `${name}-${n}.log`);
  for (let rep = 0; rep < reps; rep++) {
    const c = freshSqlite(fixture, file('corral'));
    const r = freshSqlite(fixture, file('raw'));
    const s = file('star');
    for (const name of ['corral', 'raw', 'star', 'corral-all', 'raw-all', 'star-all']) fs.rmSync(logFile(name), { force: true });

    const corral = async (phase, db, args, alertFile, check) => {
      const before = sqliteScalar(db, 'SELECT coalesce(max(id), 0) FROM corral_runs');
      const run = await fixture.cli(args, { BENCH_CONNECTION: `sqlite:${db}`, BENCH_ROWS: String(n), BENCH_ALERT_FILE: alertFile });
      const span = sqliteRunSpan(db, before);
      check();
      out.phases[phase].corral.push(frameworkSample(run, span));
    };
    const raw = async (phase, variant, args, check) => {
      const run = await rawCli(args, { cwd: dir });
      check(run);
      out.phases[phase][variant].push(rawSample(run));
    };
    const rows = (expected, what) => (run) => expectEqual(run.rows, expected, what);

    // Each phase: the sides in an order that rotates with the rep, so that none always runs first.
    const phase = async (sides) => {
      for (let i = 0; i < sides.length; i++) await sides[(i + rep) % sides.length]();
    };
    await phase([
      () => corral('load', c, ['load'], logFile('corral'), () => expectEqual(count(c), n, 'rows loaded by corral')),
      () => raw('load', 'raw', ['sqlite-load', r, String(n)], rows(n, 'rows loaded by the raw program')),
    ]);
    // The SELECT * variant starts from the raw program's loaded database (loading reads nothing).
    removeSqlite(s);
    if (!growthOnly) fs.copyFileSync(r, s);
    await phase([
      () => corral('step', c, ['run', '-s', 'RaDec'], logFile('corral'), () => expectEqual(pendingRows(c), 0, 'rows left by the step')),
      () => raw('step', 'raw', ['sqlite-step', r, 'columns'], rows(n, 'rows of the raw step')),
      ...(growthOnly ? [] : [() => raw('step', 'rawStar', ['sqlite-step', s, 'star'], rows(n, 'rows of the raw step, SELECT *'))]),
    ]);
    if (growthOnly) {
      if (rep === 0) expectEqual(digest(r), digest(c), "the rows of the raw program's database and of corral's");
      const w = (p, side) => out.phases[p][side].at(-1).wallSeconds.toFixed(2);
      log(`  sqlite ${n.toLocaleString('en-US')} rep ${rep + 1}/${reps}, whole commands (corral/raw): load ${w('load', 'corral')}/${w('load', 'raw')} s, step ${w('step', 'corral')}/${w('step', 'raw')} s`);
      for (const db of [c, r]) removeSqlite(db);
      continue;
    }
    await phase([
      () => corral('alerts', c, ['check-alerts'], logFile('corral'), () => expectEqual(alerted(c, 'BrightAlert'), bright, 'rows alerted by corral')),
      () => raw('alerts', 'raw', ['sqlite-alerts', r, logFile('raw'), 'columns'], rows(bright, 'rows of the raw alert')),
      () => raw('alerts', 'rawStar', ['sqlite-alerts', s, logFile('star'), 'star'], rows(bright, 'rows of the raw alert, SELECT *')),
    ]);
    const ca = freshSqlite(fixture, file('corral-all'));
    const ra = freshSqlite(fixture, file('raw-all'));
    const sa = freshSqlite(fixture, file('star-all'));
    await phase([
      () => corral('all', ca, ['run-all'], logFile('corral-all'), () => expectEqual(`${count(ca)} ${pendingRows(ca)} ${alerted(ca, 'BrightAlert')}`, `${n} 0 ${bright}`, 'rows, rows left and alerts of run-all')),
      () => raw('all', 'raw', ['sqlite-all', ra, String(n), logFile('raw-all'), 'columns'], rows(2 * n + bright, 'rows of the raw program doing all three')),
      () => raw('all', 'rawStar', ['sqlite-all', sa, String(n), logFile('star-all'), 'star'], rows(2 * n + bright, 'rows of the raw program doing all three, SELECT *')),
    ]);
    if (rep === 0) {
      // Same data on every side: the same rows, ids and results, and one line per alert.
      for (const other of [r, s, ca, ra, sa]) expectEqual(digest(other), digest(c), `the rows of ${path.basename(other)} and of corral's database`);
      for (const name of ['corral', 'raw', 'star', 'corral-all', 'raw-all']) expectEqual(linesOf(logFile(name)), bright, `lines in ${path.basename(logFile(name))}`);
    }
    const w = (p, side) => out.phases[p][side].at(-1).wallSeconds.toFixed(2);
    log(`  sqlite ${n.toLocaleString('en-US')} rep ${rep + 1}/${reps}, whole commands (corral/raw/raw *): ${phases.map((p) => `${p} ${w(p, 'corral')}/${w(p, 'raw')}${p === 'load' ? '' : `/${w(p, 'rawStar')}`} s`).join(', ')}`);
    for (const db of [c, r, s, ca, ra, sa]) removeSqlite(db);
  }
  return out;
}

/**
 * PostgreSQL: the loader against a raw batched insert from one client, and the
 * step with procs 1 and 2 against the raw step with 1 and 2 client processes;
 * the table emptied (loader) or refilled and VACUUM ANALYZEd (step) before each.
 */
async function measurePg(fixture, opts, database) {
  const n = opts.pgRows;
  const env = { BENCH_CONNECTION: database.url, BENCH_ROWS: String(n) };
  await fixture.cli(['createdb', '--noinput'], env);
  const corral = async (args, extraEnv, what) => {
    const before = await pgb.lastRunId(database.url);
    const run = await fixture.cli(args, { ...env, ...extraEnv });
    const span = await pgb.runSpan(database.url, before);
    expectEqual(span?.rows, n, `rows reported by corral's ${what}`);
    return frameworkSample(run, span);
  };
  const raw = async (args, what) => {
    const run = await rawCli(args, { cwd: fixture.dir });
    expectEqual(run.rows, n, `rows of the raw ${what}`);
    return rawSample(run);
  };
  const variants = {
    load: async () => (await pgb.empty(database.url), corral(['load'], {}, 'loader')),
    rawLoad: async () => (await pgb.empty(database.url), raw(['pg-load', database.url, String(n)], 'batched insert')),
    procs1: async () => (await pgb.refill(database.url, n), corral(['run', '-s', 'RaDec'], { BENCH_PROCS: '1' }, 'step, procs 1')),
    procs2: async () => (await pgb.refill(database.url, n), corral(['run', '-s', 'RaDec'], { BENCH_PROCS: '2' }, 'step, procs 2')),
    raw1: async () => (await pgb.refill(database.url, n), raw(['pg-step', database.url, '1', 'columns'], 'step, 1 client')),
    raw2: async () => (await pgb.refill(database.url, n), raw(['pg-step', database.url, '2', 'columns'], 'step, 2 clients')),
  };
  const checks = {
    load: async () => expectEqual(await pgb.count(database.url), n, 'rows loaded by corral'),
    rawLoad: async () => expectEqual(await pgb.count(database.url), n, 'rows loaded by the raw insert'),
  };
  const keys = Object.keys(variants);
  const out = { rows: n, reps: opts.bigReps, samples: Object.fromEntries(keys.map((k) => [k, []])) };
  for (let rep = 0; rep < opts.bigReps; rep++) {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(i + rep) % keys.length];
      out.samples[key].push(await variants[key]());
      if (checks[key]) await checks[key]();
      else expectEqual(await pgb.pending(database.url), 0, `rows left after ${key}`);
    }
    const w = (k) => out.samples[k].at(-1).wallSeconds.toFixed(2);
    log(`  postgres ${n.toLocaleString('en-US')} rep ${rep + 1}/${opts.bigReps}, whole commands: load ${w('load')} s (raw ${w('rawLoad')}), step procs 1/2 ${w('procs1')}/${w('procs2')} s (raw 1/2 clients ${w('raw1')}/${w('raw2')})`);
  }
  return out;
}

/**
 * "What bounds each figure": each command once more, at a small size, under
 * `node --cpu-prof` (its workers inherit the flag), summarised by bench/profile.js.
 * Profiling slows a process down, so these runs are never timed figures.
 */
async function measureProfiles(fixture, opts, dir, database) {
  const n = opts.profileRows;
  const out = { rows: n, commands: {} };
  const profiled = async (key, run) => {
    const profDir = fs.mkdtempSync(path.join(dir, 'prof-'));
    try {
      const result = await run(profileFlags(profDir));
      out.commands[key] = { wallSeconds: round(result.seconds, 3), ...summariseDir(profDir) };
    } finally {
      fs.rmSync(profDir, { recursive: true, force: true });
    }
  };
  const c = freshSqlite(fixture, path.join(dir, 'prof-corral.db'));
  const r = freshSqlite(fixture, path.join(dir, 'prof-raw.db'));
  const s = path.join(dir, 'prof-star.db');
  const env = { BENCH_CONNECTION: `sqlite:${c}`, BENCH_ROWS: String(n), BENCH_ALERT_FILE: path.join(dir, 'prof-corral.log') };
  const cli = (args, extra = {}) => (nodeArgs) => fixture.cli(args, { ...env, ...extra }, { nodeArgs });
  const rawRun = (args) => (nodeArgs) => rawCli(args, { cwd: dir, nodeArgs });
  await profiled('corral load', cli(['load']));
  await profiled('raw load', rawRun(['sqlite-load', r, String(n)]));
  removeSqlite(s);
  fs.copyFileSync(r, s);
  await profiled('corral run', cli(['run', '-s', 'RaDec']));
  await profiled('raw step', rawRun(['sqlite-step', r, 'columns']));
  await profiled('raw step, SELECT *', rawRun(['sqlite-step', s, 'star']));
  await profiled('corral check-alerts', cli(['check-alerts']));
  await profiled('raw alerts', rawRun(['sqlite-alerts', r, path.join(dir, 'prof-raw.log'), 'columns']));
  await profiled('corral lssteps', cli(['lssteps']));
  // The one-worker step on its one row: the worker's start-up.
  const w = freshSqlite(fixture, path.join(dir, 'prof-worker.db'));
  const writer = new Database(w);
  writer.prepare('INSERT INTO "PointSource" (id, x, y, app_mag) VALUES (1, 0, 0, 20)').run();
  writer.close();
  await profiled('corral run, one worker, one row', cli(['run'], { BENCH_CONNECTION: `sqlite:${w}`, CORRAL_SETTINGS: fixture.oneWorkerSettingsFile }));
  for (const db of [c, r, s, w]) removeSqlite(db);
  if (database) {
    const pgEnv = { BENCH_CONNECTION: database.url, BENCH_ROWS: String(opts.pgRows) };
    await pgb.empty(database.url);
    await profiled('corral load (PostgreSQL)', (nodeArgs) => fixture.cli(['load'], pgEnv, { nodeArgs }));
    await pgb.empty(database.url);
    await profiled('raw load (PostgreSQL)', rawRun(['pg-load', database.url, String(opts.pgRows)]));
    await pgb.refill(database.url, opts.pgRows);
    await profiled('corral run procs 2 (PostgreSQL)', (nodeArgs) => fixture.cli(['run', '-s', 'RaDec'], { ...pgEnv, BENCH_PROCS: '2' }, { nodeArgs }));
    await pgb.refill(database.url, opts.pgRows);
    await profiled('raw step, 2 clients (PostgreSQL)', rawRun(['pg-step', database.url, '2', 'columns']));
  }
  for (const [key, p] of Object.entries(out.commands)) log(`  ${key}: ${p.cpuMs.toFixed(0)} ms CPU in ${p.processes} process(es) or thread(s): ${p.groups.slice(0, 3).map((g) => `${g.group} ${Math.round(g.share * 100)} %`).join(', ')}`);
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
    const first = Object.values(results.measurements?.sqlite ?? {})[0];
    if (!first?.phases) throw new Error(`${opts.reportOnly} was written by an older version of the benchmark (issue 7's); run \`npm run bench\` for figures this one can report.`);
    const summary = summarize(results);
    printSummary(summary);
    if (opts.write) writeReports(results, summary, { docs: !results.meta.options.quick || opts.writeDocs });
    return 0;
  }
  checkBuild();
  const began = Date.now();
  const meta = await machine(opts);
  meta.options = { quick: opts.quick, reps: opts.reps, startupReps: opts.startupReps, bigReps: opts.bigReps, sizes: opts.sizes, pgRows: opts.pgRows, pg: opts.pg, profile: opts.profile, profileRows: opts.profileRows };
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
    log(`Start-up, ${opts.startupReps} repetitions`);
    results.measurements.startup = await measureStartup(fixture, opts, dir);
    results.measurements.sqlite = {};
    for (const n of opts.sizes) {
      log(`SQLite, ${n.toLocaleString('en-US')} rows`);
      results.measurements.sqlite[n] = await measureSqlite(fixture, opts, dir, n);
    }
    if (!opts.pg) {
      results.measurements.postgres = { skipped: 'skipped with --no-pg' };
    } else if (meta.postgres === null) {
      results.measurements.postgres = { skipped: `PostgreSQL not reachable at ${redact(opts.pgUrl)}: ${meta.postgresNote}` };
      log(`PostgreSQL skipped: ${results.measurements.postgres.skipped}`);
    } else {
      database = await pgb.createDatabase(opts.pgUrl, opts.dbPrefix);
      log(`PostgreSQL ${meta.postgres}, ${opts.pgRows.toLocaleString('en-US')} rows, database ${database.name}`);
      results.measurements.postgres = await measurePg(fixture, opts, database);
    }
    if (opts.profile) {
      log(`CPU profiles, ${opts.profileRows.toLocaleString('en-US')} rows (PostgreSQL ${opts.pgRows.toLocaleString('en-US')})`);
      results.measurements.profiles = await measureProfiles(fixture, opts, dir, database);
    } else results.measurements.profiles = { skipped: 'skipped with --no-profile' };
  } finally {
    await cleanup();
  }
  meta.loadAverageEnd = os.loadavg().map((v) => round(v, 2));
  meta.durationSeconds = round((Date.now() - began) / 1000, 1);
  const summary = summarize(results);
  printSummary(summary);
  if (opts.write) {
    const written = writeReports(results, summary, { docs: opts.writeDocs });
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
