import type { Caller } from '../../auth/users.ts';
import type { ContentIdMap } from '../../data/bind-reference.ts';
import type { RecordStore } from '../../data/record-store.ts';
import { badRequest, DataverseError } from '../../errors.ts';
import { parsePrefer } from '../../odata/prefer.ts';
import { parseQueryString } from '../../odata/query-options.ts';
import { EventCollector, type DataEvent } from '../../webhooks/events.ts';
import { errorResponse, type DataRequest, type DataResponse } from '../data-request.ts';
import type { DataDispatcher } from '../dispatcher.ts';
import { resolveTarget } from '../request-target.ts';
import { boundaryOf, parseEmbeddedRequest, splitMultipart, type MimePart } from './multipart.ts';
import { renderBatchResponse, type BatchPartResponse, type BatchResponseItem } from './batch-response.ts';

/** "Execute batch operations using the Web API": at most 1000 requests per batch. */
const MAX_REQUESTS = 1000;

export interface BatchInput {
  contentType: string | undefined;
  body: string;
  headers: Record<string, string | undefined>;
  serviceRoot: string;
  correlationId: string;
  /** Resolves the caller of a part from its headers (impersonation), defaulting to the batch's caller. */
  callerFor: (headers: Record<string, string | undefined>) => Caller;
}

export interface BatchOutput {
  status: number;
  contentType: string;
  body: string;
  /** Events of the parts that committed, in order; the caller publishes them. */
  events: DataEvent[];
}

/** Thrown inside a change set's transaction to roll it back while carrying the failing part's response. */
class ChangeSetFailure extends Error {
  constructor(readonly part: BatchPartResponse) {
    super('change set rolled back');
  }
}

function headerRecord(headers: Map<string, string>): Record<string, string | undefined> {
  return Object.fromEntries(headers);
}

/**
 * Runs `$batch` requests sequentially; change sets are all-or-nothing via a store transaction ("Execute batch
 * operations using the Web API").
 */
export class BatchExecutor {
  constructor(
    private readonly dispatcher: DataDispatcher,
    private readonly store: RecordStore,
  ) {}

  execute(input: BatchInput): BatchOutput {
    const boundary = boundaryOf(input.contentType);
    if (!input.contentType?.toLowerCase().startsWith('multipart/mixed') || !boundary) {
      throw badRequest("A $batch request needs Content-Type 'multipart/mixed; boundary=batch_<id>'.");
    }
    const parts = splitMultipart(input.body, boundary);
    const continueOnError = parsePrefer(input.headers.prefer).continueOnError;
    const items: BatchResponseItem[] = [];
    const events: DataEvent[] = [];
    let failedStatus: number | undefined;
    let requestCount = 0;

    for (const part of parts) {
      const nested = boundaryOf(part.headers.get('content-type'));
      const isChangeSet = part.headers.get('content-type')?.toLowerCase().startsWith('multipart/mixed') === true && nested !== undefined;
      const inner = isChangeSet && nested ? splitMultipart(part.body, nested) : [part];
      requestCount += inner.length;
      if (requestCount > MAX_REQUESTS) throw badRequest(`The number of requests in a batch exceeds the limit of ${MAX_REQUESTS}.`);

      const outcome = isChangeSet ? this.changeSet(inner, input) : this.single(part, input);
      items.push(outcome.item);
      if (outcome.failedStatus === undefined) events.push(...outcome.events);
      else if (failedStatus === undefined) failedStatus = outcome.failedStatus;
      if (outcome.failedStatus !== undefined && !continueOnError) break;
    }
    const rendered = renderBatchResponse(items);
    // Without odata.continue-on-error the batch takes the status of the first failure (doc: "HTTP/1.1 400 BadRequest").
    return { status: failedStatus !== undefined && !continueOnError ? failedStatus : 200, contentType: rendered.contentType, body: rendered.body, events };
  }

  private buildRequest(part: MimePart, input: BatchInput, contentIds: ContentIdMap | undefined): DataRequest {
    const embedded = parseEmbeddedRequest(part.body);
    const target = resolveTarget(embedded.target, contentIds);
    const headers = headerRecord(embedded.headers);
    let body: unknown;
    if (embedded.body !== '') {
      try {
        body = JSON.parse(embedded.body) as unknown;
      } catch (error) {
        throw badRequest(`A batch part body is not valid JSON: ${(error as Error).message}`);
      }
    }
    return {
      method: embedded.method,
      path: target.path,
      query: parseQueryString(target.rawQuery),
      headers,
      body,
      caller: input.callerFor(headers),
      serviceRoot: input.serviceRoot,
      correlationId: input.correlationId,
      ...(contentIds ? { contentIds } : {}),
    };
  }

  private run(part: MimePart, input: BatchInput, contentIds: ContentIdMap | undefined, events: EventCollector): BatchPartResponse {
    const contentId = part.headers.get('content-id') ?? parseEmbeddedRequestContentId(part);
    let response: DataResponse;
    try {
      response = this.dispatcher.handle(this.buildRequest(part, input, contentIds), events);
    } catch (error) {
      if (!(error instanceof DataverseError)) throw error;
      response = errorResponse(error);
    }
    return contentId === undefined ? { response } : { response, contentId };
  }

  private single(part: MimePart, input: BatchInput): { item: BatchResponseItem; events: DataEvent[]; failedStatus?: number } {
    const events = new EventCollector();
    const result = this.run(part, input, undefined, events);
    const failed = result.response.status >= 400 ? { failedStatus: result.response.status } : {};
    return { item: { kind: 'single', part: result }, events: events.drain(), ...failed };
  }

  private changeSet(parts: MimePart[], input: BatchInput): { item: BatchResponseItem; events: DataEvent[]; failedStatus?: number } {
    const contentIds: ContentIdMap = new Map();
    const events = new EventCollector();
    try {
      const responses = this.store.transaction(() =>
        parts.map((part) => {
          const method = /^\s*([A-Z]+)/.exec(part.body.replace(/^(\r?\n)+/, ''))?.[1];
          if (method === 'GET') {
            const contentId = part.headers.get('content-id');
            const response = errorResponse(badRequest('GET requests are not allowed inside a change set.'));
            throw new ChangeSetFailure(contentId === undefined ? { response } : { response, contentId });
          }
          const result = this.run(part, input, contentIds, events);
          if (result.response.status >= 400) throw new ChangeSetFailure(result);
          const entityId = result.response.headers['OData-EntityId'];
          if (result.contentId !== undefined && entityId) contentIds.set(`$${result.contentId}`, entityId.slice(input.serviceRoot.length));
          return result;
        }),
      );
      return { item: { kind: 'changeset', parts: responses }, events: events.drain() };
    } catch (error) {
      if (!(error instanceof ChangeSetFailure)) throw error;
      // A rolled-back change set reports only the request that failed (doc example).
      return { item: { kind: 'changeset', parts: [error.part] }, events: [], failedStatus: error.part.response.status };
    }
  }
}

/** Some clients put Content-ID on the embedded request instead of the MIME part; accept both. */
function parseEmbeddedRequestContentId(part: MimePart): string | undefined {
  try {
    return parseEmbeddedRequest(part.body).headers.get('content-id');
  } catch {
    return undefined;
  }
}
