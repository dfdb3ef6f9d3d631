import { request as httpRequest, createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * The two small HTTP pieces a cluster test puts between processes (test support only, not product code):
 * - `startBalancer`: a round-robin load balancer in front of the instances' public listeners, the one webhook URL every
 *   sandbox delivers to. A backend that refuses the connection (killed, not started yet) is skipped; one that dies while
 *   answering gets the sender a 502, so the sender retries as it would against a real balancer.
 * - `startRecorder`: a pass-through proxy in front of one vendor API for one instance, logging every request it
 *   forwards (method, path, body of writes, timing). One recorder per instance and vendor is how a test tells which
 *   instance wrote what and which one holds the Salesforce CDC subscription or follows Dataverse change tracking.
 * Both forward method, path, headers (Host included, so the sandboxes build their links on the proxy's address) and body.
 */

export interface Balancer {
  url: string;
  /** Requests answered by each backend, by index. */
  readonly served: number[];
  /** Every request the balancer received (webhook deliveries), oldest first, with when it arrived. */
  readonly received: { method: string; path: string; body: string; at: number }[];
  close(): Promise<void>;
}

/** `backends()` is read per request, so a restarted instance on a new port is picked up. */
export async function startBalancer(backends: () => string[]): Promise<Balancer> {
  let next = 0;
  const served: number[] = [];
  const received: Balancer['received'] = [];
  const server = createServer((req, res) => {
    const at = Date.now();
    void readBody(req).then(async (body) => {
      received.push({ method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8'), at });
      const targets = backends();
      for (let tried = 0; tried < targets.length; tried++) {
        const index = next++ % targets.length;
        const target = targets[index];
        if (!target) continue;
        const outcome = await forward(req, body, target, res);
        if (outcome === 'refused') continue;
        if (outcome === 'answered') served[index] = (served[index] ?? 0) + 1;
        return;
      }
      if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('no instance accepted the connection');
    });
  });
  return listen(server, (url) => ({ url, served, received, close: () => closeServer(server) }));
}

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  path: string;
  /** Request body (text); empty for GET. */
  body: string;
  /** The Prefer header (Dataverse change tracking asks `odata.track-changes`). */
  prefer: string;
  startedAt: number;
  endedAt: number | undefined;
  status: number | undefined;
}

export interface Recorder {
  url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecorder(target: string): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then(async (body) => {
      const entry: RecordedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        body: body.toString('utf8'),
        prefer: headerText(req.headers.prefer),
        startedAt: Date.now(),
        endedAt: undefined,
        status: undefined,
      };
      requests.push(entry);
      res.once('close', () => {
        entry.endedAt = Date.now();
        entry.status = res.statusCode;
      });
      const outcome = await forward(req, body, target, res);
      if (outcome === 'refused' && !res.headersSent) {
        res.writeHead(502);
        res.end();
      }
    });
  });
  return listen(server, (url) => ({ url, requests, close: () => closeServer(server) }));
}

type Outcome = 'answered' | 'refused' | 'failed';

/** Sends the buffered request to `target` and pipes the answer back; 'refused' when nothing reached the backend. */
function forward(req: IncomingMessage, body: Buffer, target: string, res: ServerResponse): Promise<Outcome> {
  return new Promise((resolve) => {
    const url = new URL(req.url ?? '/', target);
    const headers: OutgoingHttpHeaders = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    delete headers['transfer-encoding'];
    if (body.length > 0 || headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
    const upstream = httpRequest(url, { method: req.method, headers });
    let connected = false;
    upstream.once('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    upstream.once('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.once('end', () => resolve('answered'));
      answer.once('error', () => {
        res.destroy();
        resolve('failed');
      });
    });
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (!connected && error.code === 'ECONNREFUSED') return resolve('refused');
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`backend failed: ${error.code ?? error.message}`);
      } else {
        res.destroy();
      }
      resolve('failed');
    });
    // The client gave up (a killed instance's long poll): drop the upstream request too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', () => resolve(Buffer.concat(chunks)));
  });
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

function listen<T>(server: Server, make: (url: string) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(make(`http://127.0.0.1:${port}`));
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
