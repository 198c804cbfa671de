/**
 * A loopback TCP proxy in front of the test PostgreSQL server, to fail the network
 * of one pipeline without touching the shared server:
 *
 *     const proxy = await startTcpProxy(5432);
 *     pipe.edit(... proxy.url(database.url) ...);
 *     proxy.down('reset');   // every connection reset; new ones accepted and closed at once (a server restarting)
 *     proxy.down('refuse');  // every connection reset; nothing listens (ECONNREFUSED: a server that is gone)
 *     await proxy.up();      // connections go through again
 */
import net from 'node:net';

export type DownMode = 'reset' | 'refuse';

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string;
  /** Resets every open connection, and turns new ones away until `up`. */
  down(mode: DownMode): Promise<void>;
  up(): Promise<void>;
  /** Connections accepted and closed at once while down in 'reset' mode. */
  readonly turnedAway: number;
  /** Connections forwarded to the server so far. */
  readonly forwarded: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let mode: DownMode | undefined;
  let turnedAway = 0;
  let forwarded = 0;

  const server = net.createServer((client) => {
    if (mode) {
      turnedAway += 1;
      client.resetAndDestroy();
      return;
    }
    forwarded += 1;
    const upstream = net.connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;

  const resetAll = () => {
    for (const socket of open) socket.resetAndDestroy();
    open.clear();
  };

  return {
    port,
    url(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    async down(newMode) {
      mode = newMode;
      resetAll();
      if (newMode === 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async up() {
      const wasListening = server.listening;
      mode = undefined;
      if (!wasListening) await listen(port);
    },
    get turnedAway() {
      return turnedAway;
    },
    get forwarded() {
      return forwarded;
    },
    async close() {
      mode = 'refuse';
      resetAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
