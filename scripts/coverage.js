#!/usr/bin/env node
// `npm run coverage`: the coverage of corral's own src/ by its test suite, as ONE figure.
//
// corral's tests run its code two ways, and each is measured its own way:
// - in the vitest workers, where unit tests import src/*.ts through vite:
//   @vitest/coverage-v8 measures those (its JSON goes to a temporary folder);
// - in child processes, where end-to-end tests run `node in_corral.js …` and the
//   CLI forks runner children, all of them running the compiled dist/*.js:
//   NODE_V8_COVERAGE, inherited by every process the run starts, makes each one
//   write its raw V8 coverage into a temporary folder when it exits.
// The raw coverage of dist/*.js is mapped back to src/*.ts through tsc's source maps
// with the converter @vitest/coverage-v8 uses (ast-v8-to-istanbul), so both halves
// list the same statements and branches of the same .ts lines, and their hits are
// added up into one report: coverage/lcov.info, coverage/index.html (the HTML report),
// coverage/coverage-summary.json, and the summary printed at the end.
//
//   node scripts/coverage.js                      the whole suite (10+ minutes)
//   node scripts/coverage.js test/e2e/typos.test.ts   some test files (a partial figure)
//
// The exit code is vitest's: a failing test fails the command, after the report.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mergeProcessCovs } from '@bcoe/v8-coverage';
import astV8ToIstanbul from 'ast-v8-to-istanbul';
import libCoverage from 'istanbul-lib-coverage';
import libReport from 'istanbul-lib-report';
import reports from 'istanbul-reports';
import { parseAstAsync } from 'vitest/node';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = path.join(ROOT, 'coverage');
// Outside the checkout: scaffolded pipelines link node_modules/corral to it, and a test
// that lists a pipeline's files would see the raw coverage appear.
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-coverage-'));
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));
const FORKED = path.join(WORK, 'forked');
const VITEST = path.join(WORK, 'vitest');
const DIST_URL = pathToFileURL(path.join(ROOT, 'dist')).href + '/';
const SRC = path.join(ROOT, 'src') + path.sep;

/** Runs `node <args>` in the repository with its output shown; returns the exit code. */
function node(args, env = process.env) {
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** The dist/ module `url` names, if it is one of corral's own compiled modules (not the knex bundle). */
function distModule(url) {
  if (!url.startsWith(DIST_URL) || !url.endsWith('.js')) return undefined;
  const file = fileURLToPath(url);
  return file.includes(`${path.sep}vendor${path.sep}`) ? undefined : file;
}

/**
 * The raw V8 coverage of every child process, reduced to corral's dist/ modules and
 * merged into one process coverage (block counts summed). A process writes its file
 * when it exits normally, through process.exit, or on a signal Node handles; a process
 * killed by SIGKILL (some tests do, on purpose) writes nothing.
 */
function forkedCoverage() {
  let merged = { result: [] };
  const files = fs.existsSync(FORKED) ? fs.readdirSync(FORKED).filter((name) => name.endsWith('.json')) : [];
  for (const name of files) {
    let raw;
    try {
      raw = JSON.parse(fs.readFileSync(path.join(FORKED, name), 'utf8'));
    } catch {
      continue; // a process killed while writing leaves a truncated file
    }
    const ours = (raw.result ?? []).filter((script) => distModule(script.url) !== undefined);
    if (ours.length > 0) merged = mergeProcessCovs([merged, { result: ours }]);
  }
  return { processes: files.length, scripts: merged.result };
}

/** A dist/ module's coverage as Istanbul coverage of its src/*.ts file. */
async function toSourceCoverage(script) {
  const file = distModule(script.url);
  const code = fs.readFileSync(file, 'utf8');
  const map = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8'));
  map.sources = map.sources.map((source) => pathToFileURL(path.resolve(path.dirname(file), map.sourceRoot ?? '', source)).href);
  map.sourceRoot = undefined;
  return astV8ToIstanbul({ code, sourceMap: map, ast: parseAstAsync(code), coverage: { url: script.url, functions: script.functions } });
}

/** The shape of a file's coverage: its statements, functions and the arms of each branch. */
function shapeOf(data) {
  const count = (map) => Object.keys(map).length;
  return `${count(data.statementMap)}/${count(data.fnMap)}/${Object.values(data.branchMap).map((branch) => branch.locations.length).join(',')}`;
}

/**
 * Adds the hits of `data` (one src/ file, from a child process) to that file's entry.
 * Both converters walk an AST of the same TypeScript (vite's transform in the workers,
 * tsc's in dist/) and list the same statements, functions and branches in the same
 * order, but the end columns they map back differ, so Istanbul's own merge (by exact
 * location) would count each twice. When the shapes agree, the hits add up by index;
 * otherwise, which no file does today, Istanbul's merge is the fallback.
 */
function addHits(coverageMap, file, data) {
  if (!coverageMap.data[file]) {
    coverageMap.addFileCoverage(data);
    return;
  }
  const into = coverageMap.fileCoverageFor(file).data;
  if (shapeOf(into) !== shapeOf(data)) {
    process.stderr.write(`coverage: ${path.relative(ROOT, file)} has a different shape in dist/ than in vitest; merged by location\n`);
    coverageMap.merge({ [file]: data });
    return;
  }
  for (const key of Object.keys(into.s)) into.s[key] += data.s[key];
  for (const key of Object.keys(into.f)) into.f[key] += data.f[key];
  for (const key of Object.keys(into.b)) into.b[key] = into.b[key].map((hits, arm) => hits + data.b[key][arm]);
}

fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT);
fs.mkdirSync(FORKED);

// Built once, here, without coverage: the suite's global setup then skips its own build.
// Without scripts/bundle-corral.js: the processes then run tsc's modules of dist/, each with
// its own source map to src/ (dist/corral.cjs would be one script for all of them).
process.stdout.write('Building dist/ (with source maps)...\n');
if (node(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']) !== 0 || node(['scripts/bundle-vendor.js']) !== 0) {
  process.stderr.write('coverage: building dist/ failed; nothing was measured\n');
  process.exit(2);
}

const vitestArgs = [
  'node_modules/vitest/vitest.mjs',
  'run',
  '--coverage.enabled',
  '--coverage.provider=v8',
  '--coverage.include=src/**/*.ts',
  '--coverage.reporter=json',
  // A failing test still leaves a figure (vitest writes none by default then).
  '--coverage.reportOnFailure',
  `--coverage.reportsDirectory=${VITEST}`,
  // Every process runs slower while it records coverage, and the suite's 2-minute
  // limit is there to catch a hang, not to judge speed: a measurement on a busy machine
  // should not lose the lines of a test that was merely slow.
  '--testTimeout=360000',
  '--hookTimeout=360000',
  ...process.argv.slice(2),
];
const testsCode = node(vitestArgs, { ...process.env, CORRAL_TEST_SKIP_BUILD: '1', NODE_V8_COVERAGE: FORKED });

const vitestJson = path.join(VITEST, 'coverage-final.json');
if (!fs.existsSync(vitestJson)) {
  process.stderr.write(`coverage: vitest wrote no coverage (${vitestJson}); the tests exited with ${testsCode}\n`);
  process.exit(testsCode || 2);
}
const coverageMap = libCoverage.createCoverageMap(JSON.parse(fs.readFileSync(vitestJson, 'utf8')));
const inProcessFiles = coverageMap.files().length;

process.stdout.write('\nMapping the child processes\' coverage of dist/ back to src/...\n');
const forked = forkedCoverage();
for (const script of forked.scripts) {
  for (const [file, data] of Object.entries(await toSourceCoverage(script))) addHits(coverageMap, file, data);
}
coverageMap.filter((file) => file.startsWith(SRC) && file.endsWith('.ts') && !file.endsWith('.d.ts'));

const context = libReport.createContext({ dir: OUT, coverageMap, defaultSummarizer: 'nested' });
for (const reporter of ['html', 'lcovonly', 'json-summary', 'text']) reports.create(reporter, { file: reporter === 'text' ? 'coverage.txt' : undefined }).execute(context);
reports.create('text-summary').execute(context);

const total = coverageMap.getCoverageSummary();
const percent = (metric) => `${metric.pct.toFixed(2)} % (${metric.covered}/${metric.total})`;
process.stdout.write(
  [
    '',
    `corral's src/: ${coverageMap.files().length} files, measured in the vitest workers (${inProcessFiles} files) and in ${forked.processes} child processes (${forked.scripts.length} dist/ modules)`,
    `Lines:    ${percent(total.lines)}`,
    `Branches: ${percent(total.branches)}`,
    `Report: ${path.relative(process.cwd(), path.join(OUT, 'index.html'))} (HTML), coverage/lcov.info, coverage/coverage.txt (per file)`,
    '',
  ].join('\n'),
);
process.exit(testsCode);
