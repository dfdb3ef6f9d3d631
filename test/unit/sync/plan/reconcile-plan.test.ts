import { describe, expect, it } from 'vitest';
import type { HeldConflict, Link } from '../../../../src/store/types.ts';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';
import { mergeRecord } from '../../../../src/sync/merge/index.ts';
import { planReconcile, type PairSnapshot } from '../../../../src/sync/plan/reconcile-plan.ts';
import { DECLINE_REASON_MISSING } from '../../../../src/sync/plan/co-sell-decision.ts';
import { NOT_ACCEPTED_YET } from '../../../../src/sync/plan/hold-backs.ts';
import { CRM_MATCHES_BASE } from '../../../../src/sync/plan/crm-mirror.ts';
import { coSellTestMapping, crmRecord, referral, testMapping } from '../sync-fakes.ts';

/* The planner alone: plain data in, a plan out. No store, no clients, no HTTP. */

const BASE: CanonicalRecord = { referralId: 'ref-1', syncWithPartnerCenter: true, name: 'Deal', dealValue: 100, status: 'Active', notes: null };
const CRM_VALUES = { referralid: 'ref-1', syncwithpc: true, name: 'Deal', value: 100, statuscode: 'Active', notes: null };

function link(base: CanonicalRecord = BASE, over: Partial<Link> = {}): Link {
  return { connection: 'crm', referralId: 'ref-1', crmEntity: 'opportunity', crmId: 'opp-1', base, pcEtag: 'e0', crmVersion: 'v0', syncState: 'ok', lastError: null, createdAt: '2026-01-01T09:00:00.000Z', updatedAt: '2026-01-01T09:00:00.000Z', ...over };
}

function snapshot(over: Partial<PairSnapshot> & { pcData?: Record<string, unknown>; crmValues?: Record<string, unknown> } = {}): PairSnapshot {
  const { pcData, crmValues, ...rest } = over;
  const record = crmRecord({ ...CRM_VALUES, ...crmValues });
  return {
    stamp: { connection: 'crm', cause: 'event' },
    ownsReferralCrmId: false,
    referral: referral({ details: { dealValue: 100 }, ...pcData }),
    referralId: 'ref-1',
    eTag: 'e1',
    record,
    mapping: testMapping(),
    link: link(),
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
    ...rest,
  };
}

const plan = (over: Parameters<typeof snapshot>[0] = {}) => planReconcile(snapshot(over), mergeRecord);
const outcomes = (p: ReturnType<typeof plan>) => p.commit.audit.map((a) => `${a.outcome} ${a.direction} ${a.field ?? ''}`.trim());

describe('planReconcile', () => {
  it('plans nothing but the commit when both sides equal the base', () => {
    const p = plan();
    expect(p).toMatchObject({ intent: null, crmUpdate: null, pcPatch: null });
    expect(p.commit.link).toMatchObject({ base: BASE, pcEtag: 'e1', crmVersion: 'v1', syncState: 'ok' });
    expect(p.commit.audit).toEqual([]);
  });

  it('sends a Partner Center change to the CRM, announced as a write intent first', () => {
    const p = plan({ pcData: { name: 'Deal 2' } });
    expect(p.crmUpdate).toMatchObject({ ref: { id: 'opp-1' }, changes: { name: 'Deal 2' }, ifVersion: 'v1', status: { ok: true } });
    expect(p.intent).toEqual({ connection: 'crm', referralId: 'ref-1', crmEntity: 'opportunity', base: BASE, toCrm: { name: 'Deal 2' }, toPc: {} });
    expect(p.pcPatch).toBeNull();
    expect(p.commit.link.base.name).toBe('Deal 2');
    expect(outcomes(p)).toEqual(['written to-crm name']);
    expect(p.crmUpdate?.fresh.map((a) => a.field)).toEqual(['name']);
  });

  it('sends a CRM change to Partner Center with If-Match, dating the written value by the CRM edit', () => {
    const p = plan({ crmValues: { value: 250 } });
    expect(p.pcPatch).toEqual({ referralId: 'ref-1', changes: [{ path: ['details', 'dealValue'], value: 250 }], ifMatch: 'e1' });
    expect(p.crmUpdate).toBeNull();
    expect(p.commit.pcFieldWrites).toEqual({ dealValue: { value: 250, changedAt: '2026-01-01T10:00:00.000Z' } });
    expect(outcomes(p)).toEqual(['written to-pc dealValue']);
  });

  describe('newest wins', () => {
    const both = { pcData: { details: { dealValue: 200 }, updatedDateTime: '2026-01-01T12:00:00.000Z' }, crmValues: { value: 300 } };

    it('by the records’ times when nothing dates the field better', () => {
      const p = plan({ ...both, crmChangedAt: '2026-01-01T11:00:00.000Z' });
      expect(p.crmUpdate?.changes).toEqual({ value: 200 });
      expect(outcomes(p)).toEqual(['written to-crm dealValue', 'conflict to-crm dealValue']);
    });

    it('per field: a CRM notification naming the field dates it after the Partner Center edit', () => {
      const p = plan({ ...both, crmChangedAt: '2026-01-01T11:00:00.000Z', crmFieldChangedAt: { dealValue: '2026-01-01T13:00:00.000Z' } });
      expect(p.pcPatch?.changes).toEqual([{ path: ['details', 'dealValue'], value: 300 }]);
    });

    it('a value our sync wrote to Partner Center is as old as the CRM edit it came from, not our write', () => {
      const p = plan({ ...both, crmChangedAt: '2026-01-01T11:00:00.000Z', pcFieldWrites: { dealValue: { value: 200, changedAt: '2026-01-01T09:30:00.000Z' } } });
      expect(p.pcPatch?.changes).toEqual([{ path: ['details', 'dealValue'], value: 300 }]);
    });
  });

  describe('hold-backs toward Partner Center', () => {
    it('a closed referral takes no edit: skipped, and the base keeps the old value so it still differs later', () => {
      const p = plan({ pcData: { status: 'Closed', substatus: 'Won' }, crmValues: { statuscode: 'Closed', notes: 'call back' } });
      expect(p.pcPatch).toBeNull();
      expect(p.commit.audit.filter((a) => a.outcome === 'skipped').map((a) => [a.field, a.message])).toEqual([
        ['notes', 'the referral is closed in Partner Center and cannot be edited'],
      ]);
      expect(p.commit.link.base.notes).toBeNull();
    });

    it('an incoming referral not accepted yet waits while its CRM record is on hold', () => {
      const s = snapshot({ pcData: { status: 'New', substatus: 'Pending' }, crmValues: { statuscode: 'New', name: 'Renamed' } });
      const p = planReconcile({ ...s, record: { ...s.record, onHold: true } }, mergeRecord);
      expect(p.pcPatch).toBeNull();
      expect(p.commit.audit.find((a) => a.outcome === 'skipped')).toMatchObject({ field: 'name', message: expect.stringContaining('on hold') });
      expect(p.commit.link.base.name).toBe('Deal');
    });

    const unanswered = { pcData: { status: 'New', substatus: 'Pending', direction: 'Incoming' }, crmValues: { statuscode: 'New', name: 'Renamed' }, link: link({ ...BASE, status: 'New' }) };

    it('an incoming referral not accepted yet takes no edit, on hold or not: skipped, base kept', () => {
      const p = plan(unanswered);
      expect(p.pcPatch).toBeNull();
      expect(p.commit.audit.filter((a) => a.outcome === 'skipped').map((a) => [a.field, a.message])).toEqual([['name', NOT_ACCEPTED_YET]]);
      expect(p.commit.link.base.name).toBe('Deal');
    });

    it('the waiting edit is audited once: a later pass with the same CRM version holds it silently', () => {
      const p = plan({ ...unanswered, link: link({ ...BASE, status: 'New' }, { crmVersion: 'v1' }) });
      expect(p.pcPatch).toBeNull();
      expect(p.commit.audit).toEqual([]);
      expect(p.commit.link.base.name).toBe('Deal');
    });

    it('only its CRM id may go before the acceptance', () => {
      expect(plan({ ...unanswered, ownsReferralCrmId: true }).pcPatch?.changes).toEqual([{ path: ['externalReferenceId'], value: 'opp-1' }]);
    });

    it('a CRM change that accepts it carries the waiting edits in the same PATCH', () => {
      const p = plan({ ...unanswered, crmValues: { statuscode: 'Active', name: 'Renamed' } });
      expect(p.pcPatch?.changes).toEqual(expect.arrayContaining([{ path: ['status'], value: 'Active' }, { path: ['name'], value: 'Renamed' }]));
      expect(p.commit.audit.filter((a) => a.outcome === 'skipped')).toEqual([]);
    });

    it('once accepted, the edit that waited goes out', () => {
      const p = plan({ pcData: { status: 'Active', substatus: 'Accepted', direction: 'Incoming' }, crmValues: { name: 'Renamed' } });
      expect(p.pcPatch?.changes).toEqual([{ path: ['name'], value: 'Renamed' }]);
    });

    it('a status change Partner Center’s status table rejects is held back; other fields still go', () => {
      const p = plan({ crmValues: { statuscode: 'New', name: 'Renamed' } });
      expect(p.pcPatch?.changes).toEqual([{ path: ['name'], value: 'Renamed' }]);
      expect(p.commit.audit.find((a) => a.outcome === 'skipped')).toMatchObject({ field: 'status', message: 'Partner Center does not allow Active → New' });
      expect(p.commit.link.base.status).toBe('Active');
    });
  });

  describe('manual conflicts', () => {
    const both = { mapping: testMapping({ notes: 'manual' }), pcData: { details: { dealValue: 100, notes: 'pc note' } }, crmValues: { notes: 'crm note' } };

    it('are held: nothing written either way, the record shows the conflict, the hold is committed', () => {
      const p = plan(both);
      expect(p.pcPatch).toBeNull();
      expect(p.crmUpdate).toMatchObject({ changes: {}, status: { ok: false, conflict: true } });
      expect(p.commit.holdConflicts).toEqual([{ field: 'notes', base: null, pc: 'pc note', crm: 'crm note' }]);
      expect(outcomes(p)).toEqual(['held none notes']);
    });

    it('are audited once: a hold already stored with the same values writes nothing new', () => {
      const held: HeldConflict = { id: 1, connection: 'crm', referralId: 'ref-1', field: 'notes', base: null, pc: 'pc note', crm: 'crm note', detectedAt: 'x' };
      const p = plan({ ...both, held: [held] });
      expect(p.crmUpdate).toBeNull();
      expect(p.commit.audit).toEqual([]);
      expect(p.commit.releaseConflicts).toEqual([]);
    });

    it('an operator’s resolution is written to the side that lacks it and releases the hold', () => {
      const held: HeldConflict = { id: 1, connection: 'crm', referralId: 'ref-1', field: 'notes', base: null, pc: 'pc note', crm: 'crm note', detectedAt: 'x', resolution: { take: 'crm', value: 'crm note' } };
      const p = plan({ ...both, held: [held] });
      expect(p.pcPatch?.changes).toEqual([{ path: ['details', 'notes'], value: 'crm note' }]);
      expect(p.crmUpdate).toMatchObject({ changes: {}, status: { ok: true } });
      expect(p.commit.releaseConflicts).toEqual(['notes']);
      expect(p.commit.audit[0]).toMatchObject({ field: 'notes', message: "conflict resolved by an operator: took the CRM's value" });
    });
  });

  describe("the referral's CRM id", () => {
    it('is written by the connection that owns it', () => {
      expect(plan({ ownsReferralCrmId: true }).pcPatch?.changes).toEqual([{ path: ['externalReferenceId'], value: 'opp-1' }]);
    });

    it('is never written by another connection', () => {
      expect(plan({ ownsReferralCrmId: false }).pcPatch).toBeNull();
    });

    it('is left alone on a referral born in a CRM (it carries that CRM’s id)', () => {
      expect(plan({ ownsReferralCrmId: true, pcData: { direction: 'Outgoing', externalReferenceId: 'sf-006' } }).pcPatch).toBeNull();
    });

    it('is left alone when it is already this record’s id, or the referral is closed', () => {
      expect(plan({ ownsReferralCrmId: true, pcData: { externalReferenceId: 'opp-1' } }).pcPatch).toBeNull();
      expect(plan({ ownsReferralCrmId: true, pcData: { status: 'Closed', substatus: 'Lost' }, crmValues: { statuscode: 'Closed' } }).pcPatch).toBeNull();
    });
  });

  describe('after a crash between a write and its commit', () => {
    // The last sync announced dealValue 200 to the CRM; it landed; then a Microsoft seller set 300 in Partner Center.
    const crashed = { pcData: { details: { dealValue: 300 }, updatedDateTime: '2026-01-01T09:00:00.000Z' }, crmValues: { value: 200 } };
    const intent = { connection: 'crm', referralId: 'ref-1', crmEntity: 'opportunity', base: BASE, toCrm: { dealValue: 200 }, toPc: {} };

    it('the write intent recognises the landed value as ours, so the later Partner Center edit wins', () => {
      const p = plan({ ...crashed, intent });
      expect(p.crmUpdate?.changes).toEqual({ value: 300 });
      expect(p.pcPatch).toBeNull();
      expect(p.intent?.base.dealValue).toBe(200);
    });

    it('without the intent the same state reads as a conflict, decided by the records’ times (the regression this guards)', () => {
      const p = plan(crashed);
      expect(p.pcPatch?.changes).toEqual([{ path: ['details', 'dealValue'], value: 200 }]);
    });
  });

  it('a referral Partner Center closed reaches the CRM with an Audit line naming its exact state and reason', () => {
    const p = plan({ pcData: { status: 'Closed', substatus: 'Expired', statusReason: 'Not answered within 14 days.' } });
    expect(p.crmUpdate?.changes).toEqual({ statuscode: 'Closed' });
    expect(p.crmUpdate?.fresh.map((a) => a.message)).toContain('referral Closed/Expired in Partner Center: Not answered within 14 days.');
  });

  it('a first link without a base is committed as linked, with no intent to protect, origin side authoritative', () => {
    const p = plan({ link: null, origin: 'crm', crmValues: { name: 'CRM name' } });
    expect(p.intent).toBeNull();
    expect(p.pcPatch?.changes).toEqual([{ path: ['name'], value: 'CRM name' }]);
    expect(outcomes(p)).toContain('linked none');
  });

  it('leaves a link in error with a status write even when nothing changed', () => {
    const p = plan({ link: link(BASE, { syncState: 'error', lastError: 'gone' }) });
    expect(p.crmUpdate).toMatchObject({ changes: {}, status: { ok: true } });
    expect(p.commit.link).toMatchObject({ syncState: 'ok', lastError: null });
  });
});

describe('the seller’s answer to an incoming co-sell referral', () => {
  const waiting = { pcData: { status: 'New', substatus: 'Pending', direction: 'Incoming' } };
  const sentPaths = (plan: ReturnType<typeof planReconcile>) => (plan.pcPatch?.changes ?? []).map((c) => [c.path, c.value]);

  it('Decline with a reason sends Closed/Declined with the reason, never Lost, and nothing else', () => {
    const plan = planReconcile(snapshot({ ...waiting, crmValues: { name: 'Renamed meanwhile' }, decision: { verdict: 'decline', reason: 'Customer not interested' } }), mergeRecord);
    expect(sentPaths(plan)).toEqual([
      [['status'], 'Closed'],
      [['substatus'], 'Declined'],
      [['statusReason'], 'Customer not interested'],
    ]);
    expect(plan.commit.audit.map((a) => a.message)).toContain('co-sell referral declined in the CRM: Customer not interested');
    // The rename waits for the next sync: its base stays, so it still differs then.
    expect(plan.commit.link.base.name).toBe('Deal');
  });

  it('Decline without a reason sends nothing and says which field to fill', () => {
    const plan = planReconcile(snapshot({ ...waiting, decision: { verdict: 'decline', reason: undefined } }), mergeRecord);
    expect(plan.pcPatch).toBeNull();
    expect(plan.commit.audit.map((a) => a.message)).toContain(DECLINE_REASON_MISSING);
  });

  it('Accept sends Active/Accepted', () => {
    const plan = planReconcile(snapshot({ ...waiting, decision: { verdict: 'accept' } }), mergeRecord);
    expect(sentPaths(plan)).toEqual([
      [['status'], 'Active'],
      [['substatus'], 'Accepted'],
    ]);
  });

  it('Accept carries the edits that waited in the same PATCH, after the status', () => {
    const plan = planReconcile(snapshot({ ...waiting, crmValues: { name: 'Renamed meanwhile' }, decision: { verdict: 'accept' } }), mergeRecord);
    expect(sentPaths(plan)).toEqual([
      [['status'], 'Active'],
      [['substatus'], 'Accepted'],
      [['name'], 'Renamed meanwhile'],
    ]);
    expect(plan.commit.link.base.name).toBe('Renamed meanwhile');
  });

  it('a decision left in the CRM after the referral was answered changes nothing', () => {
    const plan = planReconcile(snapshot({ decision: { verdict: 'decline', reason: 'Other' } }), mergeRecord);
    expect(plan.pcPatch).toBeNull();
    expect(plan.commit.audit.some((a) => a.message?.includes('declined in the CRM'))).toBe(false);
  });
});

describe('a private deal whose seller asks for Microsoft’s help', () => {
  const privateDeal = {
    mapping: coSellTestMapping(),
    link: link({ ...BASE, howCanMicrosoftHelp: null, referralVisibility: null }),
    pcData: { direction: 'Outgoing', type: 'Independent' },
    crmValues: { help: 'ProofOfConceptOrDemo', visible: null },
  };

  it('with a solution: made co-sell in the same PATCH (Shared, visible, the solution), Microsoft to connect next', () => {
    const p = plan({ ...privateDeal, dealSolutions: ['SOL-1'] });
    expect(p.coSellUpgrade).toBe(true);
    expect(p.pcPatch?.changes).toEqual(
      expect.arrayContaining([
        { path: ['inviteContext', 'assistanceRequestCode'], value: 'ProofOfConceptOrDemo' },
        { path: ['type'], value: 'Shared' },
        { path: ['consent', 'consentToShareReferralWithMicrosoftSellers'], value: true },
        { path: ['details', 'requirements'], value: { solutions: [{ type: 'Name', id: 'SOL-1' }] } },
      ]),
    );
  });

  it('without a solution: the help request waits, and the record gets ✖ with the field to fix', () => {
    const p = plan({ ...privateDeal, dealSolutions: [] });
    expect(p.coSellUpgrade).toBe(false);
    expect(p.pcPatch).toBeNull();
    expect(p.crmUpdate?.status.ok).toBe(false);
    expect(p.crmUpdate?.fresh.map((a) => a.message)).toEqual([expect.stringContaining('Microsoft Solutions: add at least one Microsoft solution')]);
    expect(p.commit.link.base.howCanMicrosoftHelp).toBeNull();
  });

  it('solutions not read (no help asked, or already co-sell): nothing about co-sell is planned', () => {
    expect(plan({ ...privateDeal, pcData: { direction: 'Outgoing', type: 'Shared' } }).coSellUpgrade).toBe(false);
  });

  describe('the record as the base (optimistic CRM writes, issue 12)', () => {
    const unanswered = { pcData: { status: 'New', substatus: 'Pending', direction: 'Incoming' }, crmValues: { statuscode: 'New', name: 'Renamed' }, link: link({ ...BASE, status: 'New' }) };
    const manual = { mapping: testMapping({ notes: 'manual' }), pcData: { details: { dealValue: 100, notes: 'pc note' } }, crmValues: { notes: 'crm note' } };

    it('marks a committed base that is exactly what the record holds once written', () => {
      expect(plan().commit.link.base[CRM_MATCHES_BASE]).toBe(true);
      expect(plan({ pcData: { name: 'Deal 2' } }).commit.link.base).toMatchObject({ name: 'Deal 2', [CRM_MATCHES_BASE]: true });
      expect(plan({ crmValues: { value: 250 } }).commit.link.base).toMatchObject({ dealValue: 250, [CRM_MATCHES_BASE]: true });
    });

    it('does not mark it when the record holds what the base does not: a held-back edit, a held conflict', () => {
      const heldBack = plan(unanswered);
      expect(heldBack.commit.link.base.name).toBe('Deal');
      expect(heldBack.commit.link.base[CRM_MATCHES_BASE]).toBeUndefined();
      expect(plan(manual).commit.link.base[CRM_MATCHES_BASE]).toBeUndefined();
      // A mark left from an earlier commit does not survive either.
      expect(plan({ ...unanswered, link: link({ ...BASE, status: 'New', [CRM_MATCHES_BASE]: true }) }).commit.link.base[CRM_MATCHES_BASE]).toBeUndefined();
    });

    it('plans a record it did not read against the base: the Partner Center change only, with If-Match on the stored version', () => {
      const p = plan({ crmAssumed: true, record: crmRecord({}, { version: 'v0', modifiedByUs: true }), link: link({ ...BASE, [CRM_MATCHES_BASE]: true }), pcData: { name: 'Deal 2', details: { dealValue: 300 } } });
      expect(p.crmUpdate).toMatchObject({ changes: { name: 'Deal 2', value: 300 }, ifVersion: 'v0', status: { ok: true } });
      expect(p.pcPatch).toBeNull();
      expect(p.commit.link).toMatchObject({ crmVersion: 'v0', base: { name: 'Deal 2', dealValue: 300, [CRM_MATCHES_BASE]: true } });
    });
  });
});
