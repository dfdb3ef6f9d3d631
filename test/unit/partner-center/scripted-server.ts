import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a scripted step answers: a response, a dropped connection, or a response after a delay. */
export type ScriptedReply =
  | { status: number; body?: unknown; rawBody?: string; headers?: Record<string, string>; delayMs?: number }
  | 'reset';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (request: RecordedRequest, index: number) => ScriptedReply;

export interface ScriptedServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on an ephemeral port. Pass a list of replies (served in order; the last repeats) or a function.
 */
export async function startScriptedServer(script: ScriptedReply[] | Responder): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const respond: Responder = Array.isArray(script)
    ? (_request, index) => {
        const reply = script[Math.min(index, script.length - 1)];
        if (reply === undefined) throw new Error('empty script');
        return reply;
      }
    : script;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      const index = requests.length;
      requests.push(recorded);
      const reply = respond(recorded, index);
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      const send = () => {
        const text = reply.rawBody ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
        const headers: Record<string, string> = { ...reply.headers };
        if (text !== '' && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
          headers['content-type'] = 'application/json';
        }
        res.writeHead(reply.status, headers);
        res.end(text);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on, for connection-refused cases. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
