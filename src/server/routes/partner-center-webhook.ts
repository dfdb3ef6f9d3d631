import type { FastifyInstance } from 'fastify';
import { parseWebhookEvent, dedupKeyFor } from '../../partner-center/webhook-event.ts';
import type { WebhookSignatureVerifier } from '../../partner-center/signature.ts';
import type { Logger } from '../../util/logger.ts';
import type { Inbox } from '../../store/types.ts';
import type { Metrics } from '../metrics.ts';
import { rawBodyParser } from '../raw-body.ts';

export interface PartnerCenterWebhookDeps {
  verifier: WebhookSignatureVerifier;
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** CRM connection names: a referral event asks each of them to sync that referral. */
  connections: readonly string[];
}

const SOURCE = 'partner-center';

/**
 * Order matters: verify the signature on the raw bytes, only then parse JSON, then commit to the inbox, and only then
 * answer 2xx. A rejected request stores nothing.
 */
export function partnerCenterWebhookRoute(app: FastifyInstance, deps: PartnerCenterWebhookDeps): void {
  const { verifier, inbox, metrics, logger } = deps;

  app.register(async (scope) => {
    rawBodyParser(scope, deps.bodyLimitBytes, (reason) => {
      metrics.webhookRequests.inc({ source: SOURCE, outcome: 'rejected' });
      metrics.webhookRejections.inc({ source: SOURCE, reason });
    });

    scope.post('/webhooks/partner-center', async (request, reply) => {
      const stopTimer = metrics.webhookDuration.startTimer({ source: SOURCE });
      const rejectWith = (status: number, reason: string, message: string) => {
        metrics.webhookRequests.inc({ source: SOURCE, outcome: 'rejected' });
        metrics.webhookRejections.inc({ source: SOURCE, reason });
        logger.warn({ source: SOURCE, reason, status, ip: request.ip }, `webhook rejected: ${message}`);
        stopTimer();
        return reply.code(status).send({ error: { code: reason, message } });
      };

      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const verdict = await verifier.verify(request.headers, body);
      if (!verdict.ok) return rejectWith(verdict.status, verdict.reason, verdict.message);

      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return rejectWith(400, 'malformed_json', 'the body is not valid JSON');
      }
      const parsed = parseWebhookEvent(json);
      if (!parsed.ok) return rejectWith(400, 'invalid_payload', parsed.error);

      const event = parsed.event;
      const result = await inbox.append({
        source: SOURCE,
        dedupKey: dedupKeyFor(event),
        eventName: event.eventName,
        resourceId: event.referralId ?? null,
        payload: body.toString('utf8'),
        jobs: event.referralId
          ? deps.connections.map((connection) => ({ connection, cause: 'event' as const, referralId: event.referralId }))
          : [],
      });
      metrics.webhookRequests.inc({ source: SOURCE, outcome: result.duplicate ? 'duplicate' : 'accepted' });
      logger.debug(
        { source: SOURCE, inboxId: result.id, event: event.eventName, referralId: event.referralId, duplicate: result.duplicate },
        'webhook accepted',
      );
      stopTimer();
      return reply.code(200).send({ accepted: true, id: result.id, duplicate: result.duplicate });
    });
  });
}
