import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jobKeyForReferral } from '../../store/sqlite/jobs.ts';
import type { Store } from '../../store/types.ts';
import { chooseResolution, resolveConflictRequest } from '../../sync/conflict-resolution.ts';
import type { Engine } from '../../sync/engine.ts';
import type {
  AuditResponse,
  BulkReplayResponse,
  ConflictsResponse,
  DeadLettersResponse,
  ErrorResponse,
  ReconcileResponse,
  ReplayDeadLetterResponse,
  ResolveConflictResponse,
  StatusResponse,
  SyncReferralResponse,
} from '../admin-api.ts';

const limitQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional(),
    connection: z.string().min(1).optional(),
    referralId: z.string().min(1).optional(),
    crmId: z.string().min(1).optional(),
    open: z.enum(['true', 'false']).optional(),
  })
  .strict();

/** Bulk replay is one transaction per dead letter: bounded so one request cannot hold the store for long. */
export const MAX_BULK_REPLAY = 100;
const bulkReplayBody = z.object({ ids: z.array(z.number().int().positive()).min(1).max(MAX_BULK_REPLAY) }).strict();

const reconcileBody = z.object({ since: z.iso.datetime({ offset: true }).optional() }).strict();

function badRequest(message: string): ErrorResponse {
  return { error: { code: 'invalid_request', message } };
}

/** Operators' API for the sync engine: status, audit, conflicts, dead letters, and on-demand sync/reconcile. */
export function engineAdminRoutes(app: FastifyInstance, store: Store, engine: Engine | undefined): void {
  const parse = (query: unknown) => limitQuery.safeParse(query);

  app.get('/api/status', async (): Promise<StatusResponse> => ({
    connections: engine ? [...engine.connections.keys()] : [],
    queueDepth: await store.jobs.depth(),
    inFlight: engine?.worker.inFlight ?? 0,
    deadLetters: (await store.sync.deadLetters({ open: true, limit: 1000 })).length,
    heldConflicts: (await store.sync.conflicts()).length,
    lastSync: (await store.sync.audit({ limit: 1 }))[0]?.at ?? null,
    watermarks: await store.sync.watermarks(),
    reconcile: engine?.reconciler.progress() ?? null,
  }));

  app.get('/api/audit', async (request, reply) => {
    const q = parse(request.query);
    if (!q.success) return reply.code(400).send(badRequest(q.error.issues[0]?.message ?? 'invalid query'));
    const { limit, before, connection, referralId, crmId } = q.data;
    const answer: AuditResponse = { entries: await store.sync.audit({ limit, ...(before ? { beforeId: before } : {}), ...(connection ? { connection } : {}), ...(referralId ? { referralId } : {}), ...(crmId ? { crmId } : {}) }) };
    return answer;
  });

  app.get('/api/conflicts', async (): Promise<ConflictsResponse> => ({ conflicts: await store.sync.conflicts() }));

  // Resolve a held conflict: the chosen value is recorded and the pair queued; that sync writes it to both sides and
  // releases the hold. Body: {"take": "partner-center" | "crm"} or {"take": "value", "value": …}.
  app.post('/api/conflicts/:id/resolve', async (request, reply) => {
    const id = Number((request.params as { id: string }).id);
    if (!Number.isInteger(id) || id <= 0) return reply.code(400).send(badRequest('conflict id must be a positive integer'));
    const body = resolveConflictRequest.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send(badRequest(`${body.error.issues[0]?.path.join('.') || 'body'}: ${body.error.issues[0]?.message ?? 'invalid'}`));
    const conflict = await store.sync.conflict(id);
    if (!conflict) return reply.code(404).send({ error: { code: 'not_found', message: `no held conflict ${id}` } });
    const chosen = chooseResolution(conflict, body.data);
    if (!chosen.ok) return reply.code(400).send(badRequest(chosen.reason));
    // The store decides again, atomically: a conflict released since the read above answers false.
    if (!(await store.sync.resolveConflict(id, chosen.resolution))) return reply.code(404).send({ error: { code: 'not_found', message: `no held conflict ${id}` } });
    const answer: ResolveConflictResponse = { resolving: id, referralId: conflict.referralId, field: conflict.field, value: chosen.resolution.value };
    return reply.code(202).send(answer);
  });

  app.get('/api/dead-letters', async (request, reply) => {
    const q = parse(request.query);
    if (!q.success) return reply.code(400).send(badRequest(q.error.issues[0]?.message ?? 'invalid query'));
    const answer: DeadLettersResponse = { deadLetters: await store.sync.deadLetters({ limit: q.data.limit, open: q.data.open !== 'false' }) };
    return answer;
  });

  app.post('/api/dead-letters/replay', async (request, reply) => {
    const body = bulkReplayBody.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send(badRequest(`${body.error.issues[0]?.path.join('.') || 'body'}: ${body.error.issues[0]?.message ?? 'invalid'}`));
    const ids = [...new Set(body.data.ids)];
    const replayed: number[] = [];
    // One at a time, in the order given (as before): each replay is its own store transaction.
    for (const id of ids) if (await store.sync.replayDeadLetter(id)) replayed.push(id);
    const notOpen = ids.filter((id) => !replayed.includes(id));
    const answer: BulkReplayResponse = {
      replayed,
      notOpen,
      message: `Queued ${replayed.length} again${notOpen.length ? `; ${notOpen.length} no longer open` : ''}.`,
    };
    return answer;
  });

  app.post('/api/dead-letters/:id/replay', async (request, reply) => {
    const id = Number((request.params as { id: string }).id);
    if (!Number.isInteger(id) || id <= 0) return reply.code(400).send(badRequest('dead letter id must be a positive integer'));
    if (!(await store.sync.replayDeadLetter(id))) return reply.code(404).send({ error: { code: 'not_found', message: `no open dead letter ${id}` } });
    const answer: ReplayDeadLetterResponse = { replayed: id };
    return answer;
  });

  app.post('/api/sync/referral/:id', async (request, reply) => {
    const referralId = (request.params as { id: string }).id;
    if (!engine || engine.connections.size === 0) return reply.code(409).send({ error: { code: 'no_connections', message: 'no CRM connection is configured' } });
    await store.jobs.enqueue([...engine.connections.keys()].map((connection) => ({ connection, cause: 'manual' as const, referralId })));
    const answer: SyncReferralResponse = { enqueued: [...engine.connections.keys()].map((connection) => jobKeyForReferral(connection, referralId)) };
    return reply.code(202).send(answer);
  });

  app.post('/api/reconcile', async (request, reply) => {
    if (!engine) return reply.code(409).send({ error: { code: 'no_connections', message: 'no CRM connection is configured' } });
    const body = reconcileBody.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send(badRequest(`since: ${body.error.issues[0]?.message ?? 'invalid'}`));
    const report: ReconcileResponse = await engine.reconciler.runOnce(body.data.since ? { since: body.data.since } : {});
    return report;
  });
}
