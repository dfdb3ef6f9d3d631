import { describe, expect, it } from 'vitest';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';
import type { Link } from '../../../../src/store/types.ts';
import { mergeRecord } from '../../../../src/sync/merge/index.ts';
import { planReconcile, type PairSnapshot } from '../../../../src/sync/plan/reconcile-plan.ts';
import { crmRecord, referral, testMapping } from '../sync-fakes.ts';

/*
 * Issue 11 in the planner: a column the CRM lists in `stateDefaultColumns` (Salesforce's @salesStage in the on-hold
 * and active stages; here the test mapping's `notes`) takes Partner Center's value at an acceptance, either side's,
 * instead of its own being sent as the seller's edit; outside an acceptance it is an ordinary edit.
 */

const BASE: CanonicalRecord = { referralId: 'ref-1', syncWithPartnerCenter: true, name: 'Deal', dealValue: 100, status: 'New', notes: 'Qualified' };

function snapshot(input: { pcStatus: string; crmValues: Record<string, unknown>; defaults?: string[]; base?: CanonicalRecord }): PairSnapshot {
  const record = crmRecord({ referralid: 'ref-1', syncwithpc: true, name: 'Deal', value: 100, ...input.crmValues }, input.defaults ? { stateDefaultColumns: input.defaults } : {});
  const link: Link = { connection: 'crm', referralId: 'ref-1', crmEntity: 'opportunity', crmId: 'opp-1', base: input.base ?? BASE, pcEtag: 'e0', crmVersion: 'v0', syncState: 'ok', lastError: null, createdAt: '2026-01-01T09:00:00.000Z', updatedAt: '2026-01-01T09:00:00.000Z' };
  const substatus = input.pcStatus === 'New' ? 'Pending' : 'Accepted';
  return {
    stamp: { connection: 'crm', cause: 'event' },
    ownsReferralCrmId: false,
    referral: referral({ status: input.pcStatus, substatus, details: { dealValue: 100, notes: 'Qualified' } }),
    referralId: 'ref-1',
    eTag: 'e1',
    record,
    mapping: testMapping(),
    link,
    origin: 'pc',
    microsoftReferral: undefined,
    intent: null,
    pcFieldWrites: {},
    crmChangedAt: record.modifiedAt,
    crmFieldChangedAt: {},
    held: [],
    heldValue: undefined,
    decision: null,
    audit: [],
  };
}

describe('planReconcile: values that follow the CRM state at an acceptance', () => {
  it('the seller accepts in the CRM: the default value is not sent; Partner Center’s is written to the CRM', () => {
    const p = planReconcile(snapshot({ pcStatus: 'New', crmValues: { statuscode: 'Active', notes: 'Accepted' }, defaults: ['notes'] }), mergeRecord);
    expect(p.pcPatch?.changes).toEqual([{ path: ['status'], value: 'Active' }]);
    expect(p.crmUpdate?.changes).toEqual({ notes: 'Qualified' });
    expect(p.commit.link.base).toMatchObject({ status: 'Active', notes: 'Qualified' });
  });

  it('Partner Center accepts: the value the CRM could not read on hold goes with the acceptance', () => {
    const p = planReconcile(snapshot({ pcStatus: 'Active', crmValues: { statuscode: 'New' }, defaults: ['notes'] }), mergeRecord);
    expect(p.crmUpdate?.changes).toEqual({ statuscode: 'Active', notes: 'Qualified' });
    expect(p.pcPatch).toBeNull();
  });

  it('without an acceptance the listed value is the seller’s edit', () => {
    const p = planReconcile(snapshot({ pcStatus: 'Active', crmValues: { statuscode: 'Active', notes: 'Accepted' }, defaults: ['notes'], base: { ...BASE, status: 'Active' } }), mergeRecord);
    expect(p.pcPatch?.changes).toEqual([{ path: ['details', 'notes'], value: 'Accepted' }]);
    expect(p.crmUpdate).toBeNull();
  });

  it('a column not listed is the seller’s edit even at an acceptance', () => {
    const p = planReconcile(snapshot({ pcStatus: 'New', crmValues: { statuscode: 'Active', notes: 'Accepted' } }), mergeRecord);
    expect(p.pcPatch?.changes).toEqual(expect.arrayContaining([{ path: ['status'], value: 'Active' }, { path: ['details', 'notes'], value: 'Accepted' }]));
  });
});
