import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { deepMerge, isPlainObject, type JsonObject } from '../../shared/deep-merge.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import type { PartnerCenterContext } from '../context.ts';
import { SIGNING_CERTIFICATE_PATH } from '../context.ts';
import { invalidRequest, notFound } from '../errors.ts';
import { param, sendJson } from '../http-helpers.ts';
import { incomingReferralDefaults, microsoftMsxId, microsoftSideContent } from '../incoming-defaults.ts';
import { MICROSOFT_ORGANIZATION, REFERRAL_STATUSES } from '../referral-enums.ts';
import { contentOf, READ_ONLY_FIELDS, type Referral } from '../referral-model.ts';
import { validateReferralContent } from '../referral-validation.ts';
import { referralToWire } from '../referral-wire.ts';
import { DEFAULT_SUBSTATUS } from '../status-rules.ts';
import { MAX_SOLUTIONS, partnerSolutionSchema } from '../solutions-catalogue.ts';

const seedSchema = z
  .object({
    count: z.number().int().min(1).max(10_000),
    events: z.boolean().optional(),
    microsoftSide: z.boolean().optional(),
    overrides: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** `otherPartner` of an incoming referral: another partner's referral joins the engagement (partner-to-partner). */
const otherPartnerSchema = z.object({ organizationId: z.string().min(1).max(100), organizationName: z.string().min(1).max(200) }).strict();

/** Control-API bodies say `status` alone when the substatus is obvious (Active ⇒ Accepted, New ⇒ Pending). */
function withImpliedSubstatus(patch: JsonObject): JsonObject {
  if (typeof patch.status !== 'string' || patch.substatus !== undefined) return patch;
  const status = REFERRAL_STATUSES.find((candidate) => candidate.toLowerCase() === String(patch.status).toLowerCase());
  const substatus = status ? DEFAULT_SUBSTATUS[status] : undefined;
  return substatus ? { ...patch, substatus } : patch;
}

function requireObject(body: unknown, what: string): JsonObject {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw invalidRequest(`${what} must be a JSON object.`);
  return body;
}

function readOptionalBoolean(body: JsonObject, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidRequest(`${key} must be true or false.`, key);
  return value;
}

/** The sandbox control API: Microsoft's side of the world, seeding, and the webhook delivery log. No auth. */
export function registerControlRoutes(app: FastifyInstance, ctx: PartnerCenterContext): void {
  const base = (): string => ctx.baseUrl();

  /**
   * Microsoft shares a co-sell invitation: the partner's incoming referral, plus (by default) Microsoft's own connected
   * referral in the same engagement, created second so the partner's referral receives a related-referral event.
   */
  function createIncoming(overrides: JsonObject, options: { microsoftSide: boolean; silent: boolean }): { partner: Referral; microsoft?: Referral } {
    const { microsoftSide: _ignored, engagementId, otherPartner, ...patch } = overrides;
    const other = otherPartner === undefined ? undefined : otherPartnerSchema.safeParse(otherPartner);
    if (other && !other.success) throw invalidRequest('otherPartner must be {"organizationId": "…", "organizationName": "…"} naming an organization other than this partner and Microsoft.', 'otherPartner');
    if (engagementId !== undefined && (typeof engagementId !== 'string' || engagementId === '')) {
      throw invalidRequest('engagementId must be a non-empty string.', 'engagementId');
    }
    const sequence = ctx.nextSampleSequence();
    const msxId = microsoftMsxId(sequence);
    const defaults = deepMerge(incomingReferralDefaults(sequence), { trackingInfo: { microsoftMsxId: msxId } });
    const merged = deepMerge(defaults, withImpliedSubstatus(patch));
    const content = validateReferralContent(merged, 'The incoming referral');
    const partner = ctx.service.create(content, {
      organization: ctx.organization,
      direction: 'Incoming',
      engagementId: typeof engagementId === 'string' ? engagementId : undefined,
      silent: options.silent,
    });
    if (other?.data) {
      // Partner-to-partner: another partner's own referral in the same engagement, readable but not writable by us.
      if (other.data.organizationId === ctx.organization.id || other.data.organizationId.toLowerCase() === MICROSOFT_ORGANIZATION.id) {
        throw invalidRequest('otherPartner must be an organization other than this partner and Microsoft.', 'otherPartner');
      }
      const otherContent = validateReferralContent({ ...microsoftSideContent(merged, ctx.organization.id, msxId), team: [{ firstName: 'Pia', lastName: 'Partner', email: 'pia@other-partner.example', phoneNumber: '4255550142', contactPreference: { locale: 'en-us', disableNotifications: false } }], trackingInfo: {} }, 'The other partner\'s referral');
      ctx.service.create(otherContent, { organization: { id: other.data.organizationId, name: other.data.organizationName }, direction: 'Outgoing', engagementId: partner.engagementId, silent: options.silent }, 'Active');
    }
    if (!options.microsoftSide) return { partner };
    const microsoftContent = validateReferralContent(microsoftSideContent(merged, ctx.organization.id, msxId), 'The Microsoft-side referral');
    const microsoft = ctx.service.create(
      microsoftContent,
      { organization: MICROSOFT_ORGANIZATION, direction: 'Outgoing', engagementId: partner.engagementId, silent: options.silent },
      'Active',
    );
    return { partner, microsoft };
  }

  app.post('/_sandbox/referrals/incoming', async (request, reply) => {
    const body = requireObject(request.body, 'The incoming referral');
    const microsoftSide = readOptionalBoolean(body, 'microsoftSide') ?? true;
    const { partner } = createIncoming(body, { microsoftSide, silent: false });
    reply.header('etag', partner.eTag);
    return sendJson(reply, 201, referralToWire(partner, base()));
  });

  /** Whose referral a related-referral event's ResourceUri names: `partner` (default) or `changed` (see RelatedResourceUri). */
  app.put('/_sandbox/webhooks/shape', async (request, reply) => {
    const parsed = z.object({ relatedResourceUri: z.enum(['partner', 'changed']) }).strict().safeParse(request.body);
    if (!parsed.success) throw invalidRequest('relatedResourceUri must be "partner" or "changed".', 'relatedResourceUri');
    ctx.publisher.relatedResourceUri = parsed.data.relatedResourceUri;
    return sendJson(reply, 200, parsed.data);
  });

  app.post('/_sandbox/referrals/seed', async (request, reply) => {
    const parsed = parseWithProblems(seedSchema, request.body ?? {});
    if (!parsed.ok) throw invalidRequest(`Invalid seed request: ${summarizeProblems(parsed.problems)}`, parsed.problems[0]?.target);
    const { count, events = true, microsoftSide = false, overrides = {} } = parsed.value;
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      ids.push(createIncoming(overrides, { microsoftSide, silent: !events }).partner.id);
    }
    return sendJson(reply, 201, { created: ids.length, ids });
  });

  /**
   * A Microsoft seller changes a referral: partial body deep-merged (arrays replaced). Partner-side restrictions are
   * lifted where Microsoft could act (Microsoft-owned referrals, unaccepted invitations), but enums, status/substatus
   * pairs, the status direction (nothing leaves Closed, nothing returns to New) and the rules for everyone (terminal
   * states read-only, a reason to decline, visibility not revocable) are still enforced.
   */
  app.patch('/_sandbox/referrals/:id', async (request, reply) => {
    const id = param(request, 'id');
    const existing = ctx.store.find(id);
    if (!existing) throw notFound('Referral', id);
    const patch = requireObject(request.body, 'The referral change');
    const readOnly = Object.keys(patch).filter((key) => READ_ONLY_FIELDS.has(key));
    if (readOnly.length > 0) throw invalidRequest(`These fields are managed by the service and cannot be changed: ${readOnly.join(', ')}.`, readOnly[0]);
    const merged = deepMerge(contentOf(existing), withImpliedSubstatus(patch));
    const content = validateReferralContent(merged, 'The changed referral');
    const updated = ctx.service.update(existing, content, { actor: 'microsoft' });
    reply.header('etag', updated.eTag);
    return sendJson(reply, 200, referralToWire(updated, base()));
  });

  /**
   * The partner's solutions. Partner Center documents no API listing them (its connectors pre-load them from Excel),
   * so this is the sandbox's own route, NOT a confirmed Partner Center one.
   */
  app.get('/_sandbox/solutions', async (_request, reply) => {
    const value = ctx.solutions.list();
    return sendJson(reply, 200, { count: value.length, value });
  });

  app.put('/_sandbox/solutions', async (request, reply) => {
    const schema = z.object({ value: z.array(partnerSolutionSchema).max(MAX_SOLUTIONS) }).strict();
    const parsed = parseWithProblems(schema, request.body ?? {});
    if (!parsed.ok) throw invalidRequest(`Invalid solutions catalogue: ${summarizeProblems(parsed.problems)}`, parsed.problems[0]?.target);
    const ids = parsed.value.value.map((solution) => solution.id.toLowerCase());
    if (new Set(ids).size !== ids.length) throw invalidRequest('Solution ids must be unique.', 'value');
    ctx.solutions.replace(parsed.value.value);
    const value = ctx.solutions.list();
    return sendJson(reply, 200, { count: value.length, value });
  });

  app.get('/_sandbox/referrals', async (_request, reply) => {
    const value = ctx.store.all().map((referral) => referralToWire(referral, base()));
    return sendJson(reply, 200, { count: value.length, value });
  });

  app.delete('/_sandbox/referrals', async (_request, reply) => {
    const deleted = ctx.store.size;
    ctx.store.clear();
    return sendJson(reply, 200, { deleted });
  });

  app.get('/_sandbox/webhooks/registration', async (_request, reply) => sendJson(reply, 200, ctx.registration.current ?? null));
  app.delete('/_sandbox/webhooks/registration', async (_request, reply) => {
    ctx.registration.clear();
    return sendJson(reply, 200, null);
  });

  app.get('/_sandbox/webhooks/deliveries', async (_request, reply) => {
    // `event` names the webhook event; the shared queue calls it a label because it also carries other vendors' kinds.
    const value = ctx.queue.list().map((record) => ({ event: record.label, ...record }));
    return sendJson(reply, 200, { count: value.length, pending: ctx.queue.pendingCount(), value });
  });
  app.delete('/_sandbox/webhooks/deliveries', async (_request, reply) => {
    ctx.queue.clearLog();
    return sendJson(reply, 200, { pending: ctx.queue.pendingCount() });
  });
  app.get('/_sandbox/webhooks/offline-queue', async (_request, reply) => {
    const value = ctx.queue.offline();
    return sendJson(reply, 200, { count: value.length, value });
  });
  app.post('/_sandbox/webhooks/offline-queue/redeliver', async (_request, reply) =>
    sendJson(reply, 200, { redelivered: ctx.queue.redeliverOffline() }),
  );

  const { ca, signing } = ctx.signing;
  app.get(SIGNING_CERTIFICATE_PATH, async (_request, reply) => reply.type('application/pkix-cert').send(signing.certificateDer));
  app.get('/_sandbox/certificates/signing.pem', async (_request, reply) => reply.type('application/x-pem-file').send(signing.certificatePem));
  app.get('/_sandbox/certificates/root.pem', async (_request, reply) => reply.type('application/x-pem-file').send(ca.certificatePem));
  app.get('/_sandbox/certificates/root.cer', async (_request, reply) => reply.type('application/pkix-cert').send(ca.certificateDer));
}
