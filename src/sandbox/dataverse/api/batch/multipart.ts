import { badRequest } from '../../errors.ts';

export interface MimePart {
  /** Lower-cased header names. */
  headers: Map<string, string>;
  body: string;
}

export interface EmbeddedHttpRequest {
  method: string;
  target: string;
  headers: Map<string, string>;
  body: string;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match?.[1] ?? match?.[2];
}

function splitHead(text: string): { head: string; body: string } {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text, body: '' };
  return { head: text.slice(0, match.index), body: text.slice(match.index + match[0].length) };
}

function parseHeaderLines(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Splits a multipart/mixed body (OData $batch, "Execute batch operations using the Web API") into parts; tolerant of
 * LF-only line endings.
 */
export function splitMultipart(body: string, boundary: string): MimePart[] {
  const delimiter = `--${boundary}`;
  const pieces = body.split(delimiter);
  const parts: MimePart[] = [];
  let closed = false;
  for (const piece of pieces.slice(1)) {
    if (piece.startsWith('--')) {
      closed = true;
      break;
    }
    // The line break before a delimiter belongs to the delimiter (RFC 2046), so one trailing CRLF is not content.
    const content = piece.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, '');
    const { head, body: partBody } = splitHead(content);
    parts.push({ headers: parseHeaderLines(head), body: partBody });
  }
  if (!closed) throw badRequest(`The multipart body is not terminated by '${delimiter}--'.`);
  return parts;
}

/** Reads the HTTP request embedded in an `application/http` part: request line, headers, blank line, body. */
export function parseEmbeddedRequest(text: string): EmbeddedHttpRequest {
  const trimmed = text.replace(/^(\r?\n)+/, '');
  const lineEnd = /\r?\n/.exec(trimmed);
  const requestLine = lineEnd ? trimmed.slice(0, lineEnd.index) : trimmed;
  const rest = lineEnd ? trimmed.slice(lineEnd.index + lineEnd[0].length) : '';
  const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d(?:\.\d)?)?\s*$/.exec(requestLine);
  if (!match?.[1] || !match[2]) throw badRequest(`A batch part has an invalid request line: '${requestLine}'.`);
  const blank = /(^|\r?\n)\r?\n/.exec(rest);
  const head = blank ? rest.slice(0, blank.index) : rest;
  const body = blank ? rest.slice(blank.index + blank[0].length) : '';
  return { method: match[1], target: match[2], headers: parseHeaderLines(head), body: body.trim() };
}
