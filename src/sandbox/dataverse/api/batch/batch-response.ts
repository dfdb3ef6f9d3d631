import { randomUUID } from 'node:crypto';
import type { DataResponse } from '../data-request.ts';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Unknown';
}

export interface BatchPartResponse {
  response: DataResponse;
  contentId?: string;
}

export type BatchResponseItem = { kind: 'single'; part: BatchPartResponse } | { kind: 'changeset'; parts: BatchPartResponse[] };

/** One embedded HTTP response, in the shape the docs show and dynamics-web-api parses (status line, headers, body). */
function renderPart(part: BatchPartResponse): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (part.contentId !== undefined) lines.push(`Content-ID: ${part.contentId}`);
  lines.push('', `HTTP/1.1 ${part.response.status} ${statusText(part.response.status)}`);
  for (const [name, value] of Object.entries(part.response.headers)) lines.push(`${name}: ${value}`);
  const body = part.response.body;
  lines.push('', body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body));
  return lines.join('\r\n');
}

/**
 * Serializes batch results as `multipart/mixed` with `batchresponse_` / `changesetresponse_` boundaries ("Execute batch
 * operations using the Web API").
 */
export function renderBatchResponse(items: BatchResponseItem[]): { contentType: string; body: string } {
  const boundary = `batchresponse_${randomUUID()}`;
  const chunks: string[] = [];
  for (const item of items) {
    chunks.push(`--${boundary}`);
    if (item.kind === 'single') {
      chunks.push(renderPart(item.part));
      continue;
    }
    const changeset = `changesetresponse_${randomUUID()}`;
    chunks.push(`Content-Type: multipart/mixed; boundary=${changeset}`, '');
    for (const part of item.parts) chunks.push(`--${changeset}`, renderPart(part));
    chunks.push(`--${changeset}--`);
  }
  chunks.push(`--${boundary}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: chunks.join('\r\n') };
}
