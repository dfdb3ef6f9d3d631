import { describe, expect, it } from 'vitest';
import { applyFieldChanges, draftReferral } from '../../../src/sync/referral-body.ts';
import { referralCreateSchema } from '../../../src/partner-center/model.ts';

const customer = {
  name: 'Contoso Ltd',
  postalCode: '98052',
  city: 'Redmond',
  country: 'US',
  contacts: [{ firstName: 'Sue', lastName: 'Smith', email: 'sue@contoso.com' }],
};

describe('referral drafts for CRM-created deals', () => {
  it('applies dotted and segment paths, creating parents', () => {
    const out = applyFieldChanges({}, [
      { path: 'details.dealValue', value: 10 },
      { path: ['details', 'currency'], value: 'USD' },
      { path: '/name', value: 'Deal' },
    ]);
    expect(out).toEqual({ details: { dealValue: 10, currency: 'USD' }, name: 'Deal' });
  });

  it('makes a co-sell (Shared, visible) referral when help is requested, valid for the create schema', () => {
    const result = draftReferral({
      crmId: 'crm-1',
      changes: [
        { path: 'name', value: 'Contoso ERP' },
        { path: 'details.dealValue', value: 5000 },
        { path: 'details.currency', value: 'USD' },
        { path: 'inviteContext.assistanceRequestCode', value: 'ProofOfConceptOrDemo' },
      ],
      customer,
      assistanceRequested: true,
      visibleToMicrosoft: false,
    });
    expect('body' in result).toBe(true);
    if (!('body' in result)) return;
    expect(result.body).toMatchObject({
      type: 'Shared',
      externalReferenceId: 'crm-1',
      consent: { consentToShareReferralWithMicrosoftSellers: true },
      customerProfile: { name: 'Contoso Ltd', address: { country: 'US' }, team: [{ email: 'sue@contoso.com' }] },
    });
    expect(referralCreateSchema.safeParse(result.body).success).toBe(true);
  });

  it('keeps a deal private without help or visibility', () => {
    const result = draftReferral({ crmId: 'c', changes: [{ path: 'name', value: 'Quiet deal' }], customer, assistanceRequested: false, visibleToMicrosoft: false });
    expect('body' in result && result.body.type).toBe('Independent');
    expect('body' in result && result.body.consent?.consentToShareReferralWithMicrosoftSellers).toBe(false);
  });

  it('refuses to send a co-sell request without a customer contact, or with a bad country', () => {
    const result = draftReferral({
      crmId: 'c',
      changes: [{ path: 'name', value: 'Deal' }],
      customer: { ...customer, country: 'United States', contacts: [] },
      assistanceRequested: true,
      visibleToMicrosoft: true,
    });
    expect('problems' in result && result.problems.map((p) => p.field).sort()).toEqual(['customer.contacts', 'customer.country']);
  });
});
