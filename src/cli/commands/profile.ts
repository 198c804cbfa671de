import fs from 'node:fs';
import path from 'node:path';
import { CommandError } from '../../core/errors.js';
import { profilePageHtml } from '../../docs/profile-page.js';
import { formatTopFunctions, profilePipeline, serveProfile, summarizeProfile } from '../../qa/profile.js';
import { packageDir } from '../../qa/source-files.js';
import { selectProcessors } from '../../run/registry.js';
import { defineCommand, envOf } from '../command-spec.js';
import { untilStopped } from '../until-stopped.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommandError(`--port takes a number from 0 to 65535, got '${value}'`);
  return port;
}

/** The options of `profile`, as `configure` declares them. */
type ProfileOptions = { run?: boolean; steps?: string[]; output?: string; serve: boolean; host: string; port: string; interval: string };

export const profile = defineCommand<ProfileOptions>({
  name: 'profile',
  summary: "Profile the CPU time of the pipeline's tests (or of a real run, --run): top functions, a .cpuprofile and an interactive page",
  mode: 'out',
  toolchain: ['vitest'],
  importsSources: true,
  configure(cmd) {
    cmd
      .option('--run', 'profile a real `run --sync` of steps on the production database instead of the tests')
      .option('-s, --steps <names...>', 'with --run: only these steps (default: every step)')
      .option('-o, --output <file>', 'write the .cpuprofile here (default: <pipeline>-profile.cpuprofile in the pipeline folder)')
      .option('--no-serve', 'do not serve the interactive page; only write the profile and print the summary')
      .option('-H, --host <host>', 'address to serve the page on', '127.0.0.1')
      .option('-p, --port <port>', 'port to serve the page on (0: any free port)', '8080')
      .option('--interval <microseconds>', 'sampling interval of the profiler', '200');
  },
  async handle(context, options) {
    const env = envOf(context);
    const settings = env.settings;
    const port = parsePort(String(options.port));
    const interval = Number(options.interval);
    if (!Number.isInteger(interval) || interval < 10) throw new CommandError(`--interval takes a whole number of microseconds (10 or more), got '${String(options.interval)}'`);
    if (options.steps && !options.run) throw new CommandError('--steps chooses what --run runs: add --run, or leave --steps out to profile the tests');
    const steps: string[] = options.run && options.steps ? selectProcessors(env.registry.steps, 'step', { names: options.steps }).map((s) => s.name) : [];
    if (options.run && env.registry.steps.length === 0) throw new CommandError('The pipeline has no steps to run', { hint: 'Profile its tests instead: leave --run out' });

    context.output.err(options.run ? `Profiling run --sync${steps.length ? ` of ${steps.join(', ')}` : ''}; please wait...\n` : 'Running the tests under the profiler; please wait...\n');
    const result = await profilePipeline(settings, { run: options.run ? { steps } : undefined, intervalUs: interval, output: context.output });
    if (result.exitCode !== 0) {
      context.output.err(`Warning: the profiled ${result.what} exited with code ${result.exitCode}; the profile covers what ran until then\n`);
    }
    const json = JSON.stringify(result.profile);
    const file: string = options.output ?? path.join(settings.root, `${settings.name}-profile.cpuprofile`);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, json);

    const summary = summarizeProfile(result.profile, packageDir(settings));
    context.output.out(formatTopFunctions(summary, 20));
    context.output.err(`\nWrote the CPU profile to ${file} (${result.processes} process${result.processes === 1 ? '' : 'es'}; open it in Chrome DevTools, Performance panel)\n`);
    if (options.serve === false) return 0;

    const what = result.what === 'tests' ? 'tests' : result.what;
    const page = profilePageHtml(summary, {
      title: `${settings.name}: ${what}`,
      subtitle: `${summary.totalMs.toFixed(0)} ms sampled every ${interval} µs in ${result.processes} process${result.processes === 1 ? '' : 'es'} (${summary.samples} samples)`,
      downloadHref: 'profile.cpuprofile',
    });
    const server = await serveProfile(page, json, { host: String(options.host), port });
    context.output.err(`Serving the profile at ${server.url} (press Ctrl-C to stop)\n`);
    const signal = await untilStopped();
    await server.close();
    context.output.err(`Stopped serving (${signal})\n`);
    return 0;
  },
});
