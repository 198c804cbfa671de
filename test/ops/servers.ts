/**
 * Real servers on loopback for the endpoint tests: an SMTP server (smtp-server) that
 * keeps what it receives and can refuse, and an HTTP server scripted per request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message as the SMTP server received it. */
export interface ReceivedMail {
  readonly mailFrom: string;
  readonly rcptTo: string[];
  readonly user: string | undefined;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface SmtpTestServer {
  readonly port: number;
  readonly mails: ReceivedMail[];
  /** Connections opened so far. */
  readonly connections: () => number;
  readonly logins: { username: string | undefined; password: string | undefined }[];
  /** Accept this many more messages, then answer 451 to the rest (undefined: accept all). */
  acceptOnly(count: number | undefined): void;
  /** Refuse for good (554) the messages whose raw text passes `test` (undefined: none). */
  rejectWhen(test: ((raw: string) => boolean) | undefined): void;
  close(): Promise<void>;
}

function parseMessage(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (headers['content-transfer-encoding'] === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    body = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

/** An SMTP server on 127.0.0.1 (no TLS) that wants `user`/`password` when given, and refuses recipients at `.invalid`. */
export async function startSmtpServer(auth?: { user: string; password: string }): Promise<SmtpTestServer> {
  const mails: ReceivedMail[] = [];
  const logins: SmtpTestServer['logins'] = [];
  let connections = 0;
  let budget: number | undefined;
  let rejects: ((raw: string) => boolean) | undefined;
  const server = new SMTPServer({
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !auth,
    logger: false,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    // Addresses at `.invalid` (RFC 2606) do not exist: refused for good.
    onRcptTo(address, _session, callback) {
      if (address.address.endsWith('.invalid')) callback(Object.assign(new Error(`No such user ${address.address}`), { responseCode: 550 }));
      else callback();
    },
    onAuth(login, _session, callback) {
      logins.push({ username: login.username ?? undefined, password: login.password ?? undefined });
      if (auth && login.username === auth.user && login.password === auth.password) callback(null, { user: login.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => {
        if (rejects?.(raw)) {
          callback(Object.assign(new Error('Message rejected as spam'), { responseCode: 554 }));
          return;
        }
        if (budget !== undefined) {
          if (budget <= 0) {
            const refusal = Object.assign(new Error('Mailbox busy, try later'), { responseCode: 451 });
            callback(refusal);
            return;
          }
          budget -= 1;
        }
        const envelope = session.envelope;
        mails.push({
          mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
          rcptTo: envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          ...parseMessage(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = ((server as unknown as { server: http.Server }).server.address() as AddressInfo).port;
  return {
    port,
    mails,
    logins,
    connections: () => connections,
    acceptOnly(count) {
      budget = count;
    },
    rejectWhen(test) {
      rejects = test;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * What the HTTP test server answers to one request: a status (and body); nothing
 * until the client gives up (`hang`); or 200, but only once the next request has
 * arrived (`late`: a server that accepted the request and answered after the
 * client's timeout, which the client's retry proves has passed).
 */
export type Reply = { status: number; body?: string } | 'hang' | 'late';

export interface HttpTestServer {
  readonly url: string;
  readonly port: number;
  /** Every request body, parsed as JSON, in arrival order (refused ones included). */
  readonly requests: { body: unknown; headers: http.IncomingHttpHeaders; status: number | 'hang' | 'late' }[];
  /** The answers to the next requests, in order; then `fallback`. */
  script(replies: Reply[], fallback?: Reply): void;
  /** Answers by the request instead (undefined: go on to the script), until set to undefined. */
  route(decide: ((body: unknown, headers: http.IncomingHttpHeaders) => Reply | undefined) | undefined): void;
  close(): Promise<void>;
}

export async function startHttpServer(): Promise<HttpTestServer> {
  let queue: Reply[] = [];
  let fallback: Reply = { status: 200, body: 'ok' };
  let router: Parameters<HttpTestServer['route']>[0];
  const requests: HttpTestServer['requests'] = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      // A new request: the late answers go out now (to clients that gave up on them).
      for (const late of held.splice(0)) if (!late.destroyed) late.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      const reply = router?.(body, req.headers) ?? queue.shift() ?? fallback;
      requests.push({ body, headers: req.headers, status: typeof reply === 'string' ? reply : reply.status });
      if (reply === 'hang') return;
      if (reply === 'late') held.push(res);
      else res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/secret-token`,
    port,
    requests,
    script(replies, otherwise) {
      queue = [...replies];
      if (otherwise) fallback = otherwise;
    },
    route(decide) {
      router = decide;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
