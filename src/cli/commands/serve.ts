import { CommandError } from '../../core/errors.js';
import { pipelineLineage } from '../../docs/lineage.js';
import { allModels, requireTables } from '../../run/environment.js';
import { learnedWrites } from '../../db/bookkeeping/wrote.js';
import { openReadEngine } from '../../serve/read-engine.js';
import { startStatusServer } from '../../serve/server.js';
import { defineCommand, envOf } from '../command-spec.js';
import { untilStopped } from '../until-stopped.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommandError(`--port takes a number from 0 to 65535, got '${value}'`);
  return port;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The options of `serve`, as `configure` declares them. */
type ServeOptions = { port: string; host: string; allowActions?: boolean; interval: string };

export const serve = defineCommand<ServeOptions>({
  name: 'serve',
  summary: 'Serve a live status page on 127.0.0.1: backlogs, workers, the lineage coloured by state, failed rows and run history',
  mode: 'in',
  configure(cmd) {
    cmd
      .option('-p, --port <port>', 'port to listen on (0: any free port; the URL is printed)', '8790')
      .option('-H, --host <host>', 'address to listen on; anything but loopback makes the page reachable from the network', '127.0.0.1')
      .option('--allow-actions', 'let the page retry and clear failed rows (POST); without it the page is read-only and refuses them (403)')
      .option('--interval <seconds>', 'how often the page is refreshed while open', '2')
      .addHelpText(
        'after',
        `
The page reads the pipeline's database with short queries and never takes its
write lock (SQLite) nor holds a lock a worker waits for (PostgreSQL: statement and
lock timeouts). It shows stale or dead workers but does not end them (status does).
It runs until Ctrl-C (exit code 130) or SIGTERM (exit code 0).`,
      );
  },
  async handle(context, options) {
    const env = envOf(context);
    const port = parsePort(String(options.port));
    const host = String(options.host);
    const interval = Number(options.interval);
    if (!Number.isFinite(interval) || interval < 0.2) throw new CommandError(`--interval takes seconds (0.2 or more), got '${String(options.interval)}'`);
    await requireTables(env.engine!, allModels(env.settings));
    const reader = await openReadEngine(env.connection!, env.settings.leaseSeconds, env.logger);
    try {
      const server = await startStatusServer({
        host,
        port,
        reader,
        writer: env.engine!,
        settings: env.settings,
        registry: env.registry,
        lineage: async () => pipelineLineage(env.settings, env.registry, await learnedWrites(reader)),
        allowActions: Boolean(options.allowActions),
        intervalMs: interval * 1000,
        logger: env.logger,
      }).catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new CommandError(`Port ${port} on ${host} is in use`, { hint: 'Choose another with --port, or --port 0 for any free one' });
        throw error;
      });
      if (!LOOPBACK.has(host)) context.output.err(`Warning: listening on ${host}: the page is reachable from other machines\n`);
      context.output.err(`Serving the status page of ${env.settings.name} at ${server.url} (${options.allowActions ? 'retry and clear allowed' : 'read-only'}; press Ctrl-C to stop)\n`);
      const signal = await untilStopped();
      await server.close();
      context.output.err(`Stopped serving (${signal})\n`);
      return signal === 'SIGINT' ? 130 : 0;
    } finally {
      await reader.destroy();
    }
  },
});
