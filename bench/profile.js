/**
 * "What bounds each figure": a V8 CPU profile of a whole command, summarised.
 *
 * Method (repeatable by hand): run the command as `node --cpu-prof
 * --cpu-prof-dir=DIR --cpu-prof-interval 500 in_corral.js <command>` (forked
 * workers inherit the flags from the parent's execArgv, so each process writes its
 * own DIR/*.cpuprofile), then add up the self time of every sample by group.
 * A sample falls on a JS frame and a line of it (the profile's `positionTicks`).
 * better-sqlite3's statements are C++ called from JS, and V8 puts their time on
 * the JS line that called them, so the line's text tells which SQLite work it was
 * (`.all(` reads rows, `.run(` writes them, `COMMIT` ends a transaction, …).
 * Frames without a readable line are grouped by their file (module loading, IPC,
 * knex, corral's own code, the pipeline's code) or by V8's pseudo-frames
 * (garbage collector, idle = waiting, program = native work outside JS).
 * The profile starts once Node has booted, so Node's own start is not in it
 * (the start-up table has that: the `node -e 0` floor).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO } from './pipeline.js';

/** Groups, checked in order, for the text of the line a sample fell on. */
const LINE_GROUPS = [
  [/\b(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b|\.(immediate|deferred|exclusive)\(/, 'SQLite: BEGIN/COMMIT'],
  [/\.(all|iterate)\(/, 'SQLite: read rows (SELECT)'],
  [/\b(statement|stmt|claim|insert|update|select|page|record)\w*\.get\(/i, 'SQLite: one-row statement (.get)'],
  [/\b(statement|stmt|insert|update|record|bySignature\([^)]*\))\w*\.run\(|\)\.run\(\w*values|\.run\(\s*[a-z.]*\s*,|\.run\(\[/i, 'SQLite: write rows (INSERT/UPDATE)'],
  [/\.(prepare|pragma|exec)\(|new Database\(|\.close\(\)/, 'SQLite: open/prepare/close'],
  [/JSON\.(stringify|parse)/, 'JSON'],
  [/\.send\(|serialize/, 'IPC'],
  [/writeSync|appendFileSync|\.write\(/, 'output (files/terminal)'],
];

/** Groups for frames without a classified line: [test on url and function name, group]. */
const FRAME_GROUPS = [
  [(url, fn) => fn === '(garbage collector)', 'garbage collector'],
  [(url, fn) => fn === '(idle)', 'idle (waiting)'],
  [(url, fn) => fn === '(program)', 'native outside JS (V8/libuv)'],
  [(url) => /better-sqlite3\/lib\/methods\/transaction/.test(url), 'SQLite: BEGIN/COMMIT'],
  [(url) => /better-sqlite3/.test(url), 'SQLite: open/prepare/close'],
  [(url, fn) => /internal\/modules|internal\/bootstrap|internal\/process\/pre_execution/.test(url) || /^(compileFunction|wrapSafe|compileSourceTextModule|cjsPreparseModuleExports|Script)$/.test(fn), 'module loading and Node start'],
  [(url, fn) => /internal\/child_process|serialization/.test(url) || /^(writeUtf8String|writeLatin1String)$/.test(fn) && /child_process/.test(url), 'IPC'],
  [(url) => /dist\/vendor\/knex|node_modules\/knex/.test(url), 'knex'],
  [(url) => /node_modules\/zod/.test(url), 'zod'],
  [(url) => /node_modules\/(pg|pg-[a-z-]+|pgpass|postgres-[a-z-]+)\//.test(url), 'pg driver (with its socket I/O)'],
  [(url) => /node_modules\/(pino|commander|tsx|esbuild)|dist\/vendor\/pino/.test(url), 'other libraries (pino/commander/tsx)'],
  [(url) => /bench\/raw|bench\/pg-worker/.test(url), 'raw loop JS'],
  [(url) => /bench\/data\.js|\.corral\/build|pointbench/.test(url), "pipeline's own code (the work)"],
  // Functions corral generates per model (`new Function`, no file): its SQLite UPDATE of a change mask runs the statement.
  [(url, fn) => url === '' && fn === 'update', 'SQLite: write rows (INSERT/UPDATE)'],
  [(url, fn) => url === '' && /^(Hydrated|changed|plan|snapshot)$/.test(fn), "corral's JS"],
  [(url) => /\/dist\//.test(url), "corral's JS"],
  [(url) => /^node:|^internal\//.test(url) || url === '', 'Node internals (fs/streams/timers)'],
];

const sourceCache = new Map();
function lineOf(url, line) {
  if (!url.startsWith('file://')) return null;
  let lines = sourceCache.get(url);
  if (lines === undefined) {
    try {
      lines = fs.readFileSync(fileURLToPath(url), 'utf8').split('\n');
    } catch {
      lines = null;
    }
    sourceCache.set(url, lines);
  }
  return lines?.[line - 1] ?? null;
}

/** A frame of Node's module loader (or of Node's own start). `Script`: vm.Script, which compiles dist/corral.cjs (dist/corral-load.cjs) and the vendor bundles. */
const LOADER = /internal\/modules|internal\/bootstrap|internal\/process\/pre_execution|internal\/main\//;
const COMPILERS = /^(compileFunction|wrapSafe|compileSourceTextModule|cjsPreparseModuleExports|dlopen|Script)$/;

/**
 * Node's internal frames (fs, path, url, streams, natives) do work for whoever
 * called them: the nearest caller that is module loading, IPC, a driver or a
 * JS file decides. Module loading and IPC get the time; for a JS file, null (the
 * frame's own group stands); a driver's (pg, knex), the driver.
 */
function ownerOf(node, parents, byId, memo) {
  if (memo.has(node.id)) return memo.get(node.id);
  const { url, functionName } = node.callFrame;
  let owner;
  if (LOADER.test(url) || COMPILERS.test(functionName)) owner = 'module loading and Node start';
  else if (/internal\/child_process/.test(url)) owner = 'IPC';
  // A driver's socket and stream work is the driver's (the pg driver's round trips).
  else if (/node_modules\/(pg|pg-[a-z-]+)\//.test(url)) owner = 'pg driver (with its socket I/O)';
  else if (/dist\/vendor\/knex|node_modules\/knex/.test(url)) owner = 'knex';
  else if (url.startsWith('file://')) owner = null;
  else {
    const parent = parents.get(node.id);
    owner = parent === undefined ? null : ownerOf(byId.get(parent), parents, byId, memo);
  }
  memo.set(node.id, owner);
  return owner;
}

function groupOf(frame, text, owner) {
  // better-sqlite3's own JS wrappers: its transaction() function, or pragma/prepare/close.
  if (/better-sqlite3\/lib\/methods\/transaction/.test(frame.url)) return 'SQLite: BEGIN/COMMIT';
  // db.exec(): corral's transactions (BEGIN IMMEDIATE, COMMIT, SAVEPOINT) go through it; DDL only at createdb.
  if (/better-sqlite3\/lib\/methods\/wrappers/.test(frame.url) && frame.functionName === 'exec') return 'SQLite: BEGIN/COMMIT';
  if (/better-sqlite3/.test(frame.url)) return 'SQLite: open/prepare/close';
  if (text !== null) for (const [re, group] of LINE_GROUPS) if (re.test(text)) return group;
  if (owner && !frame.url.startsWith('file://') && !frame.functionName.startsWith('(')) return owner;
  for (const [test, group] of FRAME_GROUPS) if (test(frame.url, frame.functionName)) return group;
  return 'other JS';
}

/** Self time (ms) by group, and the busiest lines, of one .cpuprofile. */
function summariseProfile(profile) {
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length); // µs per sample
  const groups = {};
  const lines = {};
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const memo = new Map();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const owner = ownerOf(node, parents, byId, memo);
    const add = (group, ticks, where) => {
      const ms = (ticks * interval) / 1000;
      groups[group] = (groups[group] ?? 0) + ms;
      if (where) lines[where] = { ms: (lines[where]?.ms ?? 0) + ms, group };
    };
    const ticksOnLines = (node.positionTicks ?? []).reduce((n, p) => n + p.ticks, 0);
    for (const { line, ticks } of node.positionTicks ?? []) {
      const text = lineOf(frame.url, line);
      const where = frame.url.startsWith('file://') ? `${shortPath(frame.url)}:${line} ${(text ?? '').trim().slice(0, 90)}` : null;
      // Lines are read in our code only (corral's dist/, the pipeline, the raw programs): a library's are its own.
      const ours = !/\/node_modules\/|\/dist\/vendor\//.test(frame.url);
      add(groupOf(frame, ours ? text : null, owner), ticks, where);
    }
    // Samples not attributed to a line (pseudo-frames, natives): the frame's group.
    const rest = (node.hitCount ?? 0) - ticksOnLines;
    if (rest > 0) add(groupOf(frame, null, owner), rest, null);
  }
  return { wallMs: (profile.endTime - profile.startTime) / 1000, groups, lines };
}

/** A file's path from the checkout (dist/…, bench/…, node_modules/…) or from the pipeline's folder. */
function shortPath(url) {
  const file = fileURLToPath(url);
  const modules = file.indexOf('/node_modules/');
  if (modules >= 0) return file.slice(modules + 1);
  if (file.startsWith(REPO)) return path.relative(REPO, file);
  const at = file.lastIndexOf('/pointbench/');
  return at >= 0 ? file.slice(at + 1) : file;
}

/**
 * All the profiles in `dir` (one per process of the command), summarised: CPU
 * time (not idle) by group, the share of each, and the busiest lines.
 */
export function summariseDir(dir) {
  const processes = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => summariseProfile(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))));
  const groups = {};
  const lines = {};
  let idleMs = 0;
  for (const p of processes) {
    for (const [group, ms] of Object.entries(p.groups)) {
      if (group === 'idle (waiting)') idleMs += ms;
      else groups[group] = (groups[group] ?? 0) + ms;
    }
    for (const [where, l] of Object.entries(p.lines)) lines[where] = { ms: (lines[where]?.ms ?? 0) + l.ms, group: l.group };
  }
  const cpuMs = Object.values(groups).reduce((a, b) => a + b, 0);
  const round1 = (v) => Math.round(v * 10) / 10;
  return {
    processes: processes.length,
    cpuMs: round1(cpuMs),
    idleMs: round1(idleMs),
    groups: Object.entries(groups)
      .sort((a, b) => b[1] - a[1])
      .map(([group, ms]) => ({ group, ms: round1(ms), share: cpuMs ? Math.round((ms / cpuMs) * 1000) / 1000 : 0 })),
    topLines: Object.entries(lines)
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 8)
      .map(([where, l]) => ({ where, group: l.group, ms: round1(l.ms), share: cpuMs ? Math.round((l.ms / cpuMs) * 1000) / 1000 : 0 })),
  };
}

/** node flags that make a command (and the workers it forks) write its profiles into `dir`. */
export function profileFlags(dir) {
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '500'];
}
