import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Exactly the bytes on the wire: what a signature must be verified against. */
  rawBody: Buffer;
  json: unknown;
  receivedAt: number;
}

export interface ReceiverResponse {
  status: number;
  body?: string;
  delayMs?: number;
}

/** A real HTTP endpoint standing in for the product's webhook receiver; scriptable per request. */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  url = '';
  respond: (request: ReceivedRequest, index: number) => ReceiverResponse = () => ({ status: 200, body: 'ok' });
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(rawBody.toString('utf8'));
        } catch {
          json = undefined;
        }
        const received: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawBody, json, receivedAt: Date.now() };
        const index = this.requests.length;
        this.requests.push(received);
        const response = this.respond(received, index);
        const send = (): void => {
          if (!res.destroyed) res.writeHead(response.status, { 'content-type': 'text/plain' }).end(response.body ?? '');
        };
        if (response.delayMs) setTimeout(send, response.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/webhooks/partner-center`;
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.respond = () => ({ status: 200, body: 'ok' });
  }

  events(): Array<{ EventName: string; ResourceUri: string }> {
    return this.requests.map((request) => request.json as { EventName: string; ResourceUri: string });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
