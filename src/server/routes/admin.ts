import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../store/types.ts';

const eventsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: z.coerce.number().int().positive().optional(),
    source: z.enum(['partner-center', 'dynamics', 'salesforce']).optional(),
    resourceId: z.string().min(1).max(200).optional(),
    /** Raw webhook bodies hold customer data (deal names, values, notes, e-mails): sent only when asked for. */
    include: z.literal('payload').optional(),
  })
  .strict();

function parsePayload(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

/** The operator's view of what arrived: newest first, paged with `before=<id>`; bodies with `include=payload`. */
export function adminRoutes(app: FastifyInstance, store: Store): void {
  app.get('/api/events', async (request, reply) => {
    const query = eventsQuery.safeParse(request.query);
    if (!query.success) {
      const issue = query.error.issues[0];
      return reply.code(400).send({
        error: { code: 'invalid_query', message: `${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}` },
      });
    }
    const { limit, before, source, resourceId, include } = query.data;
    const events = await store.inbox.list({ limit, beforeId: before, source, resourceId });
    const last = events[events.length - 1];
    return {
      events: events.map((e) => ({
        id: e.id,
        source: e.source,
        eventName: e.eventName,
        resourceId: e.resourceId,
        receivedAt: e.receivedAt,
        deliveries: e.deliveries,
        ...(include === 'payload' ? { payload: parsePayload(e.payload) } : {}),
      })),
      next: events.length === limit && last ? `/api/events?limit=${limit}&before=${last.id}${include ? `&include=${include}` : ''}` : null,
    };
  });
}
