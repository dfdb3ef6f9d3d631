import { describe, expect, it } from 'vitest';
import { applyFieldChanges, draftReferral, SOLUTIONS_FIELD } from '../../../src/sync/referral-body.ts';
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
      solutionIds: ['SOL-34104-EBB', 'SOL-20816-QWE'],
    });
    expect('body' in result).toBe(true);
    if (!('body' in result)) return;
    expect(result.body).toMatchObject({
      type: 'Shared',
      externalReferenceId: 'crm-1',
      consent: { consentToShareReferralWithMicrosoftSellers: true },
      customerProfile: { name: 'Contoso Ltd', address: { country: 'US' }, team: [{ email: 'sue@contoso.com' }] },
      inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' },
    });
    expect(result.body.details.requirements?.solutions).toEqual([
      { type: 'Name', id: 'SOL-34104-EBB' },
      { type: 'Name', id: 'SOL-20816-QWE' },
    ]);
    expect(result.body.target).toEqual([{ type: 'SolutionProfile', id: 'SOL-34104-EBB' }]);
    expect(referralCreateSchema.safeParse(result.body).success).toBe(true);
  });

  it('keeps solutions the mapping already put on the referral and adds the deal’s without duplicates', () => {
    const result = draftReferral({
      crmId: 'crm-1',
      changes: [
        { path: 'name', value: 'Deal' },
        { path: 'details.requirements.solutions', value: [{ type: 'Name', id: 'sol-34104-ebb' }] },
      ],
      customer,
      assistanceRequested: true,
      visibleToMicrosoft: true,
      solutionIds: ['SOL-34104-EBB', 'SOL-58321-SEC'],
    });
    expect('body' in result && result.body.details.requirements?.solutions).toEqual([
      { type: 'Name', id: 'sol-34104-ebb' },
      { type: 'Name', id: 'SOL-58321-SEC' },
    ]);
  });

  it('refuses to send a co-sell deal without a Microsoft solution, naming the field to fix', () => {
    const base = { crmId: 'c', changes: [{ path: 'name', value: 'Deal' }], customer, assistanceRequested: true, visibleToMicrosoft: true };
    const none = draftReferral({ ...base, solutionIds: [] });
    expect('problems' in none && none.problems).toEqual([{ field: SOLUTIONS_FIELD, reason: expect.stringContaining('add at least one Microsoft solution') }]);
    const noCatalogue = draftReferral({ ...base, solutionIds: null });
    expect('problems' in noCatalogue && noCatalogue.problems[0]?.reason).toContain('cosell setup');
  });

  it('a partner-led deal (visible, no help) needs no solution and names none', () => {
    const result = draftReferral({ crmId: 'c', changes: [{ path: 'name', value: 'Partner-led' }], customer, assistanceRequested: false, visibleToMicrosoft: true, solutionIds: [] });
    expect('body' in result && result.body).toMatchObject({ type: 'Independent', consent: { consentToShareReferralWithMicrosoftSellers: true } });
    expect('body' in result && result.body.target).toBeUndefined();
    expect('body' in result && result.body.details.requirements).toBeUndefined();
  });

  it('keeps a deal private without help or visibility', () => {
    const result = draftReferral({ crmId: 'c', changes: [{ path: 'name', value: 'Quiet deal' }], customer, assistanceRequested: false, visibleToMicrosoft: false, solutionIds: [] });
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
      solutionIds: ['SOL-34104-EBB'],
    });
    expect('problems' in result && result.problems.map((p) => p.field).sort()).toEqual(['customer.contacts', 'customer.country']);
  });
});
