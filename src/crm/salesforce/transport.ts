import { PassThrough, Readable } from 'node:stream';
import type { Connection, HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce';
import { request } from 'undici';
import { outboundDispatcher, outboundTimeouts } from '../../http/outbound.ts';
import { describeTimeout, phaseLimit, timeoutPhaseOf } from '../../http/timeout-phase.ts';

/*
 * jsforce's own transport is node-fetch 2 behind https-proxy-agent: it reads HTTPS_PROXY but not NO_PROXY, has no
 * connect or headers limit of its own, and reports a timeout as "aborted due to timeout of 10 minutes" whatever the
 * limit was. The connection's requests go through the shared undici dispatcher instead (the proxy rules, connect /
 * headers / body limits), and a timeout names the host and the phase. jsforce hands the transport absolute URLs and
 * expects `{ statusCode, headers, body }` with the body as text (its HttpApi parses it by content type).
 */

/** What a timed-out request rejects with; `code` is what the retry policy counts as a timeout. */
export class SalesforceTimeoutError extends Error {
  override readonly name = 'SalesforceTimeoutError';
  readonly code = 'timeout';
}

type HttpRequestFn = Connection['_transport']['httpRequest'];

/** Replaces the connection's transport function; `defaultTimeoutMs` applies when a request names none. */
export function useUndiciTransport(conn: Connection, defaultTimeoutMs: number): void {
  const transport = conn._transport;
  const send = (req: HttpRequest, options?: HttpRequestOptions): Promise<HttpResponse> => sendRequest(req, options?.timeout ?? defaultTimeoutMs);
  transport.httpRequest = ((req: HttpRequest, options?: HttpRequestOptions) => {
    const promise = send(req, options);
    // jsforce's HttpApi asks every transport promise for its stream; the connector's JSON calls never read it, so
    // streamed responses (`.stream()`) are not supported through this transport.
    return Object.assign(promise, { stream: () => new PassThrough() });
  }) as unknown as HttpRequestFn;
}

async function sendRequest(req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  const url = new URL(req.url);
  const timeout = AbortSignal.timeout(timeoutMs);
  let pending: 'headers' | 'body' = 'headers';
  try {
    const response = await request(url, {
      method: req.method,
      headers: req.headers ?? {},
      body: bodyOf(req.body),
      signal: timeout,
      dispatcher: outboundDispatcher(),
    });
    pending = 'body';
    const body = await response.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { statusCode: response.statusCode, headers, body };
  } catch (error) {
    const phase = timeoutPhaseOf(error);
    if (phase !== undefined) throw new SalesforceTimeoutError(describeTimeout('salesforce', url, phase, phaseLimit(phase, outboundTimeouts())), { cause: error });
    if (timeout.aborted) throw new SalesforceTimeoutError(describeTimeout('salesforce', url, pending, timeoutMs), { cause: error });
    throw error;
  }
}

function bodyOf(body: HttpRequest['body']): string | Buffer | Readable | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Readable) return body;
  // A multipart FormData or a foreign stream: none of the connector's calls sends one.
  throw new TypeError('the Salesforce transport sends text, buffers and Node streams only');
}
