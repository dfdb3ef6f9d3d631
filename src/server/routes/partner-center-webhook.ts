import type { FastifyInstance } from 'fastify';
import { parseWebhookEvent, dedupKeyFor, WEBHOOK_PATH } from '../../partner-center/webhook-event.ts';
import type { WebhookSignatureVerifier } from '../../partner-center/signature.ts';
import type { Logger } from '../../util/logger.ts';
import type { Inbox } from '../../store/types.ts';
import type { Metrics } from '../metrics.ts';
import { MAX_JSON_DEPTH, webhookRoute } from '../webhook-route.ts';

export interface PartnerCenterWebhookDeps {
  verifier: WebhookSignatureVerifier;
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** CRM connection names: a referral event asks each of them to sync that referral. */
  connections: readonly string[];
}

/**
 * Order matters: the cheap depth check, then verify the signature on the raw bytes, only then parse JSON, then commit to the inbox, and only then
 * answer 2xx. A rejected request stores nothing.
 */
export function partnerCenterWebhookRoute(app: FastifyInstance, deps: PartnerCenterWebhookDeps): void {
  const { verifier, inbox, logger } = deps;
  const options = {
    source: 'partner-center',
    path: WEBHOOK_PATH,
    bodyLimitBytes: deps.bodyLimitBytes,
    maxJsonDepth: MAX_JSON_DEPTH,
    metrics: deps.metrics,
    logger,
  };
  webhookRoute(app, options, async ({ request, reply, body, reject, accepted }) => {
    const verdict = await verifier.verify(request.headers, body);
    if (!verdict.ok) return reject(verdict.status, verdict.reason, verdict.message, { retryAfterSeconds: verdict.retryAfterSeconds });

    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return reject(400, 'malformed_json', 'the body is not valid JSON');
    }
    const parsed = parseWebhookEvent(json);
    if (!parsed.ok) return reject(400, 'invalid_payload', parsed.error);

    const event = parsed.event;
    const result = await inbox.append({
      source: 'partner-center',
      dedupKey: dedupKeyFor(event),
      eventName: event.eventName,
      resourceId: event.referralId ?? null,
      payload: body.toString('utf8'),
      // Only `related-referral-*` (and a new referral) can concern Microsoft's side of a co-sell deal.
      jobs: event.referralId
        ? deps.connections.map((connection) => ({ connection, cause: 'event' as const, referralId: event.referralId, microsoftSide: event.eventName !== 'referral-updated' }))
        : [],
    });
    accepted(result.duplicate);
    logger.debug(
      { source: 'partner-center', inboxId: result.id, event: event.eventName, referralId: event.referralId, duplicate: result.duplicate },
      'webhook accepted',
    );
    return reply.code(200).send({ accepted: true, id: result.id, duplicate: result.duplicate });
  });
}
