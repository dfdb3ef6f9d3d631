import { describe, expect, it } from 'vitest';
import { changedColumns } from '../../../../src/crm/dynamics/webhook.ts';
import { crmChangedAt, crmFieldChangedAt } from '../../../../src/sync/plan/change-times.ts';
import { createdLinkCommit, crmCreateValues, entityFor, referralDraftFor } from '../../../../src/sync/plan/create-plans.ts';
import { crmCanonical } from '../../../../src/sync/plan/crm-canonical.ts';
import { crmRecord, referral, testMapping } from '../sync-fakes.ts';

const connection = (leads: boolean) => ({ mappings: { opportunity: testMapping(), lead: testMapping({}, 'lead') }, policy: { leads, ownsReferralCrmId: true } });

describe('entityFor', () => {
  it('accepted, co-sell and outgoing referrals are opportunities; closed ones are not synced', () => {
    expect(entityFor(referral({ status: 'Active', type: 'Independent' }), connection(false))).toBe('opportunity');
    expect(entityFor(referral({ status: 'New', substatus: 'Pending', type: 'Shared' }), connection(false))).toBe('opportunity');
    expect(entityFor(referral({ status: 'Closed', substatus: 'Won' }), connection(true))).toBeNull();
  });

  it('an unaccepted incoming lead is a CRM lead only while leads are on', () => {
    const lead = referral({ status: 'New', substatus: 'Pending', type: 'Independent', direction: 'Incoming' });
    expect(entityFor(lead, connection(true))).toBe('lead');
    expect(entityFor(lead, connection(false))).toBeNull();
  });
});

describe('creating a pair', () => {
  it('a CRM record made from a referral carries what flows to the CRM plus the link fields', () => {
    const mapping = testMapping();
    const pc = mapping.referralToCanonical(referral({ name: 'New deal', details: { dealValue: 5 } }));
    expect(crmCreateValues(mapping, pc, 'ref-9')).toEqual({ name: 'New deal', dealValue: 5, status: 'Active', notes: null, referralId: 'ref-9', syncWithPartnerCenter: true });
  });

  it('the created link’s base takes the creating side where the records differ', () => {
    const mapping = testMapping();
    const pc = { name: 'PC name', dealValue: 5 };
    const record = crmRecord({ name: 'CRM name', value: 5 });
    const input = { stamp: { connection: 'crm', cause: 'event' }, referralId: 'ref-1', eTag: 'e1', record, mapping, pc, audit: [], heldValue: undefined };
    expect(createdLinkCommit({ ...input, origin: 'pc' }).link.base).toEqual({ name: 'CRM name', dealValue: 5 });
    const fromCrm = createdLinkCommit({ ...input, origin: 'crm' });
    expect(fromCrm.link.base).toEqual({ name: 'PC name', dealValue: 5 });
    expect(fromCrm.audit.at(-1)).toMatchObject({ outcome: 'linked', message: 'linked (from the CRM)', crmId: 'opp-1' });
  });

  it('a CRM deal Partner Center would reject yields the reasons, not a body', () => {
    const mapping = testMapping();
    const crm = { name: '', dealValue: 5 };
    const draft = referralDraftFor({ mapping, crm, crmId: 'opp-1', customer: null, solutionIds: null });
    expect('problems' in draft && draft.problems.map((p) => p.field)).toEqual(['customer', 'customer.country', 'name']);
    const ok = referralDraftFor({ mapping, crm: { name: 'Deal' }, crmId: 'opp-1', customer: { name: 'Contoso', country: 'US', contacts: [] }, solutionIds: null });
    expect('body' in ok && ok.body).toMatchObject({ name: 'Deal', externalReferenceId: 'opp-1', type: 'Independent' });
  });

  it('a value the CRM had to shorten reads as the full value it was cut from', () => {
    const mapping = testMapping();
    const record = crmRecord({ name: 'A very long' });
    const heldValue = (_entity: string, _column: string, value: unknown) => String(value).slice(0, 11);
    expect(crmCanonical({ mapping, record, references: [{ name: 'A very long name' }], heldValue }).name).toBe('A very long name');
    expect(crmCanonical({ mapping, record, references: [{ name: 'A very long name' }], heldValue: undefined }).name).toBe('A very long');
  });
});

describe('change times', () => {
  it('a whole-second CRM time is refined by the arrival of its notification, capped to that second', () => {
    const record = crmRecord({}, { modifiedAt: '2026-01-01T12:00:00.000Z' });
    expect(crmChangedAt(record, '2026-01-01T12:00:00.150Z')).toBe('2026-01-01T12:00:00.150Z');
    expect(crmChangedAt(record, '2026-01-01T12:00:05.000Z')).toBe('2026-01-01T12:00:00.999Z');
    expect(crmChangedAt({ ...record, modifiedByUs: true }, '2026-01-01T12:00:00.150Z')).toBe('2026-01-01T12:00:00.000Z');
  });

  it('per field, from the notifications since the last commit that name the field’s column', () => {
    const payload = JSON.stringify({ MessageName: 'Update', OperationCreatedOn: '2026-01-01T12:00:03Z', InputParameters: [{ key: 'Target', value: { Attributes: [{ key: 'value', value: 5 }] } }] });
    expect(changedColumns(payload)).not.toBeNull();
    const times = crmFieldChangedAt({ since: '2026-01-01T11:00:00.000Z', mapping: testMapping(), notifications: [{ receivedAt: '2026-01-01T12:00:04.000Z', payload }], changes: changedColumns });
    expect(Object.keys(times)).toEqual(['dealValue']);
    expect(crmFieldChangedAt({ since: '2026-01-01T13:00:00.000Z', mapping: testMapping(), notifications: [{ receivedAt: '2026-01-01T12:00:04.000Z', payload }], changes: changedColumns })).toEqual({});
  });
});
