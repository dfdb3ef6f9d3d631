import { randomUUID } from 'node:crypto';
import type { DeliveryRecord, WebhookDeliveryQueue } from '../shared/webhook-delivery-queue.ts';
import type { SignedWebhookSender } from './webhook-sender.ts';

/**
 * .NET `HttpStatusCode` names: the service reports `responseCode: "OK"` for a 200, which is that enum's spelling
 * (UNCONFIRMED beyond "OK"; the other names follow the same convention).
 */
const STATUS_NAMES: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'NonAuthoritativeInformation', 204: 'NoContent', 205: 'ResetContent',
  206: 'PartialContent', 300: 'Ambiguous', 301: 'Moved', 302: 'Redirect', 303: 'RedirectMethod', 304: 'NotModified',
  307: 'RedirectKeepVerb', 308: 'PermanentRedirect', 400: 'BadRequest', 401: 'Unauthorized', 402: 'PaymentRequired',
  403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 406: 'NotAcceptable', 408: 'RequestTimeout', 409: 'Conflict',
  410: 'Gone', 411: 'LengthRequired', 412: 'PreconditionFailed', 413: 'RequestEntityTooLarge', 414: 'RequestUriTooLong',
  415: 'UnsupportedMediaType', 422: 'UnprocessableEntity', 429: 'TooManyRequests', 500: 'InternalServerError',
  501: 'NotImplemented', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout',
};

export function statusCodeName(statusCode: number): string {
  return STATUS_NAMES[statusCode] ?? String(statusCode);
}

export interface ValidationEventResult {
  responseCode: string | null;
  responseMessage: string | null;
  systemError: string | null;
  dateTimeUtc: string;
}

export interface ValidationEventStatus {
  correlationId: string;
  partnerId: string;
  status: 'pending' | 'completed';
  callbackUrl: string;
  results: ValidationEventResult[];
}

interface SentValidationEvent {
  correlationId: string;
  deliveryId: string | undefined;
  callbackUrl: string;
}

const WINDOW_MS = 60_000;

/** Sends `test-created` events, enforces the documented 2-per-minute limit and reports per-attempt results. */
export class ValidationEvents {
  private readonly sent = new Map<string, SentValidationEvent>();
  private recent: number[] = [];

  constructor(
    private readonly deps: { sender: SignedWebhookSender; queue: WebhookDeliveryQueue; limitPerMinute?: number; now?: () => number },
  ) {}

  /** Seconds until another test event is allowed, or undefined when one may be sent now. */
  retryAfterSeconds(): number | undefined {
    const now = (this.deps.now ?? Date.now)();
    this.recent = this.recent.filter((at) => now - at < WINDOW_MS);
    const limit = this.deps.limitPerMinute ?? 2;
    if (this.recent.length < limit) return undefined;
    const oldest = this.recent[0] ?? now;
    return Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000));
  }

  send(baseUrl: string, callbackUrl: string): string {
    const correlationId = randomUUID();
    this.recent.push((this.deps.now ?? Date.now)());
    const deliveryId = this.deps.sender.send({
      EventName: 'test-created',
      ResourceUri: `${baseUrl}/webhooks/v1/registration/validationEvents/${correlationId}`,
      ResourceName: 'test',
      AuditUri: null,
      ResourceChangeUtcDate: new Date().toISOString(),
    });
    this.sent.set(correlationId, { correlationId, deliveryId, callbackUrl });
    return correlationId;
  }

  status(correlationId: string, partnerId: string): ValidationEventStatus | undefined {
    const sent = this.sent.get(correlationId) ?? this.sent.get(correlationId.toLowerCase());
    if (!sent) return undefined;
    const record: DeliveryRecord | undefined = sent.deliveryId ? this.deps.queue.get(sent.deliveryId) : undefined;
    return {
      correlationId: sent.correlationId,
      partnerId,
      status: record?.status === 'pending' ? 'pending' : 'completed',
      callbackUrl: sent.callbackUrl,
      results: (record?.attempts ?? []).map((attempt) => ({
        responseCode: attempt.statusCode === null ? null : statusCodeName(attempt.statusCode),
        responseMessage: attempt.responseBody ?? attempt.error,
        systemError: attempt.statusCode === null ? attempt.error : null,
        dateTimeUtc: attempt.startedAt,
      })),
    };
  }
}
