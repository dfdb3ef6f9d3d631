import { z } from 'zod';
import { isPlainObject } from '../shared/deep-merge.ts';
import { parseWithProblems, summarizeProblems } from '../shared/zod-issues.ts';
import { invalidRequest } from './errors.ts';
import { canonicalEventName, type WebhookEventName } from './webhook-events.ts';

export interface WebhookRegistration {
  subscriberId: string;
  webhookUrl: string;
  webhookEvents: WebhookEventName[];
  signatureTokenToMsSignatureHeader: boolean;
  properties: Record<string, string>;
  lastModifiedTimestamp: string;
}

const absoluteHttpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http or https URL');

const eventName = z.string().transform((value, ctx) => {
  const canonical = canonicalEventName(value);
  if (!canonical) {
    ctx.addIssue({ code: 'custom', input: value, message: `'${value}' is not a supported event; GET /webhooks/v1/registration/events lists them` });
    return z.NEVER;
  }
  return canonical;
});

/** Keys arrive lower-cased (see `lowerCaseKeys`), which is how PascalCase docs and camelCase Swagger both fit. */
const registrationBodySchema = z.object({
  webhookurl: absoluteHttpUrl,
  // An empty list is allowed: with no DELETE endpoint, PUT-ing no events is the documented way to stop deliveries.
  webhookevents: z.array(eventName),
  signaturetokentomssignatureheader: z.boolean().nullish(),
  properties: z.record(z.string(), z.string()).nullish(),
});

const DISPLAY_NAMES: Record<string, string> = {
  webhookurl: 'WebhookUrl',
  webhookevents: 'WebhookEvents',
  signaturetokentomssignatureheader: 'SignatureTokenToMsSignatureHeader',
  properties: 'Properties',
};

function lowerCaseKeys(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key.toLowerCase(), value]));
}

export interface RegistrationRequest {
  webhookUrl: string;
  webhookEvents: WebhookEventName[];
  signatureTokenToMsSignatureHeader: boolean;
  properties: Record<string, string>;
}

/** Accepts the docs' PascalCase and Swagger's camelCase (or any casing) for the registration body. */
export function parseRegistrationBody(body: unknown): RegistrationRequest {
  if (!isPlainObject(body)) throw invalidRequest('The registration must be a JSON object with WebhookUrl and WebhookEvents.');
  const parsed = parseWithProblems(registrationBodySchema, lowerCaseKeys(body));
  if (!parsed.ok) {
    const problems = parsed.problems.map((problem) => {
      const [head = '', ...rest] = problem.target.split(/(?=[.[])/);
      return { ...problem, target: (DISPLAY_NAMES[head] ?? head) + rest.join('') };
    });
    throw invalidRequest(`The registration is invalid: ${summarizeProblems(problems)}`, problems[0]?.target, problems);
  }
  const value = parsed.value;
  return {
    webhookUrl: value.webhookurl,
    webhookEvents: [...new Set(value.webhookevents)],
    signatureTokenToMsSignatureHeader: value.signaturetokentomssignatureheader ?? false,
    properties: value.properties ?? {},
  };
}

/** One registration per partner tenant, as in the service. */
export class WebhookRegistrationState {
  private registration: WebhookRegistration | undefined;

  constructor(private readonly subscriberId: string) {}

  get current(): WebhookRegistration | undefined {
    return this.registration;
  }

  set(request: RegistrationRequest): WebhookRegistration {
    this.registration = { subscriberId: this.subscriberId, ...request, lastModifiedTimestamp: new Date().toISOString() };
    return this.registration;
  }

  clear(): void {
    this.registration = undefined;
  }

  wants(event: WebhookEventName): boolean {
    return this.registration?.webhookEvents.includes(event) ?? false;
  }
}
