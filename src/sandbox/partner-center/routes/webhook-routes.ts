import type { FastifyInstance } from 'fastify';
import { bearerAuthentication } from '../auth.ts';
import type { PartnerCenterContext } from '../context.ts';
import { invalidRequest, notFound, PartnerCenterError } from '../errors.ts';
import { param, sendJson } from '../http-helpers.ts';
import { WEBHOOK_EVENT_NAMES } from '../webhook-events.ts';
import { parseRegistrationBody, type WebhookRegistration } from '../webhook-registration.ts';

const REGISTRATION_PATH = '/webhooks/v1/registration';

/** The docs' response shape (PascalCase) for POST and PUT. */
function registrationResponse(registration: WebhookRegistration) {
  return { SubscriberId: registration.subscriberId, WebhookUrl: registration.webhookUrl, WebhookEvents: registration.webhookEvents };
}

export function registerWebhookRoutes(app: FastifyInstance, ctx: PartnerCenterContext): void {
  const onRequest = bearerAuthentication({ strict: ctx.strictTokens, tokens: ctx.tokens });

  app.get(`${REGISTRATION_PATH}/events`, { onRequest }, async (_request, reply) => sendJson(reply, 200, WEBHOOK_EVENT_NAMES));

  app.post(REGISTRATION_PATH, { onRequest }, async (request, reply) => {
    const body = parseRegistrationBody(request.body);
    if (ctx.registration.current) {
      // No "conflict" code is documented; invalidRequest is the closest documented one.
      throw new PartnerCenterError(409, 'invalidRequest', 'Registration already exists, use the PUT method');
    }
    return sendJson(reply, 200, registrationResponse(ctx.registration.set(body)));
  });

  app.get(REGISTRATION_PATH, { onRequest }, async (_request, reply) => {
    const registration = ctx.registration.current;
    if (!registration) throw new PartnerCenterError(404, 'itemNotFound', 'No webhook registration exists for this partner.');
    return sendJson(reply, 200, { WebhookUrl: registration.webhookUrl, WebhookEvents: registration.webhookEvents });
  });

  // PUT without an existing registration creates one: tolerant, and what a "register --overwrite" client expects.
  app.put(REGISTRATION_PATH, { onRequest }, async (request, reply) => {
    const body = parseRegistrationBody(request.body);
    return sendJson(reply, 200, registrationResponse(ctx.registration.set(body)));
  });

  app.post(`${REGISTRATION_PATH}/validationEvents`, { onRequest }, async (_request, reply) => {
    const registration = ctx.registration.current;
    if (!registration || !registration.webhookEvents.includes('test-created')) {
      throw invalidRequest(
        "Sending a validation event requires a webhook registration that includes the 'test-created' event.",
        'WebhookEvents',
      );
    }
    const retryAfter = ctx.validationEvents.retryAfterSeconds();
    if (retryAfter !== undefined) {
      throw new PartnerCenterError(
        429,
        'serviceNotAvailable',
        `Validation events are limited to 2 per minute. Retry after ${retryAfter} seconds.`,
        undefined,
        undefined,
        { 'retry-after': String(retryAfter) },
      );
    }
    // Like referral events, the test event names the sandbox's own URL where production names api.partnercenter.microsoft.com.
    const correlationId = ctx.validationEvents.send(ctx.baseUrl(), registration.webhookUrl);
    return sendJson(reply, 200, { correlationId });
  });

  app.get(`${REGISTRATION_PATH}/validationEvents/:correlationId`, { onRequest }, async (request, reply) => {
    const correlationId = param(request, 'correlationId');
    const status = ctx.validationEvents.status(correlationId, ctx.organization.id);
    if (!status) throw notFound('Validation event', correlationId);
    return sendJson(reply, 200, status);
  });
}
