import { describe, expect, it } from 'vitest';
import {
  REFERRAL_STATUSES,
  REFERRAL_SUBSTATUSES,
  canTransition,
  isTerminal,
  isValidStatusPair,
  referralCreateSchema,
  referralListResponseSchema,
  referralSchema,
} from '../../../src/partner-center/model.ts';
import { describeIssues } from '../../../src/util/describe-issues.ts';
import { DOC_CREATE_REQUEST, DOC_CREATE_RESPONSE_JSON } from './doc-samples.ts';

describe('referralSchema', () => {
  it('parses the documented create response and serialises it back unchanged', () => {
    const raw: unknown = JSON.parse(DOC_CREATE_RESPONSE_JSON);
    const referral = referralSchema.parse(raw);
    expect(referral.id).toBe('4111fffc-f9ee-4d53-bba6-569135228642');
    expect(referral.status).toBe('Active');
    expect(referral.substatus).toBe('Accepted');
    expect(referral.eTag).toBe('"00006d10-0000-0000-0000-5c70aa630000"');
    expect(referral.externalReferenceId).toBeNull();
    expect(referral.consent?.consentToToShareInfoWithOthers).toBe(true);
    expect(referral.customerProfile?.team).toHaveLength(2);
    expect(referral.details?.requirements?.solutions?.[0]?.type).toBe('Category');
    expect(referral.inviteContext?.invitedBy?.organizationId).toBe('msft');
    expect(JSON.parse(JSON.stringify(referral))).toEqual(raw);
  });

  it('keeps unknown fields at every level', () => {
    const raw = JSON.parse(DOC_CREATE_RESPONSE_JSON) as Record<string, unknown> & {
      customerProfile: Record<string, unknown> & { address: Record<string, unknown>; team: Record<string, unknown>[] };
      consent: Record<string, unknown>;
      details: Record<string, unknown> & { requirements: Record<string, unknown> };
      links: Record<string, unknown>;
    };
    raw.brandNewTopLevel = { nested: [1, 2] };
    raw.customerProfile.address.geo = 'x';
    raw.customerProfile.team[0]!.pronouns = 'she/her';
    raw.consent.consentToAnythingElse = false;
    raw.details.requirements.futureRequirement = ['a'];
    raw.links.owner = { uri: 'u', method: 'GET' };
    const referral = referralSchema.parse(raw);
    expect(JSON.parse(JSON.stringify(referral))).toEqual(raw);
    expect(referral.brandNewTopLevel).toEqual({ nested: [1, 2] });
  });

  it('keeps enum values it does not know instead of rejecting the referral', () => {
    const referral = referralSchema.parse({
      id: 'r1',
      status: 'OnHold',
      substatus: 'Escalated',
      type: 'PartnerToPartner',
      direction: 'Sideways',
      salesStage: '100',
      customerProfile: { size: 'Enormous', ids: [{ profileType: 'Vat', id: '1' }] },
      inviteContext: { assistanceRequestCode: 'SomethingNew' },
      target: [{ id: 't', type: 'Galaxy' }],
    });
    expect(referral.status).toBe('OnHold');
    expect(referral.salesStage).toBe('100');
    expect(referral.target?.[0]?.type).toBe('Galaxy');
  });

  it('tolerates nulls where the service sends them', () => {
    const referral = referralSchema.parse({
      id: 'r1',
      externalReferenceId: null,
      expirationDateTime: null,
      referralSource: null,
      team: null,
      details: { dealValue: null, requirements: null },
      customerProfile: { address: null, team: null },
      trackingInfo: null,
    });
    expect(referral.team).toBeNull();
    expect(referral.details?.dealValue).toBeNull();
  });

  it('reads a numeric-string deal value as a number and rejects a non-numeric one', () => {
    expect(referralSchema.parse({ id: 'r', details: { dealValue: '10000' } }).details?.dealValue).toBe(10000);
    const bad = referralSchema.safeParse({ id: 'r', details: { dealValue: 'lots' } });
    expect(bad.success).toBe(false);
  });

  it('requires an id', () => {
    const result = referralSchema.safeParse({ name: 'no id' });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeIssues(result.error)).toMatch(/^id: /);
  });

  it('parses a list page with OData annotations', () => {
    const page = referralListResponseSchema.parse({
      '@odata.context': 'https://api.partner.microsoft.com/v1.0/engagements/$metadata#Referrals',
      '@odata.count': 2,
      '@odata.nextLink': 'http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=abc',
      value: [{ id: 'a' }, { id: 'b', status: 'New' }],
    });
    expect(page.value.map((referral) => referral.id)).toEqual(['a', 'b']);
    expect(page['@odata.nextLink']).toContain('$skiptoken=abc');
    expect(referralListResponseSchema.safeParse({ '@odata.count': 0 }).success).toBe(false);
  });
});

describe('referralCreateSchema', () => {
  it('accepts the documented create request', () => {
    const result = referralCreateSchema.safeParse(DOC_CREATE_REQUEST);
    expect(result.error?.issues).toBeUndefined();
    expect(result.success).toBe(true);
  });

  it('names each missing required field', () => {
    const result = referralCreateSchema.safeParse({ name: 'x' });
    expect(result.success).toBe(false);
    if (result.success) return;
    const message = describeIssues(result.error);
    for (const field of ['type', 'customerProfile', 'consent', 'details']) expect(message).toContain(`${field}:`);
  });

  it('rejects an unknown enum value, an invalid status pair and a 3-letter country', () => {
    const base = { ...DOC_CREATE_REQUEST };
    expect(referralCreateSchema.safeParse({ ...base, type: 'Secret' }).success).toBe(false);
    const pair = referralCreateSchema.safeParse({ ...base, status: 'New', substatus: 'Won' });
    expect(pair.success).toBe(false);
    if (!pair.success) expect(describeIssues(pair.error)).toContain('substatus "Won" is not allowed with status "New"');
    const country = referralCreateSchema.safeParse({
      ...base,
      customerProfile: { ...base.customerProfile, address: { country: 'USA' } },
    });
    expect(country.success).toBe(false);
  });

  it('lets unknown create fields through (newer fields such as partnerRole have no confirmed shape)', () => {
    const parsed = referralCreateSchema.parse({ ...DOC_CREATE_REQUEST, partnerRole: 'Presales' });
    expect(parsed.partnerRole).toBe('Presales');
  });
});

describe('status rules', () => {
  it('accepts exactly the documented status/substatus pairs', () => {
    const valid = new Set([
      'New/Pending',
      'New/Received',
      'Active/Accepted',
      'Closed/Won',
      'Closed/Lost',
      'Closed/Declined',
      'Closed/Expired',
    ]);
    for (const status of REFERRAL_STATUSES) {
      for (const substatus of REFERRAL_SUBSTATUSES) {
        expect(isValidStatusPair(status, substatus), `${status}/${substatus}`).toBe(valid.has(`${status}/${substatus}`));
      }
    }
  });

  it('allows only forward transitions', () => {
    expect(canTransition('New', 'Active')).toBe(true);
    expect(canTransition('New', 'Closed')).toBe(true);
    expect(canTransition('Active', 'Closed')).toBe(true);
    expect(canTransition('Active', 'New')).toBe(false);
    expect(canTransition('Closed', 'Active')).toBe(false);
    expect(canTransition('Closed', 'Closed')).toBe(true);
    expect(canTransition('None', 'New')).toBe(false);
    expect(canTransition('Mystery', 'New')).toBe(false);
  });

  it('treats closed referrals as terminal', () => {
    expect(isTerminal({ status: 'Closed', substatus: 'Won' })).toBe(true);
    expect(isTerminal({ status: 'Closed' })).toBe(true);
    expect(isTerminal({ substatus: 'Expired' })).toBe(true);
    expect(isTerminal({ status: 'Active', substatus: 'Accepted' })).toBe(false);
    expect(isTerminal({ status: null, substatus: null })).toBe(false);
  });
});
