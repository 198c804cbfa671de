/**
 * From raw samples to figures: medians and spreads, corral/raw ratios paired per
 * repetition (both sides ran back to back, so machine noise mostly cancels), the
 * issue's targets with their verdicts, what bounds each figure (from the CPU
 * profiles), the console table, docs/PERFORMANCE.md and bench/results/*.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { round, stats } from './measure.js';
import { REPO } from './pipeline.js';

// ---------------------------------------------------------------- formatting

const num = (v, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const fmtRows = (n) => (n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : num(n));
const fmtSec = (v) => (v === null || v === undefined ? '—' : v < 10 ? `${num(v, 3)} s` : `${num(v, 1)} s`);
const fmtPct = (v) => (v === null || v === undefined ? '—' : `${num(v * 100, 0)} %`);
const fmtMb = (v) => (v === null || v === undefined ? '—' : `${num(v, 0)} MB`);
const fmtUs = (v) => (v === null || v === undefined ? '—' : `${num(v, 2)} µs`);

/** "median (min–max)" of a stats object, with a formatter. */
function spread(s, fmt) {
  if (!s) return '—';
  if (s.n === 1) return fmt(s.median);
  const bare = (v) => fmt(v).replace(/ ?(s|MB|%|µs)$/, '');
  return `${fmt(s.median)} (${bare(s.min)}–${bare(s.max)})`;
}

// ---------------------------------------------------------------- figures

/** Paired ratios: how fast `a` is next to `b`, per repetition (b's seconds ÷ a's: 100 % = as fast as b). */
function paired(aSeconds, bSeconds) {
  return stats(aSeconds.map((a, i) => (a > 0 && bSeconds[i] > 0 ? bSeconds[i] / a : null)));
}

/** Paired differences a − b, per repetition. */
function pairedDiff(a, b) {
  return stats(a.map((v, i) => (typeof v === 'number' && typeof b[i] === 'number' ? v - b[i] : null)));
}

function figures(samples) {
  if (!samples?.length) return null;
  const wall = samples.map((s) => s.wallSeconds);
  const inProcess = samples.map((s) => s.inProcessSeconds);
  return { wall: stats(wall), inProcess: stats(inProcess), peakRss: stats(samples.map((s) => s.peakRssMb)), wallSamples: wall, inProcessSamples: inProcess };
}

/** corral beside a raw side: whole-process ratio (wall ÷ wall) and in-process ratio (in-process ÷ in-process), like with like. */
function versus(corral, raw) {
  if (!corral || !raw) return null;
  return { whole: paired(corral.wallSamples, raw.wallSamples), inProcess: paired(corral.inProcessSamples, raw.inProcessSamples) };
}

function sqliteFigures(m) {
  const out = { rows: m.rows, reps: m.reps, brightRows: m.brightRows, phases: {} };
  for (const [phase, sides] of Object.entries(m.phases)) {
    const corral = figures(sides.corral);
    const raw = figures(sides.raw);
    const rawStar = figures(sides.rawStar);
    out.phases[phase] = { corral, raw, rawStar, vsRaw: versus(corral, raw), vsStar: versus(corral, rawStar), columnsVsStar: versus(rawStar, raw) };
  }
  return out;
}

function pgFigures(m) {
  if (!m || m.skipped) return { skipped: m?.skipped ?? 'not run' };
  const f = Object.fromEntries(Object.entries(m.samples).map(([k, v]) => [k, figures(v)]));
  return {
    rows: m.rows,
    reps: m.reps,
    variants: f,
    load: versus(f.load, f.rawLoad),
    procs1: { vsRaw1: versus(f.procs1, f.raw1), vsRaw2: versus(f.procs1, f.raw2) },
    procs2: { vsRaw1: versus(f.procs2, f.raw1), vsRaw2: versus(f.procs2, f.raw2) },
  };
}

function startupFigures(m) {
  const series = Object.fromEntries(Object.entries(m).map(([name, samples]) => [name, { wall: stats(samples.map((s) => s.wallSeconds)), peakRss: stats(samples.map((s) => s.peakRssMb)), samples: samples.map((s) => s.wallSeconds) }]));
  const w = (k) => series[k]?.samples ?? [];
  // Per rep: the worker's cost is `run` − `run --sync`, the bare child's `floor.js 1` − `node -e 0`.
  const workerCost = w('workerRun').map((v, i) => v - w('workerSync')[i]);
  const bareForkCost = w('forkFloor').map((v, i) => v - w('nodeFloor')[i]);
  return {
    series,
    outModeOverFloor: pairedDiff(w('lssteps'), w('nodeFloor')),
    workerCost: stats(workerCost),
    bareForkCost: stats(bareForkCost),
    workerOverBareFork: pairedDiff(workerCost, bareForkCost),
  };
}

// ---------------------------------------------------------------- what bounds each figure

/** "group 31 %, group 22 %, group 12 %" of a profiled command. */
function topGroups(profile, count = 3) {
  if (!profile) return null;
  return profile.groups
    .slice(0, count)
    .map((g) => `${g.group} ${Math.round(g.share * 100)} %`)
    .join(', ');
}

/** The profile-based note of a figure: for each profiled command behind it, its top self-time groups. */
function boundsOf(profiles, keys, extra) {
  if (!profiles || profiles.skipped) return extra ?? 'not profiled (--no-profile)';
  const parts = keys.filter((k) => profiles.commands[k]).map((k) => `*${k}*: ${topGroups(profiles.commands[k])}`);
  return [...parts, extra].filter(Boolean).join('; ') || 'not profiled';
}

// ---------------------------------------------------------------- targets

function verdict({ target, figure, value, threshold, kind, fmt, bound, fallback }) {
  if (value === null || value === undefined) return { target, figure, value: null, threshold, met: null, text: 'not measured', shown: fallback ?? '—', bound };
  const met = kind === 'atLeast' ? value >= threshold : value <= threshold;
  const gap = Math.abs(value - threshold);
  const text = met ? 'met' : fmt === fmtPct ? `not met (${num(gap * 100, 0)} points short)` : `not met (${fmt(gap)} over)`;
  return { target, figure, value, threshold, met, text, shown: fmt(value), bound };
}

/** Everything the table and the docs show, computed from the raw samples. */
export function summarize(results) {
  const { startup, sqlite, postgres, profiles } = results.measurements;
  const sizes = Object.keys(sqlite).map(Number).sort((a, b) => a - b);
  const bySize = Object.fromEntries(sizes.map((n) => [n, sqliteFigures(sqlite[n])]));
  const start = startupFigures(startup);
  const pgf = pgFigures(postgres);
  const prof = profiles ?? { skipped: 'not run' };

  /** A whole-command ratio at size n; when n was not measured, the nearest size's figure as a hint. */
  const wholeAt = (phase, n, threshold, target, keys, extra) => {
    const at = bySize[n]?.phases[phase]?.vsRaw?.whole?.median;
    const nearest = sizes.length ? sizes.reduce((a, b) => (Math.abs(b - n) < Math.abs(a - n) ? b : a)) : null;
    const hint = nearest !== null && at === undefined ? bySize[nearest].phases[phase]?.vsRaw?.whole?.median : undefined;
    return verdict({
      target,
      figure: `whole command ÷ raw program (columns), ${fmtRows(n)} rows, paired`,
      value: at,
      threshold,
      kind: 'atLeast',
      fmt: fmtPct,
      bound: boundsOf(prof, keys, extra),
      fallback: hint !== undefined ? `${fmtPct(hint)} at ${fmtRows(nearest)} (needs --sizes with ${n})` : undefined,
    });
  };
  const smallest = sizes[0];
  const largest = sizes.at(-1);
  const stepRss = (n) => bySize[n]?.phases.step.corral?.peakRss?.median;
  const loadRss = bySize[largest]?.phases.load.corral?.peakRss?.max;
  const verdicts = [
    wholeAt('step', 1_000_000, 0.65, '`run` of a trivial step ≥ 65 % of raw at 1M', ['corral run', 'raw step']),
    wholeAt('step', 100_000, 0.55, '`run` of a trivial step ≥ 55 % of raw at 100k', ['corral run', 'raw step']),
    wholeAt('load', 1_000_000, 0.75, '`load` ≥ 75 % of raw at 1M', ['corral load', 'raw load']),
    wholeAt('all', 1_000_000, 0.6, 'load + run + check-alerts (`run-all`) ≥ 60 % at 1M', ['corral load', 'corral run', 'corral check-alerts']),
    wholeAt('alerts', 1_000_000, 0.35, '`check-alerts` ≥ 35 % of raw at 1M', ['corral check-alerts', 'raw alerts'], 'the crash bound (at most one row re-sent per alert process) is a test, not a figure'),
    verdict({ target: 'Out-mode command ≤ Node’s floor + 0.06 s', figure: '`lssteps` − `node -e 0`, paired', value: start.outModeOverFloor?.median, threshold: 0.06, kind: 'atMost', fmt: fmtSec, bound: boundsOf(prof, ['corral lssteps']) }),
    verdict({ target: 'Forked worker ready ≤ a bare forked child + 0.08 s', figure: '(`run` − `run --sync`) − (`floor.js 1` − `node -e 0`), paired', value: start.workerOverBareFork?.median, threshold: 0.08, kind: 'atMost', fmt: fmtSec, bound: boundsOf(prof, ['corral run, one worker, one row']) }),
    verdict({ target: 'PostgreSQL loader ≥ 50 % of a raw batched insert (1 client)', figure: pgf.skipped ? 'skipped' : `whole command ÷ raw program, ${fmtRows(pgf.rows)} rows, paired`, value: pgf.load?.whole?.median, threshold: 0.5, kind: 'atLeast', fmt: fmtPct, bound: boundsOf(prof, ['corral load (PostgreSQL)', 'raw load (PostgreSQL)']) }),
    verdict({ target: 'PostgreSQL step, procs 2 ≥ 60 % of raw with 2 clients', figure: pgf.skipped ? 'skipped' : `whole command ÷ raw program, ${fmtRows(pgf.rows)} rows, paired`, value: pgf.procs2?.vsRaw2?.whole?.median, threshold: 0.6, kind: 'atLeast', fmt: fmtPct, bound: boundsOf(prof, ['corral run procs 2 (PostgreSQL)', 'raw step, 2 clients (PostgreSQL)']) }),
    verdict({
      target: 'Step memory flat from 100k to 5M rows',
      figure: sizes.length > 1 ? `peak RSS ${fmtRows(largest)} ÷ ${fmtRows(smallest)}, medians (flat: ≤ 120 %)` : 'needs two sizes',
      value: sizes.length > 1 && stepRss(smallest) ? stepRss(largest) / stepRss(smallest) : null,
      threshold: 1.2,
      kind: 'atMost',
      fmt: fmtPct,
      bound: "SQLite's page cache fills up to its size (4 MB per connection), then nothing grows per row: one chunk of rows in memory.",
    }),
    verdict({ target: 'Loader memory bounded', figure: `peak RSS at ${largest ? fmtRows(largest) : '?'} rows, worst rep (bounded: ≤ 200 MB)`, value: loadRss, threshold: 200, kind: 'atMost', fmt: fmtMb, bound: 'One chunk of yielded rows in memory, then written and dropped.' }),
  ];
  return { meta: results.meta, startup: start, sqlite: bySize, sizes, postgres: pgf, profiles: prof, verdicts };
}

// ---------------------------------------------------------------- shared rows

const PHASE_LABEL = { load: '`load`', step: '`run -s RaDec`', alerts: '`check-alerts`', all: '`run-all`' };

function startupRows(s) {
  const row = (label, key) => {
    const f = s.startup.series[key];
    return f ? [label, spread(f.wall, fmtSec), spread(f.peakRss, fmtMb)] : null;
  };
  return [
    row('`node -e 0` (floor)', 'nodeFloor'),
    row('`node in_corral.js lssteps`', 'lssteps'),
    row('`node bench/floor.js 1` (fork one bare child, floor)', 'forkFloor'),
    row('`node in_corral.js run` (one step, one row: one worker)', 'workerRun'),
    row('`node in_corral.js run --sync` (the same, no worker)', 'workerSync'),
  ].filter(Boolean);
}

function derivedStartupRows(s) {
  return [
    ['Out-mode command over Node’s floor (`lssteps` − `node -e 0`)', spread(s.startup.outModeOverFloor, fmtSec)],
    ['A forked worker (`run` − `run --sync`)', spread(s.startup.workerCost, fmtSec)],
    ['A bare forked child (`floor.js 1` − `node -e 0`)', spread(s.startup.bareForkCost, fmtSec)],
    ['Worker over a bare child', spread(s.startup.workerOverBareFork, fmtSec)],
  ];
}

function sqliteRows(f) {
  return Object.entries(f.phases).map(([phase, p]) => [
    PHASE_LABEL[phase],
    spread(p.corral?.wall, fmtSec),
    spread(p.raw?.wall, fmtSec),
    phase === 'load' ? 'n/a' : spread(p.rawStar?.wall, fmtSec),
    spread(p.vsRaw?.whole, fmtPct),
    phase === 'load' ? 'n/a' : spread(p.vsStar?.whole, fmtPct),
    spread(p.corral?.inProcess, fmtSec),
    spread(p.raw?.inProcess, fmtSec),
    spread(p.vsRaw?.inProcess, fmtPct),
    `${fmtMb(p.corral?.peakRss?.median)} / ${fmtMb(p.raw?.peakRss?.median)}`,
  ]);
}
const SQLITE_HEADER = ['Command', 'corral, whole', 'raw, whole', 'raw `SELECT *`, whole', 'corral ÷ raw, whole', 'corral ÷ raw `SELECT *`, whole', 'corral, in-process', 'raw, in-process', 'corral ÷ raw, in-process', 'Peak RSS corral / raw'];

function growthRows(s) {
  return s.sizes.map((n) => {
    const f = s.sqlite[n].phases;
    const perRow = (fig) => (fig?.wall ? (fig.wall.median / n) * 1e6 : null);
    return [
      fmtRows(n),
      String(s.sqlite[n].reps),
      fmtSec(f.load.corral?.wall?.median),
      fmtUs(perRow(f.load.corral)),
      fmtSec(f.load.raw?.wall?.median),
      fmtMb(f.load.corral?.peakRss?.median),
      fmtSec(f.step.corral?.wall?.median),
      fmtUs(perRow(f.step.corral)),
      fmtSec(f.step.raw?.wall?.median),
      fmtMb(f.step.corral?.peakRss?.median),
    ];
  });
}
const GROWTH_HEADER = ['Rows', 'Reps', '`load` whole', 'per row', 'raw load', '`load` peak RSS', '`run` whole', 'per row', 'raw step', '`run` peak RSS (worker)'];

function pgRows(p) {
  const v = p.variants;
  return [
    ['corral `load`', spread(v.load?.wall, fmtSec), spread(v.load?.inProcess, fmtSec), spread(p.load?.whole, fmtPct), spread(p.load?.inProcess, fmtPct)],
    ['raw batched insert (`INSERT … SELECT unnest`, 1 client)', spread(v.rawLoad?.wall, fmtSec), spread(v.rawLoad?.inProcess, fmtSec), '', ''],
    ['corral `run`, procs 1 (vs raw, 1 client)', spread(v.procs1?.wall, fmtSec), spread(v.procs1?.inProcess, fmtSec), spread(p.procs1.vsRaw1?.whole, fmtPct), spread(p.procs1.vsRaw1?.inProcess, fmtPct)],
    ['corral `run`, procs 2 (vs raw, 2 clients)', spread(v.procs2?.wall, fmtSec), spread(v.procs2?.inProcess, fmtSec), spread(p.procs2.vsRaw2?.whole, fmtPct), spread(p.procs2.vsRaw2?.inProcess, fmtPct)],
    ['raw step, 1 client', spread(v.raw1?.wall, fmtSec), spread(v.raw1?.inProcess, fmtSec), '', ''],
    ['raw step, 2 client processes', spread(v.raw2?.wall, fmtSec), spread(v.raw2?.inProcess, fmtSec), '', ''],
  ];
}
const PG_HEADER = ['Variant', 'Whole', 'In-process', 'corral ÷ raw, whole', 'corral ÷ raw, in-process'];

function profileRows(p) {
  return Object.entries(p.commands).map(([key, c]) => [
    key,
    fmtSec(c.wallSeconds),
    `${num(c.cpuMs, 0)} ms in ${c.processes}`,
    c.groups
      .slice(0, 5)
      .map((g) => `${g.group} ${Math.round(g.share * 100)} %`)
      .join('; '),
    c.topLines[0] ? `\`${c.topLines[0].where.replace(/`/g, "'").replace(/\|/g, '\\|')}\` (${Math.round(c.topLines[0].share * 100)} %)` : '',
  ]);
}

// ---------------------------------------------------------------- console

function table(header, rows) {
  const strip = (c) => String(c).replace(/`/g, '');
  const widths = header.map((h, i) => Math.max(strip(h).length, ...rows.map((r) => strip(r[i]).length)));
  const line = (cells) => cells.map((c, i) => strip(c).padEnd(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function printSummary(s) {
  const out = [];
  out.push('', `corral bench — ${s.meta.date}${s.meta.options.quick ? ' — QUICK RUN (indicative only)' : ''} — load average ${s.meta.loadAverageStart.join(' ')} at the start`, '');
  out.push(table(['command', 'wall median (min–max)', 'peak RSS'], startupRows(s)), '', table(['start-up cost', 'median (min–max)'], derivedStartupRows(s)));
  for (const n of s.sizes) {
    out.push('', `SQLite, ${fmtRows(n)} rows (${s.sqlite[n].reps} reps)`);
    out.push(table(SQLITE_HEADER, sqliteRows(s.sqlite[n])));
  }
  out.push('', 'Cost growth', table(GROWTH_HEADER, growthRows(s)));
  if (s.postgres.skipped) out.push('', `PostgreSQL: ${s.postgres.skipped}`);
  else out.push('', `PostgreSQL, ${fmtRows(s.postgres.rows)} rows (${s.postgres.reps} reps)`, table(PG_HEADER, pgRows(s.postgres)));
  out.push('', 'Targets', table(['target', 'figure', 'measured', 'verdict'], s.verdicts.map((v) => [v.target, v.figure, v.shown, v.text])), '');
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------- markdown

function mdTable(header, rows, align) {
  const sep = header.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function markdown(s) {
  const m = s.meta;
  const o = m.options;
  const verdictCell = (v) => (v.met === null ? '— not measured' : v.met ? '✅ met' : `❌ ${v.text}`);
  const lines = ['# Performance', ''];
  if (o.quick) {
    lines.push(
      `> **Quick run** (\`npm run bench -- --quick --write-docs\`: ${o.sizes.map(fmtRows).join(', ')} rows only, ${o.reps} repetitions, PostgreSQL ${fmtRows(o.pgRows)} rows) **on a loaded machine** (load average ${m.loadAverageStart[0]} at the start, ${(m.loadAverageEnd ?? ['?'])[0]} at the end, on ${m.cores} cores).`,
      '> It checks that the benchmark works and shows the new tables; it is not the issue\'s verdict. The targets at 1M rows say "not measured" and show the 100k figure as a hint. Run `npm run bench` on a quiet machine for the real figures. The last full run, of issue 7\'s benchmark (commit `0465074`), is in this file\'s git history.',
      '',
    );
  }
  lines.push(
    `Figures of \`npm run bench\` (issues 7 and 15), measured on ${m.date.slice(0, 10)} at corral commit \`${m.corralCommit ?? 'unknown'}\`${m.corralDirty ? ' (with uncommitted changes in src/)' : ''}, in ${num(m.durationSeconds / 60, 1)} minutes; load average ${m.loadAverageStart.join(', ')} (1, 5, 15 min) at the start and ${(m.loadAverageEnd ?? []).join(', ')} at the end, on ${m.cores} cores.`,
    '',
    'The headline figures are **whole commands**: `node in_corral.js <command>` timed from spawn to exit, against a minimal raw program (`node bench/raw-cli.js …`, better-sqlite3 or pg and nothing else) doing the same work on the same rows, timed the same way, in the same run. The raw programs read only the columns the work needs and write in transactions of 1,000 rows; a second raw variant reads whole rows (`SELECT *`). In-process figures (corral\'s run records against the raw program\'s own clock around its loop) stay as a diagnosis column. Ratios are paired per repetition (the sides ran back to back, in an order that rotates) and then the median is taken; each cell gives the median and, in brackets, the minimum and maximum.',
    '',
    '## Targets (issue 15)',
    '',
    mdTable(['Target', 'Figure used', 'Measured', 'Verdict', 'What bounds it (top self-time groups of a CPU profile)'], s.verdicts.map((v) => [v.target, v.figure, v.shown, verdictCell(v), v.bound ?? '']), ['', '', 'r', '', '']),
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
        ['Repetitions', `${o.startupReps ?? o.reps} (start-up), ${o.reps} (sizes under 500k rows), ${o.bigReps} (sizes from 500k rows, PostgreSQL)`],
      ],
    ),
    '',
    '## Start-up',
    '',
    'Wall time from spawn to exit. A forked worker\'s cost is measured as `run` of a pipeline whose one step always finds one row (so `run` forks one worker for it) minus `run --sync` of the same (the same work in the command\'s own process); a bare forked child\'s as `node bench/floor.js 1` (a Node parent that forks one child with an IPC channel and waits for it) minus `node -e 0`. Differences are paired per repetition, ' +
      `${o.startupReps ?? o.reps} repetitions (more than for the sizes: each command takes a fraction of a second and the differences are a few hundredths, where one noisy repetition moves a median of five).`,
    '',
    mdTable(['Command', 'Wall time', 'Peak RSS (largest process)'], startupRows(s), ['', 'r', 'r']),
    '',
    mdTable(['Start-up cost', 'Median (min–max)'], derivedStartupRows(s), ['', 'r']),
  );
  for (const n of s.sizes) {
    const f = s.sqlite[n];
    lines.push(
      '',
      `## SQLite, ${fmtRows(n)} rows`,
      '',
      `${f.reps} repetitions, each from fresh copies of the same empty database. \`check-alerts\` sends ${num(f.brightRows)} rows (app_mag < 10.15, about 1 %); \`run-all\` does the load, the step and the alert in one command, against one raw program doing the three. corral ÷ raw: 100 % is as fast as the raw program.`,
      '',
      mdTable(SQLITE_HEADER, sqliteRows(f), ['', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']),
    );
  }
  lines.push(
    '',
    '## Cost growth',
    '',
    `Whole commands on SQLite at each size of the run (\`--sizes\`, by default 100k, 1M and 5M rows; above 1M rows only \`load\` and \`run\` are measured, against the raw columns program). Per row = whole time ÷ rows (fixed costs weigh more at small sizes). Peak RSS is the largest process of the command: \`load\` runs in the command's process, \`run\` in its forked worker.`,
    '',
    mdTable(GROWTH_HEADER, growthRows(s), ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']),
  );
  if (!o.sizes.includes(5_000_000)) lines.push('', `Sizes measured in this run: ${o.sizes.map(fmtRows).join(', ')}; the rows for the others are missing, not zero.`);
  lines.push('', '## PostgreSQL', '');
  if (s.postgres.skipped) lines.push(`Not measured: ${s.postgres.skipped}.`);
  else {
    lines.push(
      `${fmtRows(s.postgres.rows)} rows, ${s.postgres.reps} repetitions, the variants in an order that rotates. Before the loader the table is emptied (\`TRUNCATE … RESTART IDENTITY\`); before a step it is refilled with the same rows and \`VACUUM ANALYZE\`d. The raw insert is one \`INSERT … SELECT … FROM unnest($1, $2, $3)\` of 1,000 rows per round trip from one client, taking no ids back. The raw step reads keyset pages of 1,000 rows (\`id\`, \`x\`, \`y\`) and writes each page with one \`UPDATE … FROM unnest\`; with 2 clients it forks two processes, each taking the ids of one remainder modulo 2, as corral's \`procs\` split rows, and its in-process time runs from the moment both are started until the last is done.`,
      '',
      mdTable(PG_HEADER, pgRows(s.postgres), ['', 'r', 'r', 'r', 'r']),
    );
  }
  lines.push('', '## What bounds each figure', '');
  if (s.profiles.skipped) lines.push(`Not profiled: ${s.profiles.skipped}.`);
  else {
    lines.push(
      `Each command once more at ${fmtRows(s.profiles.rows)} rows (PostgreSQL ${fmtRows(o.pgRows)}), under \`node --cpu-prof\` (not timed: profiling slows it down). CPU is the profiled time that is not idle, summed over the command's processes and threads (each writes its own profile: the parent, every forked worker, the heartbeat thread of each worker); the groups are shares of it. The busiest line is the one line of JavaScript with the most self time (a better-sqlite3 statement's C++ time counts on the line that calls it).`,
      '',
      mdTable(['Command (profiled)', 'Wall', 'CPU (processes and threads)', 'Top self-time groups', 'Busiest line'], profileRows(s.profiles), ['', 'r', 'r', '', '']),
      '',
      '### How to repeat a profile by hand',
      '',
      '```sh',
      'npm run bench -- --quick --keep --no-pg        # keeps the scaffolded pipeline; its path is printed',
      'cd <kept folder>/pointbench',
      'BENCH_CONNECTION=sqlite:/tmp/p.db node in_corral.js createdb --noinput',
      'BENCH_CONNECTION=sqlite:/tmp/p.db BENCH_ROWS=100000 node --cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval 500 in_corral.js load',
      'node -e "import(\'<corral checkout>/bench/profile.js\').then((m) => console.log(JSON.stringify(m.summariseDir(\'/tmp/prof\'), null, 1)))"',
      '```',
      '',
      'Forked workers inherit `--cpu-prof` from the parent, so a `run` leaves one `.cpuprofile` per process. The files also open in Chrome DevTools (Performance → Load profile) for a flame chart. `bench/profile.js` says how samples are grouped: a sample\'s line of source decides first (`.all(` reads rows, `.run(` writes them, `COMMIT` ends a transaction, `JSON.` and `.send(` are IPC), then its file (Node\'s module loader, knex, zod, corral\'s `dist/`, the pipeline), then V8\'s pseudo-frames (garbage collector; idle = waiting, left out of the CPU total).',
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
    'The rows and the computation come from one module, `bench/data.js`, which the pipeline and the raw programs both import; the first repetition checks that every database ends with the same rows and values and every alert file with one line per bright row.',
    '',
    '| Figure | How it is measured |',
    '| --- | --- |',
    '| **Whole** (wall) | The benchmark\'s clock from spawning the process to its exit: Node start, loading modules (for corral: the pipeline, compiled once into `.corral/build`), settings, connection, forking workers, the work, exit. Same clock for corral and raw. |',
    '| **In-process** | corral: from its run records in `corral_runs`, the earliest `started_at` to the latest `ended_at` of the records the command wrote (one per worker), without process start (for `run-all`, from the loader\'s start to the alert\'s end, so the workers started between phases are in it). Raw: the program\'s own `performance.now()` around its loop, connection opening and closing included, module loading not. |',
    '| **corral ÷ raw** | Raw seconds ÷ corral seconds of the *same* repetition, whole with whole and in-process with in-process, then the median: 100 % is as fast as the raw program. |',
    '| **Peak RSS** | `process.resourceUsage().maxRSS` of every Node process of the command, written at exit by `bench/rss-probe.cjs`, preloaded through `NODE_OPTIONS=--require …` (forked workers inherit it), into corral and raw programs alike. |',
    '',
    'The raw programs (`bench/raw-cli.js`, loops in `bench/raw.js` and `bench/raw-pg.js`) are what a careful minimal program does:',
    '',
    '- **load**: one prepared `INSERT` per row, `BEGIN IMMEDIATE … COMMIT` every 1,000 rows;',
    '- **step**: keyset pages (`SELECT id, x, y … WHERE ra IS NULL AND id > ? ORDER BY id LIMIT 1000`, or `SELECT *`) read inside a `BEGIN IMMEDIATE` transaction, one prepared `UPDATE … SET ra, dec WHERE id` per row;',
    '- **alerts**: keyset pages of bright rows (`id`, `app_mag`, or `*`) not yet recorded in `corral_alerted`; per row, one line written to the file and one record inserted; a transaction per page;',
    '- **all**: the three in one process.',
    '',
    'SQLite connections on both sides use corral\'s settings: WAL, `synchronous = NORMAL`, `foreign_keys = ON`, `cache_size = -4000` (4 MB).',
    'Before the start-up series, every command runs once unrecorded, so the figures are those of a warm machine (OS page cache, the pipeline\'s compile cache).',
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm run bench                                   # full run: builds dist/, then 100k, 1M and 5M rows, PostgreSQL if reachable, profiles',
    'npm run bench -- --sizes 100000,1000000         # without the 5M row of the cost growth table (shorter)',
    'npm run bench -- --quick                        # development run: 100k rows, 2 reps (writes bench/results/quick.json only)',
    'npm run bench -- --quick --write-docs           # the same, and this page (and latest.json), labelled as a quick run',
    'npm run bench -- --pg-url postgres://user@host:5432/db --db-prefix my_bench_   # another server, another name prefix',
    'npm run bench -- --no-pg --no-profile           # SQLite only, no profiles',
    'node bench/run.js --report-only bench/results/latest.json   # rebuild this page from the samples',
    '```',
    '',
    `PostgreSQL is taken from \`--pg-url\`, \`CORRAL_BENCH_PG_URL\` or \`CORRAL_TEST_PG_URL\` (default \`postgres://postgres@127.0.0.1:5432/test\`); the benchmark creates a database \`<prefix><random>\` (\`--db-prefix\`, default \`corral_bench_\`) and drops it at the end, also on Ctrl-C. Without a server the PostgreSQL figures are skipped with a note.`,
    "All raw samples (each repetition's seconds and the RSS of each process) and the profile summaries are in [`bench/results/latest.json`](../bench/results/latest.json).",
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
      `The machine was busy: load average ${m.loadAverageStart[0]} at the start and ${(m.loadAverageEnd ?? ['?'])[0]} at the end, on ${m.cores} cores. Absolute times are inflated; start-up figures, mostly CPU time of process start, suffer most; the paired ratios least.`,
    );
  }
  out.push(
    `These are the figures of corral at commit \`${m.corralCommit ?? 'unknown'}\`; rerun \`npm run bench\` after changes to the engine, the runner or start-up.`,
    'corral ÷ raw is not a like-for-like cost of the same guarantees: corral also writes its run records (`corral_runs`) and heartbeats, hydrates model instances, tracks changed columns, and keeps failed rows aside for retry; the raw programs do only the work.',
    'The alert is the extreme case: corral claims every alerted row so that each row is sent once even with concurrent runs and a crash re-sends at most one; the raw program records a whole page of rows in one transaction.',
    'On PostgreSQL the machine\'s 2 cores are shared by the server and the client processes.',
    `Peak RSS includes Node's own baseline (a bare \`node -e 0\` takes ${fmtMb(s.startup.series.nodeFloor?.peakRss?.median)} here).`,
  );
  return out;
}

/**
 * With `docs`: docs/PERFORMANCE.md and the samples behind it, bench/results/latest.json.
 * Without (a --quick run): bench/results/quick.json only, which git ignores.
 */
export function writeReports(results, summary, { docs }) {
  const dir = path.join(REPO, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, docs ? 'latest.json' : 'quick.json');
  fs.writeFileSync(json, JSON.stringify({ ...results, verdicts: summary.verdicts.map(({ target, figure, value, threshold, met, text }) => ({ target, figure, value: round(value, 4), threshold, met, text })) }, null, 1) + '\n');
  const written = [path.relative(REPO, json)];
  if (docs) {
    const md = path.join(REPO, 'docs', 'PERFORMANCE.md');
    fs.writeFileSync(md, markdown(summary));
    written.push(path.relative(REPO, md));
  }
  return written;
}
