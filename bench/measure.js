/**
 * Timing and memory of child processes, and the statistics of repeated samples.
 * Every process is timed from spawn to exit by the benchmark's own clock, so
 * framework commands and bare `node` floors are measured the same way.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('./rss-probe.cjs', import.meta.url));

// What is running or left over, so that Ctrl-C can stop it before the temporary
// folders go (a corral command still running would write into them again).
const running = new Set();
const probeDirs = new Set();

/** Registers a child process for stopAll(). */
export function track(child) {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** SIGTERM to every child still running (corral stops after its chunk in flight), SIGKILL after 15 s; then removes the probe folders. */
export async function stopAll() {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const dir of probeDirs) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * The environment of a user's shell: nothing of ours (CORRAL_*, an outer
 * NODE_OPTIONS) leaks into the measured processes, and colours are off.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('CORRAL_') || key.startsWith('BENCH_') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/**
 * Runs `node <args>` and measures it: wall seconds (spawn → exit, process start
 * included) and the peak RSS of the process and of every Node process it forked.
 * The RSS probe is preloaded through NODE_OPTIONS, which forks inherit; it is the
 * same for floors and framework commands, so it costs both sides the same.
 */
export async function timeNode(args, { cwd, env = {}, check = true } = {}) {
  const rssDir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-bench-rss-'));
  probeDirs.add(rssDir);
  const childEnv = cleanEnv({ ...env, BENCH_RSS_DIR: rssDir, NODE_OPTIONS: `--require ${PROBE}` });
  try {
    const started = performance.now();
    const { code, stdout, stderr } = await new Promise((resolve, reject) => {
      const child = track(spawn(process.execPath, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] }));
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
      child.stderr.setEncoding('utf8').on('data', (s) => (err += s));
      child.on('error', reject);
      child.on('close', (exitCode, signal) => resolve({ code: exitCode ?? signal, stdout: out, stderr: err }));
    });
    const seconds = (performance.now() - started) / 1000;
    if (check && code !== 0) {
      // A PostgreSQL URL among the arguments (the raw programs take one) keeps its password to itself.
      const shown = args.join(' ').replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@');
      throw new Error(`node ${shown} (in ${cwd}) exited with ${code}\n--- stdout ---\n${stdout.slice(-3000)}\n--- stderr ---\n${stderr.slice(-3000)}`);
    }
    const processes = fs
      .readdirSync(rssDir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(fs.readFileSync(path.join(rssDir, file), 'utf8')))
      .sort((a, b) => a.pid - b.pid);
    const mb = processes.map((p) => p.maxRssKb / 1024);
    return {
      seconds,
      code,
      stdout,
      stderr,
      // The largest single process (what a memory limit per process sees) and the sum (an upper bound of the whole command).
      peakRssMb: mb.length ? Math.max(...mb) : null,
      totalRssMb: mb.reduce((a, b) => a + b, 0),
      processes: processes.map((p) => ({ pid: p.pid, ppid: p.ppid, rssMb: round(p.maxRssKb / 1024, 1), argv: p.argv })),
    };
  } finally {
    fs.rmSync(rssDir, { recursive: true, force: true });
    probeDirs.delete(rssDir);
  }
}

export function round(value, digits = 3) {
  if (value === null || value === undefined || !Number.isFinite(value)) return value ?? null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Linear-interpolated quantile of sorted numbers. */
function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, min, max and interquartile range of samples (nulls ignored). */
export function stats(samples) {
  const values = samples.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (values.length === 0) return null;
  return {
    n: values.length,
    median: quantile(values, 0.5),
    min: values[0],
    max: values[values.length - 1],
    q1: quantile(values, 0.25),
    q3: quantile(values, 0.75),
  };
}
