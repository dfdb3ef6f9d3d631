import { z } from 'zod';
import { canonicalizeKeys, isPlainObject } from './case-insensitive.ts';
import { PartnerCenterApiError } from './api-error.ts';
import { ApiHttpClient, type ApiHttpClientOptions } from './http.ts';

/*
 * Partner Center Webhooks API ("Partner Center webhooks") on the classic Partner Center host, with its own token
 * audience (`https://api.partnercenter.microsoft.com`). The docs use PascalCase bodies and the Swagger camelCase, so
 * responses are read case-insensitively and requests are sent in the docs' PascalCase.
 */

export const DEFAULT_WEBHOOKS_API_URL = 'https://api.partnercenter.microsoft.com';
const REGISTRATION_PATH = '/webhooks/v1/registration';
const EVENTS_PATH = `${REGISTRATION_PATH}/events`;
const VALIDATION_EVENTS_PATH = `${REGISTRATION_PATH}/validationEvents`;

export type WebhooksClientOptions = Omit<ApiHttpClientOptions, 'api' | 'baseUrl'> & {
  /** API root. Default `https://api.partnercenter.microsoft.com`. */
  baseUrl?: string;
};

export interface WebhookRegistrationRequest {
  webhookUrl: string;
  webhookEvents: readonly string[];
  /** Deliver the signature in `x-ms-signature` instead of `Authorization`. */
  signatureTokenToMsSignatureHeader?: boolean;
}

/** Rejects objects whose keys repeat in different letter cases with different values: which one counts is unknowable. */
function caseInsensitive<T extends z.ZodType>(canonical: readonly string[], schema: T) {
  return z.preprocess((value, ctx) => {
    if (!isPlainObject(value)) return value;
    const { value: renamed, conflicts } = canonicalizeKeys(value, canonical);
    for (const key of conflicts) ctx.addIssue({ code: 'custom', path: [key], message: 'sent twice in different letter cases' });
    return renamed;
  }, schema);
}

const nullableText = z.string().nullish().transform((value) => value ?? undefined);

export const webhookRegistrationSchema = caseInsensitive(
  ['subscriberId', 'webhookUrl', 'webhookEvents', 'signatureTokenToMsSignatureHeader', 'properties', 'lastModifiedTimestamp'],
  z.looseObject({
    subscriberId: nullableText,
    webhookUrl: z.string(),
    webhookEvents: z.array(z.string()).nullish().transform((events) => events ?? []),
    signatureTokenToMsSignatureHeader: z.boolean().nullish().transform((value) => value ?? undefined),
    properties: z.record(z.string(), z.unknown()).nullish().transform((value) => value ?? undefined),
    lastModifiedTimestamp: nullableText,
  }),
);
export type WebhookRegistration = z.output<typeof webhookRegistrationSchema>;

/** Documented as a bare JSON array; a `{ value: [...] }` envelope is tolerated in case the service wraps it. */
const eventListSchema = z.union([
  z.array(z.string()),
  caseInsensitive(['value'], z.looseObject({ value: z.array(z.string()) })).transform((envelope) => envelope.value),
]);

const testEventSchema = caseInsensitive(['correlationId'], z.looseObject({ correlationId: z.string().min(1) }));

const testEventResultSchema = caseInsensitive(
  ['responseCode', 'responseMessage', 'systemError', 'dateTimeUtc'],
  z.looseObject({
    // Observed as "OK"; numbers are tolerated and turned into their string form.
    responseCode: z.union([z.string(), z.number()]).nullish().transform((value) => (value == null ? undefined : String(value))),
    responseMessage: nullableText,
    systemError: z.union([z.string(), z.boolean()]).nullish().transform((value) => (value == null ? undefined : String(value))),
    dateTimeUtc: nullableText,
  }),
);

export const testEventStatusSchema = caseInsensitive(
  ['correlationId', 'partnerId', 'status', 'callbackUrl', 'results'],
  z.looseObject({
    correlationId: z.string(),
    partnerId: nullableText,
    status: z.string(),
    callbackUrl: nullableText,
    results: z.array(testEventResultSchema).nullish().transform((results) => results ?? []),
  }),
);
export type TestEventStatus = z.output<typeof testEventStatusSchema>;

/** POST /registration answered 409: the tenant already has its (single) registration; use `updateRegistration`. */
export class RegistrationExistsError extends PartnerCenterApiError {
  override readonly name: string = 'RegistrationExistsError';
  constructor(from: PartnerCenterApiError) {
    super(from);
  }
}

export class WebhooksClient {
  private readonly http: ApiHttpClient;

  constructor(options: WebhooksClientOptions) {
    this.http = new ApiHttpClient({
      ...options,
      api: 'webhooks',
      baseUrl: options.baseUrl ?? DEFAULT_WEBHOOKS_API_URL,
      // The classic Partner Center API's own request headers; its Swagger calls ms-requestid the idempotency key.
      requestIdHeaders: options.requestIdHeaders ?? ['MS-RequestId', 'MS-CorrelationId'],
    });
  }

  async listEvents(): Promise<string[]> {
    const { data } = await this.http.sendParsed({ method: 'GET', path: EVENTS_PATH, route: EVENTS_PATH }, eventListSchema);
    return data;
  }

  /** The tenant's registration, or null when it has none (404). */
  async getRegistration(): Promise<WebhookRegistration | null> {
    try {
      const { data } = await this.http.sendParsed(
        { method: 'GET', path: REGISTRATION_PATH, route: REGISTRATION_PATH },
        webhookRegistrationSchema,
      );
      return data;
    } catch (error) {
      if (error instanceof PartnerCenterApiError && error.status === 404) return null;
      throw error;
    }
  }

  async register(registration: WebhookRegistrationRequest): Promise<WebhookRegistration> {
    try {
      return await this.writeRegistration('POST', registration);
    } catch (error) {
      if (error instanceof PartnerCenterApiError && error.status === 409) throw new RegistrationExistsError(error);
      throw error;
    }
  }

  /** Replaces the registration (URL and event list); there is no documented DELETE, so this is also how to stop events. */
  updateRegistration(registration: WebhookRegistrationRequest): Promise<WebhookRegistration> {
    return this.writeRegistration('PUT', registration);
  }

  /** Needs a registration for `test-created`; the service allows 2 such requests a minute. */
  async sendTestEvent(): Promise<{ correlationId: string }> {
    const { data } = await this.http.sendParsed(
      { method: 'POST', path: VALIDATION_EVENTS_PATH, route: VALIDATION_EVENTS_PATH },
      testEventSchema,
    );
    return { correlationId: data.correlationId };
  }

  async getTestEventStatus(correlationId: string): Promise<TestEventStatus> {
    if (correlationId.trim() === '') throw new TypeError('correlationId must not be empty');
    const { data } = await this.http.sendParsed(
      {
        method: 'GET',
        path: `${VALIDATION_EVENTS_PATH}/${encodeURIComponent(correlationId)}`,
        route: `${VALIDATION_EVENTS_PATH}/{id}`,
      },
      testEventStatusSchema,
    );
    return data;
  }

  private async writeRegistration(method: 'POST' | 'PUT', registration: WebhookRegistrationRequest): Promise<WebhookRegistration> {
    if (!/^https?:\/\/[^/]/i.test(registration.webhookUrl)) {
      throw new TypeError(`webhookUrl must be an absolute http(s) URL, got "${registration.webhookUrl}"`);
    }
    if (registration.webhookEvents.length === 0) throw new TypeError('webhookEvents must name at least one event');
    const body: Record<string, unknown> = {
      WebhookUrl: registration.webhookUrl,
      WebhookEvents: [...registration.webhookEvents],
    };
    if (registration.signatureTokenToMsSignatureHeader !== undefined) {
      body.SignatureTokenToMsSignatureHeader = registration.signatureTokenToMsSignatureHeader;
    }
    const { data } = await this.http.sendParsed({ method, path: REGISTRATION_PATH, route: REGISTRATION_PATH, body }, webhookRegistrationSchema);
    return data;
  }
}
