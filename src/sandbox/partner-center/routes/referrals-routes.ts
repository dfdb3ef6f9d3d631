import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPlainObject } from '../../shared/deep-merge.ts';
import { bearerAuthentication } from '../auth.ts';
import type { PartnerCenterContext } from '../context.ts';
import { invalidRequest, notFound, PartnerCenterError } from '../errors.ts';
import { header, param, requestBaseUrl, sendJson, wantsRepresentation } from '../http-helpers.ts';
import { applyJsonPatch, jsonPatchSchema } from '../json-patch.ts';
import { engagementScope } from '../odata/filter-evaluator.ts';
import { parseListQuery, runListQuery } from '../odata/list-query.ts';
import { ODataQueryError } from '../odata/odata-error.ts';
import { REFERRAL_TYPE, SELECTABLE_EXTRA } from '../odata/referral-fields.ts';
import { connectedReferralProblems, coSellDealProblems, targetsMicrosoft } from '../co-sell-rules.ts';
import { MICROSOFT_ORGANIZATION } from '../referral-enums.ts';
import { contentOf, READ_ONLY_FIELDS, type Referral } from '../referral-model.ts';
import { referralContentSchema, type ReferralContent } from '../referral-schema.ts';
import { rejectWithProblems, validateReferralContent } from '../referral-validation.ts';
import { cachedReferralToWire, REFERRALS_PATH, referralToWire } from '../referral-wire.ts';
import { eTagMatches } from '../write-stamps.ts';

const KNOWN_TOP_LEVEL = new Set([...Object.keys(referralContentSchema.shape), ...READ_ONLY_FIELDS]);

function metadataUrl(base: string): string {
  return `${base}/v1.0/engagements/$metadata#Referrals`;
}

/** Same query as the request, minus the paging options the skiptoken replaces. */
function nextLink(request: FastifyRequest, base: string, skipToken: string): string {
  const params = new URL(request.url, 'http://sandbox.invalid').searchParams;
  const parts: string[] = [];
  for (const [key, value] of params) {
    const lower = key.toLowerCase();
    if (lower === '$skiptoken' || lower === '$skip') continue;
    parts.push(`${key}=${encodeURIComponent(value)}`);
  }
  parts.push(`$skiptoken=${encodeURIComponent(skipToken)}`);
  return `${base}${REFERRALS_PATH}?${parts.join('&')}`;
}

export function registerReferralRoutes(app: FastifyInstance, ctx: PartnerCenterContext): void {
  const authenticate = bearerAuthentication({ strict: ctx.strictTokens, tokens: ctx.tokens });
  // Every call sees the sandbox clock's present: invitations whose 14 days have passed are expired first.
  const onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    await authenticate(request, reply);
    ctx.expireDue();
  };
  const base = (request: FastifyRequest): string => requestBaseUrl(request, ctx.baseUrl());
  const ownedByPartner = (referral: Referral): boolean => referral.organizationId === ctx.organization.id;

  function findReferral(id: string): Referral {
    const referral = ctx.store.find(id);
    if (!referral) throw notFound('Referral', id);
    return referral;
  }

  /** Microsoft's side of an engagement is readable but not writable by the partner (UNCONFIRMED, but it is not theirs). */
  function findWritableReferral(id: string): Referral {
    const referral = findReferral(id);
    if (!ownedByPartner(referral)) {
      throw new PartnerCenterError(403, 'accessDenied', `Referral '${id}' belongs to organization '${referral.organizationId}' and cannot be modified by this partner.`);
    }
    return referral;
  }

  function checkIfMatch(request: FastifyRequest, referral: Referral, required: boolean): void {
    const ifMatch = header(request, 'if-match');
    if (ifMatch === undefined || ifMatch.trim() === '') {
      // 400 rather than 428: 428 is not among the documented status codes, 400 invalidRequest is.
      if (required) throw invalidRequest('The If-Match header is required for PUT; send the eTag of the referral you read.', 'If-Match');
      return;
    }
    if (!eTagMatches(ifMatch, referral.eTag)) {
      throw new PartnerCenterError(
        412,
        'preconditionFailed',
        `The referral was modified by someone else: If-Match ${ifMatch} does not match the current eTag ${referral.eTag}. Read it again and retry.`,
        'If-Match',
      );
    }
  }

  const isMicrosofts = (referral: Referral): boolean => referral.organizationId.toLowerCase() === MICROSOFT_ORGANIZATION.id;

  /** The partner's own co-sell deal must name a co-sell ready solution of its own, and a valid target. */
  function checkCoSellDeal(content: ReferralContent, what: string): void {
    if (!ctx.strictCoSell || content.type !== 'Shared') return;
    const problems = coSellDealProblems(content, ctx.solutions);
    if (problems.length > 0) throw rejectWithProblems(what, problems);
  }

  /**
   * The second call of "Creating a shared (co-sell) referral via API": a referral for Microsoft in the engagement of
   * the partner's co-sell referral, with target BusinessProfileLocation `msft`. It is what makes the deal visible to
   * Microsoft sellers, so the sandbox files it as Microsoft's referral (organization `msft`, Incoming to Microsoft),
   * waiting for a Microsoft seller's answer (New/Pending, expiring after 14 days) whatever status the body asked for —
   * UNCONFIRMED: the docs do not show the response of this call; a client must find Microsoft's side by target or by
   * organization, and must not assume Microsoft has accepted.
   */
  function createConnectedReferral(content: ReferralContent, engagementId: string | undefined): Referral {
    if (ctx.strictCoSell) {
      const problems = connectedReferralProblems(content, ctx.solutions);
      if (engagementId === undefined) {
        problems.unshift({ target: 'engagementId', message: "the connected Microsoft referral must carry the engagementId of the partner's co-sell referral" });
      } else {
        const engaged = ctx.store.inEngagement(engagementId);
        if (!engaged.some((r) => ownedByPartner(r) && r.type === 'Shared')) {
          problems.unshift({ target: 'engagementId', message: `engagement '${engagementId}' has no co-sell (Shared) referral of this partner to connect Microsoft to` });
        } else if (engaged.some(isMicrosofts)) {
          problems.unshift({ target: 'engagementId', message: `engagement '${engagementId}' already has Microsoft's referral` });
        }
      }
      if (problems.length > 0) throw rejectWithProblems('The connected Microsoft referral', problems);
    }
    return ctx.service.create(
      { ...content, status: 'New', substatus: 'Pending' },
      { organization: MICROSOFT_ORGANIZATION, direction: 'Incoming', engagementId },
      'New',
    );
  }

  function respondWithReferral(reply: FastifyReply, request: FastifyRequest, referral: Referral, statusCode: number): FastifyReply {
    reply.header('etag', referral.eTag);
    return sendJson(reply, statusCode, referralToWire(referral, base(request)));
  }

  app.get(REFERRALS_PATH, { onRequest }, async (request, reply) => {
    const params = new URL(request.url, 'http://sandbox.invalid').searchParams;
    let query;
    try {
      query = parseListQuery(params, REFERRAL_TYPE, 'Referral', SELECTABLE_EXTRA);
    } catch (error) {
      if (error instanceof ODataQueryError) throw invalidRequest(error.message, error.option);
      throw error;
    }
    // The partner sees its own referrals. Microsoft's side of an engagement appears only when the filter pins that
    // engagement — which is what links.relatedReferrals does (UNCONFIRMED; the tolerant reading that keeps the
    // partner's plain listing free of referrals it does not own).
    const scopedEngagements = new Set(query.filter ? engagementScope(query.filter) : []);
    const visible = ctx.store.all().filter((referral) => ownedByPartner(referral) || scopedEngagements.has(referral.engagementId));
    const baseUrl = base(request);
    const page = runListQuery(visible.map((referral) => cachedReferralToWire(referral, baseUrl)), query);
    const selectSuffix = query.select ? `(${query.select.join(',')})` : '';
    return sendJson(reply, 200, {
      '@odata.context': `${metadataUrl(baseUrl)}${selectSuffix}`,
      ...(query.count ? { '@odata.count': page.total } : {}),
      value: page.value,
      ...(page.nextSkipToken ? { '@odata.nextLink': nextLink(request, baseUrl, page.nextSkipToken) } : {}),
    });
  });

  app.get(`${REFERRALS_PATH}/:id`, { onRequest }, async (request, reply) => {
    const referral = findReferral(param(request, 'id'));
    reply.header('etag', referral.eTag);
    return sendJson(reply, 200, { '@odata.context': `${metadataUrl(base(request))}/$entity`, ...referralToWire(referral, base(request)) });
  });

  app.post(REFERRALS_PATH, { onRequest }, async (request, reply) => {
    // MS-RequestId is the idempotency key ("reuse on timeout retry", Partner Center Swagger): a create repeated with the
    // same key is the same request, answered with the referral the first one made instead of a second referral.
    const requestId = header(request, 'ms-requestid')?.trim();
    const earlier = requestId ? ctx.createdByRequestId.get(requestId) : undefined;
    const repeated = earlier === undefined ? undefined : ctx.store.find(earlier);
    if (repeated) return respondWithReferral(reply, request, repeated, 200);
    const content = validateReferralContent(request.body);
    const rawEngagementId = isPlainObject(request.body) ? request.body.engagementId : undefined;
    if (rawEngagementId !== undefined && rawEngagementId !== null && (typeof rawEngagementId !== 'string' || rawEngagementId.trim() === '')) {
      throw invalidRequest('engagementId must be a non-empty string (the engagement to join).', 'engagementId');
    }
    const engagementId = typeof rawEngagementId === 'string' ? rawEngagementId.trim() : undefined;
    let referral: Referral;
    if (targetsMicrosoft(content)) {
      referral = createConnectedReferral(content, engagementId);
    } else {
      checkCoSellDeal(content, 'The referral');
      if (ctx.strictCoSell && engagementId !== undefined && ctx.store.inEngagement(engagementId).length === 0) {
        throw invalidRequest(`engagement '${engagementId}' does not exist; leave engagementId out to start a new engagement.`, 'engagementId');
      }
      // A given engagementId joins that engagement (partner-to-partner, or a second referral of the partner).
      referral = ctx.service.createOutgoing(content, { organization: ctx.organization, engagementId });
    }
    if (requestId) ctx.createdByRequestId.set(requestId, referral.id);
    // 200, not 201: the Swagger contract documents 200 "Referral created" for this operation.
    return respondWithReferral(reply, request, referral, 200);
  });

  app.patch(`${REFERRALS_PATH}/:id`, { onRequest }, async (request, reply) => {
    const existing = findWritableReferral(param(request, 'id'));
    const operations = jsonPatchSchema.safeParse(request.body);
    if (!operations.success) {
      throw invalidRequest('The body must be a JSON Patch array: [{ "op": "replace", "path": "/details/notes", "value": "…" }].');
    }
    checkIfMatch(request, existing, false);
    if (existing.status === 'Closed') {
      throw invalidRequest(`Referral '${existing.id}' is closed (${existing.substatus}) and can no longer be updated.`, 'status');
    }
    const current = contentOf(existing);
    // Fields the referral already holds are patchable too, including newer ones the sandbox keeps without knowing.
    const knownTopLevel = new Set([...KNOWN_TOP_LEVEL, ...Object.keys(current)]);
    const patched = applyJsonPatch(current, operations.data, { readOnly: READ_ONLY_FIELDS, knownTopLevel });
    const content = validateReferralContent(patched, 'The patched referral');
    if (existing.direction === 'Outgoing') checkCoSellDeal(content, 'The patched referral');
    const updated = ctx.service.update(existing, content, { actor: 'partner' });
    if (wantsRepresentation(request)) return respondWithReferral(reply, request, updated, 200);
    reply.header('etag', updated.eTag);
    return reply.code(204).send();
  });

  app.put(`${REFERRALS_PATH}/:id`, { onRequest }, async (request, reply) => {
    const id = param(request, 'id');
    const existing = findWritableReferral(id);
    checkIfMatch(request, existing, true);
    // Server fields in the body (id, eTag, links…) are ignored, as the docs tell clients to send the full resource.
    const content = validateReferralContent(request.body);
    if (existing.direction === 'Outgoing') checkCoSellDeal(content, 'The referral');
    const updated = ctx.service.update(existing, content, { actor: 'partner' });
    return respondWithReferral(reply, request, updated, 200);
  });
}
