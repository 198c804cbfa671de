/**
 * From raw samples to figures: medians and spreads, framework/raw ratios paired
 * per repetition (both sides of a pair ran back to back, so machine noise mostly
 * cancels), the issue's target verdicts, the console table, docs/PERFORMANCE.md
 * and bench/results/*.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { round, stats, throughputs } from './measure.js';
import { NOOP_STEPS, REPO } from './pipeline.js';

const MB = 1;

// ---------------------------------------------------------------- formatting

const num = (v, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const fmtRows = (n) => (n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : num(n));
const fmtRate = (v) => (v === null || v === undefined ? '—' : v >= 1e6 ? `${num(v / 1e6, 2)}M/s` : v >= 1000 ? `${num(v / 1000, 1)}k/s` : `${num(v, 0)}/s`);
const fmtSec = (v) => (v === null || v === undefined ? '—' : v < 10 ? `${num(v, 3)} s` : `${num(v, 1)} s`);
const fmtPct = (v) => (v === null || v === undefined ? '—' : `${num(v * 100, 0)} %`);
const fmtMb = (v) => (v === null || v === undefined ? '—' : `${num(v, 0)} MB`);

/** "median (min–max)" of a stats object, with a formatter. */
function spread(s, fmt) {
  if (!s) return '—';
  if (s.n === 1) return fmt(s.median);
  // The unit once, after the median: "0.52 s (0.48–0.61)".
  const bare = (v) => fmt(v).replace(/ ?(s|MB|%|\/s)$/, '');
  return `${fmt(s.median)} (${bare(s.min)}–${bare(s.max)})`;
}

// ---------------------------------------------------------------- figures

/** Ratios of paired samples: throughput of `a` over throughput of `b` = b.seconds / a.seconds, per repetition. */
function pairedRatios(aSeconds, bSeconds) {
  return aSeconds.map((a, i) => (a > 0 && bSeconds[i] > 0 ? bSeconds[i] / a : null));
}

function frameworkFigures(samples, rows) {
  const wall = samples.map((s) => s.wallSeconds);
  const inProcess = samples.map((s) => s.inProcessSeconds);
  return {
    wall: stats(wall),
    inProcess: stats(inProcess),
    wallRate: stats(throughputs(rows, wall)),
    inProcessRate: stats(throughputs(rows, inProcess)),
    peakRss: stats(samples.map((s) => s.peakRssMb)),
    totalRss: stats(samples.map((s) => s.totalRssMb)),
    wallSamples: wall,
    inProcessSamples: inProcess,
  };
}

function sqliteFigures(m) {
  const out = { rows: m.rows, reps: m.reps, brightRows: m.brightRows };
  for (const phase of ['load', 'step', 'alerts']) {
    const rows = phase === 'alerts' ? m.brightRows : m.rows;
    const fw = frameworkFigures(m[phase].framework, rows);
    const rawSeconds = m[phase].raw.map((s) => s.seconds);
    out[phase] = {
      rows,
      framework: fw,
      raw: { seconds: stats(rawSeconds), rate: stats(throughputs(rows, rawSeconds)) },
      ratioInProcess: stats(pairedRatios(fw.inProcessSamples, rawSeconds)),
      ratioWall: stats(pairedRatios(fw.wallSamples, rawSeconds)),
    };
  }
  return out;
}

function pgFigures(m) {
  if (m.skipped) return { skipped: m.skipped };
  const out = { rows: m.rows, reps: m.reps, variants: {} };
  const rawSeconds = (key) => m.samples[key].map((s) => s.seconds);
  for (const key of ['raw1', 'raw2']) out.variants[key] = { seconds: stats(rawSeconds(key)), rate: stats(throughputs(m.rows, rawSeconds(key))) };
  for (const procs of [1, 2, 4]) {
    const key = `procs${procs}`;
    const fw = frameworkFigures(m.samples[key], m.rows);
    out.variants[key] = {
      ...fw,
      vsRaw1: stats(pairedRatios(fw.inProcessSamples, rawSeconds('raw1'))),
      vsRaw2: stats(pairedRatios(fw.inProcessSamples, rawSeconds('raw2'))),
    };
  }
  return out;
}

/** What limits each figure: shown beside every verdict, met or not. */
const BOUNDS = {
  sqliteStep: "SQLite's own work: reading each page of 1,000 rows and one prepared UPDATE per row, which the raw loop pays too.",
  sqliteRatio: 'Per row, corral builds a model instance, finds the changed columns and picks the prepared UPDATE for that set; per run it writes its run record and checks for failed rows.',
  loader: 'One prepared INSERT per row; corral also checks each yielded object and fills in constant defaults.',
  pg: 'Round trips and the server: one SELECT … FOR UPDATE SKIP LOCKED and one UPDATE … FROM unnest per chunk, the server sharing the 2 cores with the workers.',
  pgRatio: 'The same statements as the raw loop; the difference is process start within the measured span and the run records.',
  outMode: "Node's own start (the bare floor), then loading corral's modules and the compiled pipeline; knex and zod are not loaded.",
  runAllIdle: 'A step with nothing to do runs in the parent: one SELECT … LIMIT 1 to find that out, then its setup, teardown and run record.',
  runAllForked: "Ten Node processes on 2 cores: each needs ~0.2 s of CPU to start (Node itself, corral's modules, knex, the database connection).",
  rss: "Node's baseline plus one chunk of rows; nothing accumulates per row.",
  rssFlat: "SQLite's page cache: it fills up to its size (corral sets 4 MB per connection; better-sqlite3's default is 16 MB, which made the 1M-row step 18 MB larger than the 100k one at the same speed), then memory stays flat; nothing accumulates per row.",
};

/** One verdict: `value` against `threshold` (`atLeast` or `atMost`). */
function verdict({ target, figure, value, threshold, kind, fmt, note }) {
  if (value === null || value === undefined) return { target, figure, value: null, threshold, met: null, text: 'not measured', shown: '—', note };
  const met = kind === 'atLeast' ? value >= threshold : value <= threshold;
  const gap = Math.abs(value - threshold);
  // A gap between two percentages is in percentage points, not per cent.
  const text = met ? 'met' : fmt === fmtPct ? `missed by ${num(gap * 100, gap < 0.01 ? 1 : 0)} points` : `missed by ${fmt(gap)}`;
  return { target, figure, value, threshold, met, text, shown: fmt(value), note };
}

/** Everything the table and the docs show, computed from the raw samples. */
export function summarize(results) {
  const { startup, sqlite, postgres } = results.measurements;
  const start = Object.fromEntries(
    Object.entries(startup).map(([name, samples]) => [name, { wall: stats(samples.map((s) => s.wallSeconds)), peakRss: stats(samples.map((s) => s.peakRssMb)), totalRss: stats(samples.map((s) => s.totalRssMb)) }]),
  );
  const sizes = Object.keys(sqlite).map(Number).sort((a, b) => a - b);
  const bySize = Object.fromEntries(sizes.map((n) => [n, sqliteFigures(sqlite[n])]));
  const pgf = pgFigures(postgres ?? { skipped: 'not run' });
  const big = bySize[sizes.at(-1)];
  const small = bySize[sizes[0]];

  // Flat memory: the step's peak at the largest size within 20 % of its peak at the smallest.
  const rssSmall = small?.step.framework.peakRss?.median;
  const rssBig = big?.step.framework.peakRss?.max;
  const growth = sizes.length > 1 && rssSmall ? big.step.framework.peakRss.median / rssSmall : null;
  const bigLabel = big ? fmtRows(big.rows) : '?';

  const verdicts = [
    verdict({ target: 'SQLite step ≥ 100k rows/s', figure: `in-process, ${bigLabel} rows`, value: big?.step.framework.inProcessRate?.median, threshold: 100_000, kind: 'atLeast', fmt: fmtRate, note: BOUNDS.sqliteStep }),
    verdict({ target: 'SQLite step ≥ 60 % of the raw prepared loop', figure: `in-process, ${bigLabel} rows, paired`, value: big?.step.ratioInProcess?.median, threshold: 0.6, kind: 'atLeast', fmt: fmtPct, note: BOUNDS.sqliteRatio }),
    verdict({ target: 'Loader ≥ 150k rows/s', figure: `in-process, ${bigLabel} rows (SQLite)`, value: big?.load.framework.inProcessRate?.median, threshold: 150_000, kind: 'atLeast', fmt: fmtRate, note: BOUNDS.loader }),
    verdict({ target: 'PostgreSQL step, procs 2 ≥ 30k rows/s', figure: pgf.skipped ? 'skipped' : `in-process, ${fmtRows(pgf.rows)} rows`, value: pgf.variants?.procs2.inProcessRate?.median, threshold: 30_000, kind: 'atLeast', fmt: fmtRate, note: BOUNDS.pg }),
    verdict({ target: 'PostgreSQL step, procs 2 ≥ 50 % of raw batched unnest', figure: pgf.skipped ? 'skipped' : 'in-process, vs raw with 2 client processes, paired', value: pgf.variants?.procs2.vsRaw2?.median, threshold: 0.5, kind: 'atLeast', fmt: fmtPct, note: BOUNDS.pgRatio }),
    verdict({ target: 'Out-mode command ≤ 0.35 s', figure: '`lssteps`, wall', value: start.lssteps?.wall?.median, threshold: 0.35, kind: 'atMost', fmt: fmtSec, note: BOUNDS.outMode }),
    verdict({ target: `run-all start-up, ${NOOP_STEPS} processors ≤ 1.5 s`, figure: 'wall, steps with no rows (run in-process)', value: start.runAll?.wall?.median, threshold: 1.5, kind: 'atMost', fmt: fmtSec, note: BOUNDS.runAllIdle }),
    verdict({ target: `run-all start-up, ${NOOP_STEPS} processes forked ≤ 1.5 s`, figure: 'wall, steps with one row each', value: start.runAllForked?.wall?.median, threshold: 1.5, kind: 'atMost', fmt: fmtSec, note: BOUNDS.runAllForked }),
    verdict({ target: `Peak RSS of the step ≤ 200 MB`, figure: `largest process, worst of ${big?.reps ?? 0} reps, ${bigLabel} rows`, value: rssBig, threshold: 200 * MB, kind: 'atMost', fmt: fmtMb, note: BOUNDS.rss }),
    verdict({
      target: 'Peak RSS of the step flat',
      figure: sizes.length > 1 ? `${fmtRows(sizes.at(-1))} ÷ ${fmtRows(sizes[0])} rows, medians (flat: ≤ 120 %)` : 'needs two sizes',
      value: growth,
      threshold: 1.2,
      kind: 'atMost',
      fmt: fmtPct,
      note: BOUNDS.rssFlat,
    }),
  ];
  return { meta: results.meta, startup: start, sqlite: bySize, sizes, postgres: pgf, verdicts };
}

// ---------------------------------------------------------------- console

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function printSummary(s) {
  const out = [];
  out.push('', `corral bench — ${s.meta.date}${s.meta.options.quick ? ' — QUICK RUN (small N: indicative only)' : ''}`, '');
  out.push(table(['command', 'wall median (min–max)', 'peak RSS'], startupRows(s).map((r) => [r[0], r[1], r[3]])));
  for (const n of s.sizes) {
    out.push('', `SQLite, ${fmtRows(n)} rows (${s.sqlite[n].reps} reps)`);
    out.push(table(['phase', 'corral end-to-end', 'corral in-process', 'raw loop', 'corral/raw in-proc.', 'peak RSS'], sqliteRows(s.sqlite[n]).map((r) => [r[0], r[2], r[3], r[4], r[5], r[7]])));
  }
  if (s.postgres.skipped) out.push('', `PostgreSQL: ${s.postgres.skipped}`);
  else {
    out.push('', `PostgreSQL step, ${fmtRows(s.postgres.rows)} rows (${s.postgres.reps} reps)`);
    out.push(table(['variant', 'in-process', 'end-to-end', 'vs raw 1 client', 'vs raw 2 clients'], pgRows(s.postgres)));
  }
  out.push('', 'Targets', table(['target', 'figure', 'measured', 'verdict'], s.verdicts.map((v) => [v.target, v.figure, v.shown, v.text])), '');
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------- shared rows

function startupRows(s) {
  const floor = s.startup.nodeFloor?.wall?.median;
  const forkFloor = s.startup.forkFloor?.wall?.median;
  const row = (label, key, base) => {
    const f = s.startup[key];
    if (!f) return null;
    return [label, spread(f.wall, fmtSec), base && f.wall ? `+${fmtSec(f.wall.median - base)} (${num(f.wall.median / base, 1)}×)` : '', spread(f.peakRss, fmtMb)];
  };
  return [
    row('`node -e 0` (floor)', 'nodeFloor'),
    row('`node in_corral.js lssteps`', 'lssteps', floor),
    row('`node in_corral.js --help`', 'help', floor),
    row(`${NOOP_STEPS} bare children forked at once (floor)`, 'forkFloor'),
    row(`\`run-all\`, ${NOOP_STEPS} steps with no rows`, 'runAll', forkFloor),
    row(`\`run-all\`, ${NOOP_STEPS} steps with one row each (${NOOP_STEPS} processes)`, 'runAllForked', forkFloor),
  ].filter(Boolean);
}

function sqliteRows(f) {
  const label = { load: 'load', step: 'step `run -s RaDec`', alerts: 'alerts `check-alerts`' };
  return ['load', 'step', 'alerts'].map((phase) => {
    const p = f[phase];
    return [
      label[phase],
      fmtRows(p.rows),
      `${spread(p.framework.wallRate, fmtRate)}`,
      `${spread(p.framework.inProcessRate, fmtRate)}`,
      `${spread(p.raw.rate, fmtRate)}`,
      spread(p.ratioInProcess, fmtPct),
      spread(p.ratioWall, fmtPct),
      spread(p.framework.peakRss, fmtMb),
    ];
  });
}

function pgRows(p) {
  const rows = [1, 2, 4].map((procs) => {
    const v = p.variants[`procs${procs}`];
    return [`corral, procs ${procs}`, spread(v.inProcessRate, fmtRate), spread(v.wallRate, fmtRate), spread(v.vsRaw1, fmtPct), spread(v.vsRaw2, fmtPct)];
  });
  for (const clients of [1, 2]) rows.push([`raw unnest, ${clients} client process${clients > 1 ? 'es' : ''}`, spread(p.variants[`raw${clients}`].rate, fmtRate), '', '', '']);
  return rows;
}

// ---------------------------------------------------------------- markdown

function mdTable(header, rows, align) {
  const sep = header.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function markdown(results, s) {
  const m = s.meta;
  const verdictCell = (v) => (v.met === null ? '— not measured' : v.met ? '✅ met' : `❌ ${v.text}`);
  const lines = [];
  lines.push(
    '# Performance',
    '',
    `Figures of \`npm run bench\` (issue 7), measured on ${m.date.slice(0, 10)} at corral commit \`${m.corralCommit ?? 'unknown'}\`${m.corralDirty ? ' (with uncommitted changes in src/)' : ''}, in ${num(m.durationSeconds / 60, 1)} minutes.`,
    'Every comparison is between figures of the **same run on the same machine**: the framework and its raw counterpart ran back to back, on the same rows, with the same chunk size (1,000 rows per transaction).',
    'The machine is shared and noisy, so absolute figures move from run to run; the ratios move much less. Each cell gives the median and, in brackets, the minimum and maximum over the repetitions.',
    '',
    '## Targets',
    '',
    mdTable(['Target', 'Figure used', 'Measured', 'Verdict', 'What bounds it'], s.verdicts.map((v) => [v.target, v.figure, v.shown, verdictCell(v), v.note ?? '']), ['', '', 'r', '', '']),
    '',
    'Throughput targets are judged on the framework\'s **in-process** time (the run\'s own records, see below), like the raw loops, which are timed in-process.',
    'The end-to-end figures, with process start, are in the tables below.',
    '',
    '## Machine',
    '',
    mdTable(
      ['', ''],
      [
        ['CPU', `${m.cpu}, ${m.cores} cores`],
        ['RAM', `${num(m.ramGb, 1)} GB`],
        ['OS', `${m.os} (${m.kernel})`],
        ['Node.js', m.node],
        ['SQLite', `${m.sqlite} (better-sqlite3)`],
        ['PostgreSQL', m.postgres ?? `not measured: ${m.postgresNote ?? 'skipped'}`],
        ['Load average at start (1, 5, 15 min)', m.loadAverageStart.join(', ')],
        ['Load average at end', (m.loadAverageEnd ?? []).join(', ')],
        ['Date', m.date],
        ['Repetitions', `${m.options.reps} (start-up, sizes under 500k rows), ${m.options.bigReps} (sizes from 500k rows, PostgreSQL)`],
      ],
    ),
    '',
    '## Start-up',
    '',
    `(a) An out-mode command and \`--help\` against a bare \`node -e 0\`; (b) \`run-all\` of a pipeline whose only processors are ${NOOP_STEPS} steps, against a Node parent that forks ${NOOP_STEPS} bare children at once: once with no matching rows (corral then runs each step inside the \`run-all\` process itself: a processor with nothing to do is not worth a process of its own), and once with one row for each step, so that all ${NOOP_STEPS} get a process of their own. Wall time from spawn to exit.`,
    '',
    mdTable(['Command', 'Wall time', 'Over its floor', 'Peak RSS (largest process)'], startupRows(s), ['', 'r', 'r', 'r']),
  );
  for (const n of s.sizes) {
    const f = s.sqlite[n];
    lines.push(
      '',
      `## SQLite, ${fmtRows(n)} rows`,
      '',
      `${f.reps} repetitions. Each starts from a fresh copy of the same empty database for each side. The alert sends ${num(f.brightRows)} rows (app_mag < 10.15, about 1 %).`,
      '',
      mdTable(
        ['Phase', 'Rows', 'corral end-to-end', 'corral in-process', 'Raw loop', 'corral ÷ raw (in-process)', 'corral ÷ raw (end-to-end)', 'Peak RSS'],
        sqliteRows(f),
        ['', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
  }
  lines.push('', '## Peak memory', '');
  const rssRows = [];
  for (const phase of ['load', 'step', 'alerts']) {
    const cells = s.sizes.map((n) => spread(s.sqlite[n][phase].framework.peakRss, fmtMb));
    const a = s.sqlite[s.sizes[0]][phase].framework.peakRss?.median;
    const b = s.sqlite[s.sizes.at(-1)][phase].framework.peakRss?.median;
    rssRows.push([{ load: '`load`', step: '`run -s RaDec`', alerts: '`check-alerts`' }[phase], ...cells, s.sizes.length > 1 && a ? fmtPct(b / a) : '—']);
  }
  lines.push(
    `(f) The peak resident set size of the largest process of each command (for \`run\` and \`check-alerts\`, the forked worker; \`load\` runs in the command's process).`,
    '',
    mdTable(['Command', ...s.sizes.map((n) => `${fmtRows(n)} rows`), `${fmtRows(s.sizes.at(-1))} ÷ ${fmtRows(s.sizes[0])}`], rssRows, ['', ...s.sizes.map(() => 'r'), 'r']),
    '',
    `Flat means that the peak at ${fmtRows(s.sizes.at(-1))} rows is at most 120 % of the peak at ${fmtRows(s.sizes[0])} rows: a loop that keeps one chunk in memory does not grow with the table.`,
  );
  lines.push('', '## PostgreSQL', '');
  if (s.postgres.skipped) lines.push(`Not measured: ${s.postgres.skipped}.`);
  else {
    lines.push(
      `(g) The step over ${fmtRows(s.postgres.rows)} rows, ${s.postgres.reps} repetitions, the table emptied, refilled with the same rows and \`VACUUM ANALYZE\`d before every measurement; the variants run in a rotating order.`,
      '',
      mdTable(['Variant', 'In-process', 'End-to-end', '÷ raw, 1 client', '÷ raw, 2 clients'], pgRows(s.postgres), ['', 'r', 'r', 'r', 'r']),
    );
  }
  lines.push('', '## Caveats', '', ...caveats(s).map((c) => `- ${c}`));
  lines.push(
    '',
    '## What each figure measures',
    '',
    'The pipeline is the paper\'s PointSource example, scaffolded by `corral create` in a temporary folder and run through its own `node in_corral.js`, as a user runs it:',
    '',
    '- model `PointSource` (id integer primary key, x, y, ra, dec, app_mag floats; ra and dec nullable);',
    '- a Loader that yields N deterministic pseudo-random sources (Mulberry32, seed 42), ra/dec null;',
    '- a Step `RaDec` with conditions `[{ ra: null }]` that sets ra and dec from x and y (two multiplications and additions);',
    '- an Alert `BrightAlert` on `app_mag < 10.15` (about 1 % of the rows) to a `File` endpoint.',
    '',
    'The rows and the computation come from one module, `bench/data.js`, which the pipeline and the raw loops both import; the first repetition checks that both databases end with the same rows and values.',
    '',
    '| Figure | How it is measured |',
    '| --- | --- |',
    '| **End-to-end** (wall) | The benchmark\'s clock from spawning `node in_corral.js <command>` to its exit: Node start, loading the pipeline (compiled once into `.corral/build`), settings, database connection, forking workers, the work, and exit. Throughput = rows ÷ wall seconds. |',
    '| **In-process** | From the run\'s own records in `corral_runs`: the earliest `started_at` to the latest `ended_at` of the records the command wrote (one per worker). That is the time inside `executeProcessor`, from its first to its last bookkeeping write, without process start. Throughput = rows ÷ those seconds. |',
    '| **Raw loop** | Timed in the benchmark\'s process (`performance.now()` around the loop, connection opening included). |',
    '| **corral ÷ raw** | Raw seconds ÷ corral seconds of the *same* repetition (the two ran back to back, alternating which went first), then the median of those ratios: 100 % is as fast as the raw loop. |',
    '| **Peak RSS** | `process.resourceUsage().maxRSS` of every Node process of the command, written at exit by `bench/rss-probe.cjs`, preloaded through `NODE_OPTIONS=--require …` (forked workers inherit it). The probe is loaded into the floors too. |',
    '',
    'The raw loops (`bench/raw.js`) are what a careful hand-written program would do:',
    '',
    '- **load (c)**: one prepared `INSERT` per row, `BEGIN IMMEDIATE … COMMIT` every 1,000 rows;',
    '- **step (d)**: keyset pages (`WHERE ra IS NULL AND id > ? ORDER BY id LIMIT 1000`) read inside a `BEGIN IMMEDIATE` transaction, one prepared `UPDATE … SET ra, dec WHERE id` per row;',
    '- **alerts (e)**: keyset pages of bright rows not yet recorded in `corral_alerted`; per row, one line written to the file and one record inserted; a transaction per page;',
    '- **PostgreSQL (g)**: keyset pages of 1,000 rows and one `UPDATE … FROM unnest($1::int[], $2::float8[], $3::float8[])` per page, a transaction per page; with 2 client processes each takes the ids of one remainder modulo 2, as corral\'s `procs` split rows. Timed from the moment both connected processes are told to go until the last one is done.',
    '',
    'SQLite connections on both sides use corral\'s settings: WAL, `synchronous = NORMAL`, `foreign_keys = ON`, `cache_size = -4000` (4 MB).',
    'Before the start-up series, every command runs once unrecorded, so the figures are those of a warm machine (OS page cache, the pipeline\'s compile cache).',
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm run bench                      # full run: builds dist/, then 100k and 1M rows, PostgreSQL if reachable',
    'npm run bench -- --quick           # smoke run with small N (writes bench/results/quick.json only)',
    'npm run bench -- --reps 7 --big-reps 5 --sizes 100000,1000000 --pg-rows 200000',
    'npm run bench -- --no-pg           # SQLite only',
    'node bench/run.js --report-only bench/results/latest.json   # rebuild this page from the samples',
    '```',
    '',
    'PostgreSQL is taken from `--pg-url`, `CORRAL_BENCH_PG_URL` or `CORRAL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); the benchmark creates a database `corral_bench_<random>` and drops it at the end, also on Ctrl-C. Without a server the PostgreSQL figures are skipped with a note.',
    'All raw samples (each repetition\'s seconds and the RSS of each process) are in [`bench/results/latest.json`](../bench/results/latest.json).',
    '',
  );
  return lines.join('\n');
}

/** What a reader must keep in mind about these particular figures. */
function caveats(s) {
  const m = s.meta;
  const out = [];
  if (m.loadAverageStart[0] > m.cores * 0.75) {
    out.push(
      `The machine was busy: load average ${m.loadAverageStart[0]} at the start and ${(m.loadAverageEnd ?? ['?'])[0]} at the end, on ${m.cores} cores. ` +
        'Start-up figures (a, b), which are mostly CPU time of process start, suffer most; the paired ratios least.',
    );
  }
  out.push(
    `These are the figures of corral at commit \`${m.corralCommit ?? 'unknown'}\`; rerun \`npm run bench\` after changes to the engine, the runner or start-up.`,
    'corral ÷ raw is not a like-for-like cost of the same guarantees: corral also writes its run records (`corral_runs`) and heartbeats, hydrates model instances, tracks changed columns, and keeps failed rows aside for retry; the raw loops do only the work.',
    'The alert is the extreme case: corral claims every alerted row in a transaction of its own (read again, checked, sent, recorded, committed), so that each row is sent once even with concurrent runs; the raw loop records a whole page of rows in one transaction.',
    'On PostgreSQL, the in-process time of `procs` N spans from the first worker\'s start to the last one\'s end, so it includes the workers\' staggered start; the machine has 2 cores, which procs 4 and the database server share.',
    `Peak RSS includes Node's own baseline (a bare \`node -e 0\` takes ${fmtMb(s.startup.nodeFloor?.peakRss?.median)} here).`,
  );
  return out;
}

/** docs/PERFORMANCE.md and bench/results/latest.json for a full run; bench/results/quick.json only for --quick. */
export function writeReports(results, summary) {
  const dir = path.join(REPO, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const quick = results.meta.options.quick;
  const json = path.join(dir, quick ? 'quick.json' : 'latest.json');
  const { summary: _omit, ...samples } = results;
  fs.writeFileSync(json, JSON.stringify({ ...samples, verdicts: summary.verdicts.map(({ target, figure, value, threshold, met, text }) => ({ target, figure, value: round(value, 4), threshold, met, text })) }, null, 1) + '\n');
  const written = [path.relative(REPO, json)];
  if (!quick) {
    const md = path.join(REPO, 'docs', 'PERFORMANCE.md');
    fs.writeFileSync(md, markdown(results, summary));
    written.push(path.relative(REPO, md));
  }
  return written;
}
