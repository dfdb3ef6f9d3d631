/*
 * Which phase of an HTTP exchange ran out of time, and a message that names the host and that phase, so an operator
 * can tell a firewall that drops connections (connect) from a service that accepts them and never answers (headers).
 */

/** `response`: the whole exchange, for clients that cannot tell the phases apart (a library that buffers the response). */
export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'response';

const UNDICI_TIMEOUT_CODES: Readonly<Record<string, Exclude<TimeoutPhase, 'response'>>> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'headers',
  UND_ERR_BODY_TIMEOUT: 'body',
};

/** The phase of an undici timeout error (looking through `cause`, as fetch wraps it), or undefined for anything else. */
export function timeoutPhaseOf(error: unknown): Exclude<TimeoutPhase, 'response'> | undefined {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code in UNDICI_TIMEOUT_CODES) return UNDICI_TIMEOUT_CODES[code];
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const PHASE_TEXT: Readonly<Record<TimeoutPhase, string>> = {
  connect: 'no connection',
  headers: 'no response headers',
  body: 'the response body stalled, nothing more',
  response: 'no complete response',
};

/** The configured limit of a phase reported by the dispatcher. */
export function phaseLimit(phase: Exclude<TimeoutPhase, 'response'>, limits: { connectMs: number; headersMs: number; bodyMs: number }): number {
  return phase === 'connect' ? limits.connectMs : phase === 'headers' ? limits.headersMs : limits.bodyMs;
}

/** E.g. `partner center api.partner.microsoft.com: no response headers within 30 s`. */
export function describeTimeout(service: string, url: URL | string, phase: TimeoutPhase, afterMs: number): string {
  const host = typeof url === 'string' ? safeHost(url) : url.host;
  return `${service} ${host}: ${PHASE_TEXT[phase]} within ${formatSeconds(afterMs)}`;
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : Number(seconds.toFixed(seconds < 1 ? 2 : 1))} s`;
}

function safeHost(url: string): string {
  return URL.canParse(url) ? new URL(url).host : '(invalid URL)';
}
