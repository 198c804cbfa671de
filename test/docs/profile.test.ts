/**
 * `profile` on a scaffolded pipeline whose step burns CPU in a function of its
 * own: the tests, or a real run, under V8's profiler; the .cpuprofile, the top
 * functions, and the page served and opened in headless Chromium.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { mergeProfiles, summarizeProfile, type CpuProfile } from '../../src/qa/profile.js';
import { describeBrowser, launchBrowser } from '../helpers/browser.js';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { examples, PROCESSED_EXAMPLES, resetPipeline } from '../helpers/scaffold-state.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-profile-');
let pipe: ScaffoldedPipeline;
/** The 1-based line of `export function burnCpu` in the pipeline's steps.ts. */
let burnLine: number;

const BURN = `
/** Keeps the CPU busy for \`ms\` milliseconds, so that no profiler can miss it. */
export function burnCpu(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}
`;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'profpipe');
  pipe.edit('steps.ts', /process\(row: Example\) \{/, 'process(row: Example) {\n    burnCpu(150);');
  fs.appendFileSync(pipe.file('steps.ts'), BURN);
  burnLine = fs.readFileSync(pipe.file('steps.ts'), 'utf8').split('\n').findIndex((line) => line.startsWith('export function burnCpu')) + 1;
  expect(burnLine).toBeGreaterThan(0);
});

function parseProfile(file: string): CpuProfile {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  expect(Array.isArray(profile.nodes)).toBe(true);
  expect(profile.samples.length).toBeGreaterThan(0);
  expect(profile.timeDeltas).toHaveLength(profile.samples.length);
  const ids = new Set(profile.nodes.map((n) => n.id));
  expect(profile.samples.every((id) => ids.has(id))).toBe(true);
  return profile;
}

describe('profile --no-serve', () => {
  test('when the tests are profiled then a .cpuprofile that parses is written, mapped to the TypeScript lines, and the top functions are printed', async () => {
    const file = path.join(tempDir(), 'out', 'tests.cpuprofile');
    const result = await pipe.cli(['profile', '--no-serve', '-o', file]);
    expectExit(result, 0);
    expect(result.stderr).toContain(`Wrote the CPU profile to ${file}`);
    expect(result.stderr).not.toContain('Serving');
    const profile = parseProfile(file);
    const burn = profile.nodes.find((n) => n.callFrame.functionName === 'burnCpu');
    expect(burn, 'burnCpu in the profile').toBeDefined();
    expect(burn!.callFrame.url).toBe(new URL(`file://${pipe.file('steps.ts')}`).href);
    expect(burn!.callFrame.lineNumber + 1).toBe(burnLine);
    // The summary: a header, then rows; the pipeline's functions marked with '*'.
    expect(result.stdout).toMatch(/^Top 20 functions by self time, of \d+ ms sampled/);
    expect(result.stdout).toMatch(new RegExp(`^ {2}\\* +\\d+\\.\\d +\\d+\\.\\d% +\\d+\\.\\d +burnCpu +profpipe/steps\\.ts:${burnLine}$`, 'm'));
  });
});

// The served page is checked in a browser: without one, this part is skipped.
describeBrowser('profile --run, served', () => {
  test('when a real run is profiled then the page is served, shows the step\'s functions in Chromium, and Ctrl-C stops it with exit code 0', async () => {
    resetPipeline(pipe);
    expectExit(await pipe.cli(['createdb', '--noinput']), 0);
    expectExit(await pipe.cli(['load']), 0);
    const file = path.join(tempDir(), 'run.cpuprofile');
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
    for (const key of Object.keys(env)) if (/^(VITEST|VITE_|CORRAL_|NODE_OPTIONS$)/.test(key)) delete env[key];
    const child = spawn(process.execPath, ['in_corral.js', 'profile', '--run', '-s', 'MyStep', '-p', '0', '-o', file], { cwd: pipe.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL after 90 s:\n${stderr}`)), 90_000);
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const match = /Serving the profile at (http:\/\/127\.0\.0\.1:\d+\/) \(press Ctrl-C to stop\)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      void exited.then((code) => reject(new Error(`profile exited (${String(code)}) before serving:\n${stdout}\n${stderr}`)));
    });
    try {
      // The run was real: the step processed the rows of the production database.
      expect(examples(pipe)).toEqual(PROCESSED_EXAMPLES);
      expect(stdout).toContain('burnCpu');
      parseProfile(file);
      const raw = (await (await fetch(new URL('profile.cpuprofile', url))).json()) as CpuProfile;
      expect(raw.nodes.some((n) => n.callFrame.functionName === 'burnCpu')).toBe(true);

      const browser = await launchBrowser();
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(url);
        await expect.poll(() => page.locator('#functions tbody tr').count()).toBeGreaterThan(0);
        // The default view is the pipeline's processors at work, not module loading: the
        // table lists the step's own function first (by total time), and the call tree
        // opens on the processors.
        expect(await page.isChecked('#only-pipeline')).toBe(true);
        const first = page.locator('#functions tbody tr').first();
        expect(await first.getAttribute('class')).toBe('pipeline');
        expect(await first.locator('td').first().innerText()).toBe('process');
        expect(await first.locator('td.loc').innerText()).toMatch(/^profpipe\/steps\.ts:\d+$/);
        const shown = await page.locator('#functions tbody tr td.loc').allInnerTexts();
        expect(shown.every((loc) => loc.startsWith('profpipe/'))).toBe(true);
        expect(await page.locator('#crumbs').innerText()).toContain("The pipeline's processors at work");
        // The table: the pipeline's functions, marked, with their TypeScript location.
        await page.check('#only-pipeline');
        const burnRow = page.locator('#functions tbody tr.pipeline', { hasText: 'burnCpu' });
        await expect.poll(() => burnRow.count()).toBe(1);
        expect(await burnRow.innerText()).toContain(`profpipe/steps.ts:${burnLine}`);
        expect(await page.locator('#functions tbody tr.pipeline', { hasText: 'process' }).count()).toBeGreaterThan(0);
        // The call tree: searching highlights the function; hovering tells where it is.
        await page.fill('#search', 'burnCpu');
        const bar = page.locator('.bar.match').first();
        await bar.hover();
        await expect.poll(() => page.locator('#tip').innerText()).toContain(`profpipe/steps.ts:${burnLine}`);
        // Sorting by name puts the table in alphabetical order.
        await page.uncheck('#only-pipeline');
        await page.click('#functions th[data-key="name"]');
        const names = await page.locator('#functions tbody tr td:first-child').allInnerTexts();
        expect(names.slice(0, 20)).toEqual([...names.slice(0, 20)].sort((a, b) => a.localeCompare(b)));
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('Stopped serving (SIGINT)');
  });
});

describe('profile data', () => {
  const frame = (functionName: string, url = 'file:///p/pipe/steps.ts', lineNumber = 3) => ({ functionName, scriptId: '1', url, lineNumber, columnNumber: 0 });

  test('when a function calls itself then its total time is counted once, and self times add up to the sampled time', () => {
    // root → a → a → b; samples: a, a(inner), b, b; 1 ms apart.
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2] },
        { id: 2, callFrame: frame('a'), children: [3] },
        { id: 3, callFrame: frame('a'), children: [4] },
        { id: 4, callFrame: frame('b', 'file:///p/pipe/other.ts', 9), children: [] },
      ],
      startTime: 0,
      endTime: 4000,
      samples: [2, 3, 4, 4],
      timeDeltas: [0, 1000, 1000, 1000],
    };
    const summary = summarizeProfile(profile, '/p/pipe');
    expect(summary.totalMs).toBeCloseTo(4);
    const a = summary.functions.find((f) => f.name === 'a')!;
    expect(a).toMatchObject({ kind: 'pipeline', location: 'pipe/steps.ts:4' });
    expect(a.selfMs).toBeCloseTo(2);
    expect(a.totalMs).toBeCloseTo(4);
    expect(summary.functions.find((f) => f.name === 'b')!.selfMs).toBeCloseTo(2);
  });

  test('when two processes are merged then both trees hang under one root and every sample is kept', () => {
    const one: CpuProfile = { nodes: [{ id: 1, callFrame: frame('(root)', '', -1), children: [2] }, { id: 2, callFrame: frame('x'), children: [] }], startTime: 10, endTime: 30, samples: [2, 2], timeDeltas: [5, 10] };
    const two: CpuProfile = { nodes: [{ id: 1, callFrame: frame('(root)', '', -1), children: [2] }, { id: 2, callFrame: frame('y'), children: [] }], startTime: 20, endTime: 40, samples: [2], timeDeltas: [7] };
    const merged = mergeProfiles([
      { pid: 11, profile: one },
      { pid: 12, profile: two },
    ]);
    expect(merged.nodes[0]!.callFrame.functionName).toBe('(root)');
    expect(merged.nodes[0]!.children).toHaveLength(2);
    expect(merged.nodes.map((n) => n.callFrame.functionName)).toEqual(['(root)', '(process 11)', 'x', '(process 12)', 'y']);
    expect(merged.samples).toHaveLength(3);
    expect(merged.timeDeltas).toEqual([5, 10, 7]);
    expect(new Set(merged.nodes.map((n) => n.id)).size).toBe(merged.nodes.length);
  });
});
