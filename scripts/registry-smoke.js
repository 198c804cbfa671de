#!/usr/bin/env node
// The first hour of a user who installs corral from a registry, on a private registry
// on loopback: verdaccio 6.8.0 (through npx; 6.10 needs Node 22) with a temporary
// storage, corral published to it, every other package proxied from the public npm
// registry. Then, in a temporary folder, as a user would:
//   npx corral create mypipe; npm install --omit=dev     (a server: runtime only)
//   node in_corral.js createdb --noinput; run-all        (work)
//   node in_corral.js test                               (says what to install)
//   npm install; test; qareport                          (a developer: work)
// and the size of both installs. Takes several minutes (better-sqlite3 is compiled
// twice: once for npx, once for the pipeline). Usage: node scripts/registry-smoke.js [--keep]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const VERDACCIO = 'verdaccio@6.8.0';
const keep = process.argv.includes('--keep');
const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const toolchain = ['@eslint/js', '@types/node', 'c8', 'eslint', 'typescript', 'typescript-eslint', 'vitest'];
const started = Date.now();

function say(text) {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
}

function fail(text) {
  throw new Error(text);
}

/** A port nobody listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to its end; returns { code, stdout, stderr }. */
function run(command, args, { cwd, env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function mustRun(command, args, options) {
  const result = await run(command, args, options);
  if (result.code !== 0) fail(`${command} ${args.join(' ')} exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Installed packages (node_modules/.package-lock.json) and the size of node_modules in MB. */
function installSize(dir) {
  const hidden = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', '.package-lock.json'), 'utf8'));
  let bytes = 0;
  const walk = (folder) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) bytes += fs.statSync(full).size;
    }
  };
  walk(path.join(dir, 'node_modules'));
  return { packages: Object.keys(hidden.packages).length, megabytes: Math.round(bytes / 1e6) };
}

async function waitForRegistry(url, verdaccio) {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (verdaccio.exitCode !== null) fail(`verdaccio exited with ${verdaccio.exitCode}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  fail(`verdaccio did not answer on ${url} within 5 minutes`);
}

async function main() {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'corral-registry-')));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const upstream = 'https://registry.npmjs.org/';
  fs.writeFileSync(
    path.join(tmp, 'config.yaml'),
    [
      `storage: ${path.join(tmp, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${path.join(tmp, 'htpasswd')}`,
      'uplinks:',
      '  npmjs:',
      `    url: ${upstream}`,
      'packages:',
      // corral itself only from here: never the public package of that name.
      "  'corral':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: npmjs',
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  // npm sees only this registry, a fresh cache (so npx takes corral from here) and no npm_* of a calling npm.
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  Object.assign(env, { npm_config_userconfig: path.join(tmp, 'npmrc'), npm_config_cache: path.join(tmp, 'npm-cache'), npm_config_update_notifier: 'false' });

  say(`starting ${VERDACCIO} on ${url} (storage ${tmp}/storage)`);
  const verdaccio = spawn('npx', ['-y', VERDACCIO, '--config', path.join(tmp, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
    env: { ...env, npm_config_cache: path.join(tmp, 'verdaccio-cache') },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  const stopRegistry = () => {
    try {
      process.kill(-verdaccio.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  try {
    await waitForRegistry(url, verdaccio);
    const user = await fetch(`${url}-/user/org.couchdb.user:smoke`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'smoke', password: 'smoke-password' }),
    });
    if (!user.ok) fail(`verdaccio refused the user: ${user.status} ${await user.text()}`);
    const { token } = await user.json();
    // The user's own npm settings stay (nodedir, cafile…); only the registry and its token are added.
    const userConfig = (await mustRun('npm', ['config', 'get', 'userconfig'], { cwd: tmp, env: process.env })).stdout.trim();
    const own = fs.existsSync(userConfig) ? fs.readFileSync(userConfig, 'utf8').replace(/^registry\s*=.*$/gm, '') : '';
    fs.writeFileSync(path.join(tmp, 'npmrc'), `${own}\nregistry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\nfund=false\naudit=false\n`);

    say(`npm publish (builds corral ${manifest.version})`);
    await mustRun('npm', ['publish'], { cwd: REPO_ROOT, env });

    const work = path.join(tmp, 'work');
    fs.mkdirSync(work);
    say('npx corral create mypipe');
    await mustRun('npx', ['-y', 'corral', 'create', 'mypipe'], { cwd: work, env });
    const pipe = path.join(work, 'mypipe');
    const pipeManifest = JSON.parse(fs.readFileSync(path.join(pipe, 'package.json'), 'utf8'));
    if (pipeManifest.dependencies.corral !== `^${manifest.version}`) fail(`the scaffold depends on corral ${pipeManifest.dependencies.corral}`);

    say('npm install --omit=dev');
    await mustRun('npm', ['install', '--omit=dev'], { cwd: pipe, env });
    const runtime = installSize(pipe);
    const present = toolchain.filter((name) => fs.existsSync(path.join(pipe, 'node_modules', name)));
    if (present.length) fail(`--omit=dev installed the QA toolchain: ${present.join(', ')}`);
    say(`runtime-only install: ${runtime.packages} packages, ${runtime.megabytes} MB`);
    const cli = (args) => run(process.execPath, ['in_corral.js', ...args], { cwd: pipe, env });
    for (const args of [['createdb', '--noinput'], ['run-all'], ['status']]) {
      const result = await cli(args);
      if (result.code !== 0) fail(`${args.join(' ')} failed in the runtime-only install:\n${result.stdout}${result.stderr}`);
      say(`node in_corral.js ${args.join(' ')}: ok`);
    }
    const noTools = await cli(['test']);
    if (noTools.code === 0 || !/^Error: 'test' needs the QA toolchain.*\n {2}.*npm install --save-dev .*vitest@/.test(noTools.stderr)) {
      fail(`test without the toolchain did not say what to install:\n${noTools.stderr}`);
    }
    say(`node in_corral.js test without the toolchain: ${noTools.stderr.split('\n')[0]}`);

    say('npm install (with devDependencies)');
    await mustRun('npm', ['install'], { cwd: pipe, env });
    const full = installSize(pipe);
    say(`full install: ${full.packages} packages, ${full.megabytes} MB`);
    for (const args of [['test'], ['qareport', '-o', 'qa.md']]) {
      const result = await cli(args);
      if (result.code !== 0) fail(`${args.join(' ')} failed in the full install:\n${result.stdout}${result.stderr}`);
      say(`node in_corral.js ${args.join(' ')}: ok`);
    }
    say(`passed. Sizes: runtime only ${runtime.packages} packages / ${runtime.megabytes} MB; with the QA toolchain ${full.packages} packages / ${full.megabytes} MB`);
  } finally {
    stopRegistry();
    if (keep) say(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
