import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { deepMerge, isPlainObject, type JsonObject } from '../../shared/deep-merge.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import type { PartnerCenterContext } from '../context.ts';
import { invalidRequest, notFound, PartnerCenterError } from '../errors.ts';
import { param, sendJson } from '../http-helpers.ts';
import { microsoftMsxId } from '../incoming-defaults.ts';
import { formatInstant } from '../../../util/instant.ts';
import { MICROSOFT_ORGANIZATION } from '../referral-enums.ts';
import { contentOf, READ_ONLY_FIELDS, type Referral } from '../referral-model.ts';
import type { ReferralContent } from '../referral-schema.ts';
import { validateReferralContent } from '../referral-validation.ts';
import { referralToWire } from '../referral-wire.ts';

const sellerSchema = z
  .object({
    firstName: z.string().min(1).max(100),
    lastName: z.string().min(1).max(100),
    email: z.string().email().max(254),
    phoneNumber: z.string().max(50).optional(),
  })
  .strict();

const acceptSchema = z
  .object({
    /** Microsoft's CRM (MSX) opportunity id; generated when absent. */
    microsoftMsxId: z.string().min(1).max(100).optional(),
    seller: sellerSchema.optional(),
  })
  .strict();

const declineSchema = z.object({ statusReason: z.string().trim().min(1, 'a Microsoft seller declines with a reason').max(1000) }).strict();

const clockSchema = z.object({ advanceDays: z.number().positive().max(3650) }).strict();

const DEFAULT_SELLER = { firstName: 'Alex', lastName: 'Wilber', email: 'alex.wilber@microsoft.com', phoneNumber: '4255550199' };

function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = parseWithProblems(schema, body ?? {});
  if (!parsed.ok) throw invalidRequest(`${what}: ${summarizeProblems(parsed.problems)}`, parsed.problems[0]?.target);
  return parsed.value;
}

/**
 * The Microsoft seller's side of a co-sell engagement, and the sandbox clock. Microsoft sees a partner's deal only
 * through the connected Microsoft referral (created by the partner's second call, target BusinessProfileLocation
 * `msft`, or by `POST /_sandbox/referrals/incoming`); an engagement without one has no Microsoft seller to act.
 */
export function registerMicrosoftSellerRoutes(app: FastifyInstance, ctx: PartnerCenterContext): void {
  const base = (): string => ctx.baseUrl();
  const isMicrosofts = (referral: Referral): boolean => referral.organizationId.toLowerCase() === MICROSOFT_ORGANIZATION.id;

  function microsoftReferral(engagementId: string): Referral {
    ctx.expireDue();
    const referral = ctx.store.inEngagement(engagementId).find(isMicrosofts);
    if (!referral) {
      if (ctx.store.inEngagement(engagementId).length === 0) throw notFound('Engagement', engagementId);
      throw new PartnerCenterError(404, 'itemNotFound', `Engagement '${engagementId}' has no connected Microsoft referral, so no Microsoft seller sees it.`);
    }
    return referral;
  }

  function answer(referral: Referral, changes: Partial<ReferralContent>): Referral {
    const content = validateReferralContent(deepMerge(contentOf(referral), changes as JsonObject), "Microsoft's referral");
    return ctx.service.update(referral, content, { actor: 'microsoft' });
  }

  app.get('/_sandbox/microsoft/engagements/:engagementId', async (request, reply) =>
    sendJson(reply, 200, referralToWire(microsoftReferral(param(request, 'engagementId')), base())),
  );

  /** A Microsoft seller accepts: Microsoft's referral becomes Active/Accepted with its MSX id, shown on the partner's too. */
  app.post('/_sandbox/microsoft/engagements/:engagementId/accept', async (request, reply) => {
    const engagementId = param(request, 'engagementId');
    const body = parseBody(acceptSchema, request.body, 'Invalid accept request');
    const referral = microsoftReferral(engagementId);
    const msxId = body.microsoftMsxId ?? referral.trackingInfo?.microsoftMsxId ?? microsoftMsxId(ctx.nextSampleSequence());
    const seller = { ...(body.seller ?? DEFAULT_SELLER), contactPreference: { locale: 'en-us', disableNotifications: false } };
    const accepted = answer(referral, { status: 'Active', substatus: 'Accepted', team: [seller], trackingInfo: { ...referral.trackingInfo, microsoftMsxId: msxId } });
    // "Microsoft CRM Identifier" is filled on the partner's deal when Microsoft accepts (co-sell connector overview).
    for (const partners of ctx.store.inEngagement(engagementId)) {
      if (partners.organizationId !== ctx.organization.id || partners.status === 'Closed') continue;
      answer(partners, { trackingInfo: { ...partners.trackingInfo, microsoftMsxId: msxId } });
    }
    return sendJson(reply, 200, referralToWire(accepted, base()));
  });

  app.post('/_sandbox/microsoft/engagements/:engagementId/decline', async (request, reply) => {
    const body = parseBody(declineSchema, request.body, 'Invalid decline request');
    const referral = microsoftReferral(param(request, 'engagementId'));
    return sendJson(reply, 200, referralToWire(answer(referral, { status: 'Closed', substatus: 'Declined', statusReason: body.statusReason }), base()));
  });

  /** A Microsoft seller edits Microsoft's referral: partial body deep-merged (arrays replaced), same rules as the API. */
  app.patch('/_sandbox/microsoft/engagements/:engagementId', async (request, reply) => {
    if (!isPlainObject(request.body)) throw invalidRequest("The change to Microsoft's referral must be a JSON object.");
    const readOnly = Object.keys(request.body).filter((key) => READ_ONLY_FIELDS.has(key));
    if (readOnly.length > 0) throw invalidRequest(`These fields are managed by the service and cannot be changed: ${readOnly.join(', ')}.`, readOnly[0]);
    const referral = microsoftReferral(param(request, 'engagementId'));
    return sendJson(reply, 200, referralToWire(answer(referral, request.body as Partial<ReferralContent>), base()));
  });

  app.get('/_sandbox/clock', async (_request, reply) =>
    sendJson(reply, 200, { now: formatInstant(ctx.clock.now()), offsetDays: ctx.clock.offsetDays }),
  );

  /** Moves the sandbox clock forward; invitations whose 14 days pass expire at once (with their webhook events). */
  app.post('/_sandbox/clock', async (request, reply) => {
    const { advanceDays } = parseBody(clockSchema, request.body, 'Invalid clock request');
    ctx.clock.advance(advanceDays);
    const expired = ctx.expireDue(true).map((r) => r.id);
    return sendJson(reply, 200, { now: formatInstant(ctx.clock.now()), offsetDays: ctx.clock.offsetDays, expired });
  });
}
