/**
 * Starts and stops the heartbeat thread of a processor run (heartbeat-thread.ts) and
 * logs what it reports. PostgreSQL only: there the heartbeat is the lease, and a
 * worker that misses it is ended by others (lease.ts). On SQLite the OS releases a
 * dead process's lock, and a thread could not write while the main thread's chunk
 * holds the file's write lock anyway, so the main thread beats between chunks.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../core/logger.js';
import type { Engine } from '../db/engine.js';
import type { HeartbeatData, HeartbeatMessage } from './heartbeat-thread.js';
import { endedMessage, warnOnce } from '../db/bookkeeping/lease.js';

/** A quarter of the lease, between 0.25 s and 15 s: four beats may be missed before the lease runs out. */
export function beatIntervalMs(leaseSeconds: number): number {
  return Math.min(15_000, Math.max(250, Math.round((leaseSeconds * 1000) / 4)));
}

// The compiled thread (dist/run/heartbeat-thread.js). Under vite (corral's unit tests
// import src/) there is no .js beside this module: those runs beat between chunks.
const THREAD_FILE = fileURLToPath(new URL('./heartbeat-thread.js', import.meta.url));

/** The running heartbeat thread of one run. */
export class HeartbeatThread {
  private constructor(private readonly worker: Worker) {}

  /**
   * Starts beating for run `runId`, or returns undefined (logged) when it cannot: not
   * PostgreSQL, no compiled thread, or a connection setting a thread cannot receive
   * (a function); the main thread's beat between chunks then remains.
   */
  static start(engine: Engine, runId: number, leaseSeconds: number, logger: Logger): HeartbeatThread | undefined {
    const session = engine.session;
    if (!session || !fs.existsSync(THREAD_FILE)) return undefined;
    const beatMs = beatIntervalMs(leaseSeconds);
    const data: HeartbeatData = {
      runId,
      connection: session.connection,
      searchPath: session.searchPath,
      sessionName: session.name,
      setupSql: session.setupSql,
      beatMs,
      peerCheckMs: Math.max(beatMs, leaseSeconds * 1000),
      leaseSeconds,
      startedAt: performance.timeOrigin + performance.now(),
    };
    let worker: Worker;
    try {
      // Taken here, not imported: only PostgreSQL runs have a heartbeat, and node:worker_threads costs every process a few ms.
      const { Worker } = process.getBuiltinModule('node:worker_threads');
      worker = new Worker(THREAD_FILE, { workerData: data, stdout: false, stderr: false });
    } catch (error) {
      warnOnce(
        logger,
        `No heartbeat thread (${(error as Error).message}): the heartbeat is written between chunks only, so a chunk longer than leaseSeconds (${leaseSeconds} s) can be ended by another process. Give \`connection\` as a URL or a plain object.`,
      );
      return undefined;
    }
    // Never what keeps a process alive: the run's end stops it, and an exit ends it anyway.
    worker.unref();
    worker.on('message', (message: HeartbeatMessage) => {
      switch (message.type) {
        case 'ready':
          logger.debug(`Heartbeat thread beating every ${beatMs} ms, ${message.ms} ms after its start`);
          break;
        case 'warn':
          logger.warn(message.message);
          break;
        case 'refused':
          warnOnce(logger, message.message);
          break;
        case 'ended':
          for (const worker of message.workers) logger.warn(endedMessage(worker, leaseSeconds));
          break;
        case 'declared-dead':
          logger.warn(
            `Another process declared this run dead (its heartbeat was older than leaseSeconds, ${leaseSeconds} s) and ended its sessions; its chunk in flight is rolled back. Was the process stopped or the machine overloaded?`,
          );
          break;
      }
    });
    worker.on('error', (error) => warnOnce(logger, `The heartbeat thread failed: ${error.message}`));
    return new HeartbeatThread(worker);
  }

  /** Ends the thread (its session closes); the run's final record is written after. */
  stop(): void {
    this.worker.removeAllListeners('message');
    this.worker.postMessage('stop');
  }
}
