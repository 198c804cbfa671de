/**
 * `profile`: the pipeline's tests (or a real `run --sync` of some steps) in a
 * subprocess under V8's CPU profiler, the profiles of its processes merged into
 * one `.cpuprofile`, positions mapped back to the TypeScript sources, a summary
 * by function, and a small web server for the interactive page.
 *
 * Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so the flags go on the command
 * line of the subprocess: Node hands its `execArgv` down to forked children (the
 * runner's), and vitest passes the `--cpu-prof` flags on to its workers, so those
 * are profiled too. tsx compiles the pipeline's TypeScript to single-line code,
 * so profile positions there mean nothing without its source maps: a hook
 * preloaded through NODE_OPTIONS (`--import`, which every process inherits)
 * saves the source maps of the pipeline's files when each process exits.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CorralError } from '../core/errors.js';
import type { Output } from '../core/output.js';
import type { ResolvedSettings } from '../conf/settings.js';
import { packageDir, pipelineSourceFiles } from './source-files.js';

const CORRAL_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CORRAL_BIN = path.join(CORRAL_ROOT, 'bin', 'corral.js');

/** The `.cpuprofile` format (Chrome DevTools, `node --cpu-prof`). */
export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
  /** 0-based. */
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRunOptions {
  /** Profile `run --sync` of these steps (all steps when empty) instead of the tests. */
  readonly run?: { readonly steps: readonly string[] } | undefined;
  /** Sampling interval in microseconds. (Default: 200) */
  readonly intervalUs?: number;
  /** Where the subprocess's output goes, as it comes. */
  readonly output?: Output;
}

export interface ProfileRun {
  readonly profile: CpuProfile;
  /** What ran: `tests` or `run --sync -s A B`. */
  readonly what: string;
  /** How many process profiles were merged. */
  readonly processes: number;
  /** The subprocess's exit code. */
  readonly exitCode: number;
  readonly log: string;
}

const HOOK = `// Written by corral's profile command: saves the source maps of the pipeline's
// TypeScript (compiled by tsx) when this process exits.
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
const dir = process.env.CORRAL_PROFILE_DIR;
const files = JSON.parse(process.env.CORRAL_PROFILE_SOURCES || '[]');
if (dir) {
  process.on('exit', () => {
    const maps = {};
    for (const file of files) {
      const url = pathToFileURL(file).href;
      let map;
      try { map = module.findSourceMap(url) ?? module.findSourceMap(file); } catch { map = undefined; }
      if (map) maps[url] = map.payload;
    }
    if (Object.keys(maps).length > 0) {
      try { fs.writeFileSync(path.join(dir, 'sourcemaps-' + process.pid + '-' + threadId + '.json'), JSON.stringify(maps)); } catch { /* nothing to save */ }
    }
  });
}
`;

function spawnProfiled(settings: ResolvedSettings, dir: string, args: readonly string[], intervalUs: number, output: Output | undefined): Promise<{ code: number; log: string }> {
  const hook = path.join(dir, 'corral-profile-hook.mjs');
  fs.writeFileSync(hook, HOOK);
  const profiles = path.join(dir, 'profiles');
  fs.mkdirSync(profiles);
  // vitest hands only the --cpu-prof flags down to its workers, and NODE_OPTIONS to every process.
  const execArgv = ['--cpu-prof', `--cpu-prof-dir=${profiles}`, `--cpu-prof-interval=${intervalUs}`];
  const nodeOptions = [process.env.NODE_OPTIONS ?? '', `--import=${pathToFileURL(hook).href}`].join(' ').trim();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, CORRAL_BIN, ...args], {
      cwd: settings.root,
      env: {
        ...process.env,
        NODE_OPTIONS: nodeOptions,
        CORRAL_SETTINGS: settings.settingsFile,
        // Its hook saves the source maps tsx makes; the compile cache would bypass tsx.
        CORRAL_COMPILE_CACHE: '0',
        CORRAL_PROFILE_DIR: profiles,
        CORRAL_PROFILE_SOURCES: JSON.stringify(pipelineSourceFiles(settings)),
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      log += text;
      output?.err(text);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), log }));
  });
}

/** Runs the tests (or `run --sync`) under the CPU profiler and returns the merged, source-mapped profile. */
export async function profilePipeline(settings: ResolvedSettings, options: ProfileRunOptions = {}): Promise<ProfileRun> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-profile-'));
  try {
    const args = options.run ? ['run', '--sync', ...(options.run.steps.length > 0 ? ['--steps', ...options.run.steps] : [])] : ['test'];
    const what = options.run ? `run --sync${options.run.steps.length > 0 ? ` --steps ${options.run.steps.join(' ')}` : ''}` : 'tests';
    const { code, log } = await spawnProfiled(settings, work, args, options.intervalUs ?? 200, options.output);
    const dir = path.join(work, 'profiles');
    const files = fs.readdirSync(dir);
    const profiles = files
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((file) => ({ file, ...processOf(file), profile: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile }));
    if (profiles.length === 0) {
      throw new CorralError(`The profiled ${what} wrote no CPU profile (exit code ${code})`, {
        hint: `Its output ends with:\n${log.trim().split('\n').slice(-15).join('\n')}`,
      });
    }
    const maps: Record<string, module.SourceMapPayload> = {};
    for (const file of files.filter((f) => f.startsWith('sourcemaps-'))) Object.assign(maps, JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    const pkgUrl = pathToFileURL(packageDir(settings)).href + '/';
    const withPipeline = profiles.filter((p) => p.profile.nodes.some((n) => n.callFrame.url.startsWith(pkgUrl)));
    const chosen = withPipeline.length > 0 ? withPipeline : profiles.filter((p) => p.thread === 0);
    const merged = mergeProfiles((chosen.length > 0 ? chosen : profiles).sort((a, b) => a.profile.startTime - b.profile.startTime));
    mapSources(merged, maps);
    return { profile: merged, what, processes: chosen.length || profiles.length, exitCode: code, log };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** `CPU.20261125.150033.4668.0.001.cpuprofile` → pid 4668, thread 0. */
function processOf(file: string): { pid: number; thread: number } {
  const parts = file.split('.');
  return { pid: Number(parts[3] ?? 0), thread: Number(parts[4] ?? 0) };
}

/**
 * One profile from several: each process's tree under a common root, and their
 * samples laid end to end (processes that ran side by side appear one after the
 * other on the timeline; the time per function is unchanged).
 */
export function mergeProfiles(parts: readonly { pid: number; profile: CpuProfile }[]): CpuProfile {
  if (parts.length === 1) return structuredClone(parts[0]!.profile);
  const rootFrame: CallFrame = { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 };
  const merged: CpuProfile = { nodes: [{ id: 1, callFrame: rootFrame, hitCount: 0, children: [] }], startTime: 0, endTime: 0, samples: [], timeDeltas: [] };
  let nextId = 2;
  merged.startTime = parts[0]!.profile.startTime;
  let clock = merged.startTime;
  for (const { pid, profile } of parts) {
    const ids = new Map<number, number>();
    for (const node of profile.nodes) ids.set(node.id, nextId++);
    const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
    for (const node of profile.nodes) {
      const isRoot = !childIds.has(node.id);
      merged.nodes.push({
        ...node,
        id: ids.get(node.id)!,
        callFrame: isRoot ? { ...node.callFrame, functionName: `(process ${pid})` } : node.callFrame,
        children: (node.children ?? []).map((c) => ids.get(c)!),
      });
      if (isRoot) merged.nodes[0]!.children!.push(ids.get(node.id)!);
    }
    profile.samples.forEach((sample, i) => {
      const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
      merged.samples.push(ids.get(sample)!);
      merged.timeDeltas.push(delta);
      clock += delta;
    });
  }
  merged.endTime = clock;
  return merged;
}

type SourceMapLike = { findEntry(line: number, column: number): object };

/**
 * Rewrites call frames to the original sources: the pipeline's TypeScript (with
 * the source maps its processes saved) and corral's own `dist/*.js` and
 * `dist/corral.cjs` (with the `.map` beside each file, pointing at `src/*.ts`).
 */
export function mapSources(profile: CpuProfile, pipelineMaps: Readonly<Record<string, module.SourceMapPayload>>): void {
  const cache = new Map<string, SourceMapLike | null>();
  const mapFor = (url: string): SourceMapLike | null => {
    if (cache.has(url)) return cache.get(url)!;
    let found: SourceMapLike | null = null;
    try {
      const payload = pipelineMaps[url];
      if (payload) found = new module.SourceMap(payload);
      else if (url.startsWith('file:') && /\.c?js$/.test(url) && url.startsWith(pathToFileURL(path.join(CORRAL_ROOT, 'dist')).href)) {
        const mapFile = fileURLToPath(url) + '.map';
        if (fs.existsSync(mapFile)) {
          const raw = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as module.SourceMapPayload;
          const base = path.dirname(mapFile);
          found = new module.SourceMap({ ...raw, sources: raw.sources.map((s) => pathToFileURL(path.resolve(base, raw.sourceRoot ?? '', s)).href), sourceRoot: '' });
        }
      }
    } catch {
      found = null;
    }
    cache.set(url, found);
    return found;
  };
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    if (!frame.url || frame.lineNumber < 0) continue;
    const map = mapFor(frame.url);
    if (!map) continue;
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (entry.originalSource === undefined || entry.originalLine === undefined) continue;
    node.callFrame = { ...frame, url: entry.originalSource, lineNumber: entry.originalLine, columnNumber: entry.originalColumn ?? 0 };
    delete node.positionTicks;
  }
}

export type FunctionKind = 'pipeline' | 'corral' | 'dependency' | 'node' | 'system';

/** One function (by name and position) over the whole profile. */
export interface FunctionStat {
  readonly key: string;
  readonly name: string;
  readonly kind: FunctionKind;
  /** `iris/steps.ts:42` (pipeline), `corral/src/run/execute.ts:80`, `knex/lib/...`, `node:internal/...`. */
  readonly location: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

/** A node of the call tree as the page draws it. */
export interface TreeNode {
  readonly name: string;
  readonly kind: FunctionKind;
  readonly location: string;
  readonly key: string;
  readonly selfMs: number;
  readonly totalMs: number;
  readonly children: TreeNode[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly samples: number;
  readonly functions: readonly FunctionStat[];
  readonly tree: TreeNode;
}

const SYSTEM = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

export function classify(frame: CallFrame, pipelineDir: string): { kind: FunctionKind; location: string } {
  const { url } = frame;
  const line = frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : '';
  if (SYSTEM.has(frame.functionName) || /^\(process \d+\)$/.test(frame.functionName)) return { kind: 'system', location: '' };
  if (!url) return { kind: 'node', location: '(native)' };
  if (url.startsWith('node:')) return { kind: 'node', location: `${url}${line}` };
  let file: string;
  try {
    file = url.startsWith('file:') ? fileURLToPath(url) : url;
  } catch {
    return { kind: 'node', location: `${url}${line}` };
  }
  const inside = (dir: string) => file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
  if (inside(pipelineDir)) return { kind: 'pipeline', location: `${path.relative(path.dirname(pipelineDir), file).split(path.sep).join('/')}${line}` };
  // Corral before dependencies: a pipeline installs corral in its node_modules.
  const corralRoot = CORRAL_ROOT.endsWith(path.sep) ? CORRAL_ROOT.slice(0, -1) : CORRAL_ROOT;
  const corralModules = path.join(corralRoot, 'node_modules');
  if (inside(corralRoot) && !inside(corralModules)) return { kind: 'corral', location: `corral/${path.relative(corralRoot, file).split(path.sep).join('/')}${line}` };
  const modules = file.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  if (modules >= 0) return { kind: 'dependency', location: `${file.slice(modules + 14).split(path.sep).join('/')}${line}` };
  return { kind: 'node', location: `${file}${line}` };
}

/** Self and total time per function and per call-tree node. */
export function summarizeProfile(profile: CpuProfile, pipelineDir: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const deltas = profile.timeDeltas;
  const mean = deltas.length > 1 ? deltas.slice(1).reduce((a, b) => a + Math.max(0, b), 0) / (deltas.length - 1) : 0;
  profile.samples.forEach((id, i) => {
    // A sample stands for the time until the next one.
    const us = i + 1 < deltas.length ? Math.max(0, deltas[i + 1]!) : mean;
    self.set(id, (self.get(id) ?? 0) + us / 1000);
  });
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const roots = profile.nodes.filter((n) => !childIds.has(n.id));
  const stats = new Map<string, { name: string; kind: FunctionKind; location: string; selfMs: number; totalMs: number }>();
  const active = new Map<string, number>();

  const build = (node: ProfileNode): TreeNode => {
    const { kind, location } = classify(node.callFrame, pipelineDir);
    const name = node.callFrame.functionName || '(anonymous)';
    const key = `${name}\u0000${location}\u0000${node.callFrame.columnNumber}`;
    active.set(key, (active.get(key) ?? 0) + 1);
    const children = (node.children ?? []).map((id) => byId.get(id)).filter((n): n is ProfileNode => n !== undefined).map(build);
    active.set(key, active.get(key)! - 1);
    const selfMs = self.get(node.id) ?? 0;
    const totalMs = selfMs + children.reduce((sum, c) => sum + c.totalMs, 0);
    let stat = stats.get(key);
    if (!stat) stats.set(key, (stat = { name, kind, location, selfMs: 0, totalMs: 0 }));
    stat.selfMs += selfMs;
    // Recursion: count the time once, at the outermost call.
    if (active.get(key) === 0) stat.totalMs += totalMs;
    children.sort((a, b) => b.totalMs - a.totalMs);
    return { name, kind, location, key, selfMs, totalMs, children };
  };
  const built = roots.map(build);
  const tree: TreeNode =
    built.length === 1 ? built[0]! : { name: '(root)', kind: 'system', location: '', key: '(root)', selfMs: 0, totalMs: built.reduce((s, n) => s + n.totalMs, 0), children: built };
  const functions = [...stats.entries()].map(([key, s]) => ({ key, ...s })).sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: tree.totalMs, samples: profile.samples.length, functions, tree };
}

function table(rows: readonly FunctionStat[], totalMs: number): string[] {
  const nameWidth = Math.min(40, Math.max(8, ...rows.map((r) => r.name.length)));
  const lines = [`    ${'self ms'.padStart(9)} ${'self %'.padStart(7)} ${'total ms'.padStart(9)}  ${'function'.padEnd(nameWidth)}  location`];
  for (const r of rows) {
    const name = r.name.length > nameWidth ? r.name.slice(0, nameWidth - 1) + '…' : r.name;
    lines.push(
      `  ${r.kind === 'pipeline' ? '*' : ' '} ${r.selfMs.toFixed(1).padStart(9)} ${((r.selfMs / (totalMs || 1)) * 100).toFixed(1).padStart(6)}% ${r.totalMs.toFixed(1).padStart(9)}  ${name.padEnd(nameWidth)}  ${r.location}`,
    );
  }
  return lines;
}

/** The top functions by self time as text, the pipeline's marked with `*` (and listed apart when not in the top). */
export function formatTopFunctions(summary: ProfileSummary, count = 20): string {
  const lines: string[] = [];
  lines.push(`Top ${count} functions by self time, of ${summary.totalMs.toFixed(0)} ms sampled (* = the pipeline's code):`, '');
  const top = summary.functions.slice(0, count);
  lines.push(...table(top, summary.totalMs));
  const pipeline = summary.functions.filter((f) => f.kind === 'pipeline' && f.totalMs > 0);
  const missing = pipeline.filter((f) => !top.includes(f)).slice(0, 10);
  if (missing.length > 0) {
    lines.push('', 'The pipeline\'s own functions by self time:', '');
    lines.push(...table([...pipeline].sort((a, b) => b.selfMs - a.selfMs || b.totalMs - a.totalMs).slice(0, 10), summary.totalMs));
  } else if (pipeline.length === 0) {
    lines.push('', 'No function of the pipeline was sampled.');
  }
  return lines.join('\n') + '\n';
}

export interface ProfileServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the page at `/` and the raw profile at `/profile.cpuprofile` until closed. */
export function serveProfile(page: string, profileJson: string, options: { host: string; port: number }): Promise<ProfileServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (url.pathname === '/' || url.pathname === '/index.html') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
      } else if (url.pathname === '/favicon.ico') {
        response.writeHead(204).end();
      } else if (url.pathname === '/profile.cpuprofile') {
        response
          .writeHead(200, { 'content-type': 'application/json', 'content-disposition': 'attachment; filename="profile.cpuprofile"' })
          .end(profileJson);
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      }
    });
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new CorralError(`Cannot serve the profile on ${options.host}:${options.port}: ${error.message}`, {
          hint: error.code === 'EADDRINUSE' ? 'Choose another port with -p PORT (-p 0 picks a free one), or --no-serve' : undefined,
        }),
      );
    });
    server.listen(options.port, options.host, () => {
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${host}:${address.port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
