import { describe, expect, it } from 'vitest';
import type { DealTeamUser } from '../../../../src/crm/deal-team.ts';
import type { Referral } from '../../../../src/partner-center/model.ts';
import { planDealTeamSync, TEAM_BASE, TEAM_UNKNOWN_BASE } from '../../../../src/sync/plan/deal-team.ts';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';

/* The three-way merge of the partner team (referral `team` ⇄ the opportunity's owner and team members), as a pure plan. */

const referral = (emails: string[]): Referral => ({ id: 'ref-1', team: emails.map((email) => ({ email, firstName: 'F', lastName: 'L' })) }) as Referral;
const user = (email: string): DealTeamUser => ({ email, firstName: 'U', lastName: email.split('@')[0] });
const plan = (input: { pc: string[]; crm: string[]; users?: string[]; base?: CanonicalRecord }) =>
  planDealTeamSync({
    stamp: { connection: 'crm', cause: 'event' },
    referralId: 'ref-1',
    referral: referral(input.pc),
    ref: { entity: 'opportunity', id: 'opp-1' },
    crm: input.crm.map(user),
    users: (input.users ?? []).map(user),
    base: input.base,
  });
const pcEmails = (p: ReturnType<typeof plan>) => (p.toPc?.value as Array<{ email: string }> | undefined)?.map((m) => m.email);

describe('planDealTeamSync', () => {
  it('a Partner Center member with a CRM user is added to the team, case-insensitively; the CRM\'s members reach the referral', () => {
    const p = plan({ pc: ['Pia@x.com'], crm: ['owner@x.com'], users: ['pia@x.com'] });
    expect(p.addToCrm).toEqual(['pia@x.com']);
    expect(pcEmails(p)).toEqual(['Pia@x.com', 'owner@x.com']);
    expect(p.nextBase[TEAM_BASE]).toEqual(['owner@x.com', 'pia@x.com']);
  });

  it('a member without a CRM user is audited once and never added nor created', () => {
    const first = plan({ pc: ['nobody@x.com'], crm: [] });
    expect(first.addToCrm).toEqual([]);
    expect(first.audit.map((e) => [e.outcome, e.message])).toEqual([['skipped', expect.stringContaining('nobody@x.com has no CRM user')]]);
    expect(first.nextBase[TEAM_UNKNOWN_BASE]).toEqual(['nobody@x.com']);
    const again = plan({ pc: ['nobody@x.com'], crm: [], base: first.nextBase });
    expect(again.audit).toEqual([]);
    expect(again.toPc).toBeNull();
  });

  it('a removal on either side is audited once and kept on the other side', () => {
    const base = plan({ pc: ['a@x.com', 'b@x.com'], crm: ['a@x.com', 'b@x.com'] }).nextBase;
    const p = plan({ pc: ['a@x.com'], crm: ['b@x.com'], base });
    expect(p.addToCrm).toEqual([]);
    expect(p.toPc).toBeNull();
    expect(p.audit.map((e) => e.message)).toEqual([expect.stringContaining('a@x.com is no longer on the opportunity'), expect.stringContaining('b@x.com was removed from the referral')]);
    expect(plan({ pc: ['a@x.com'], crm: ['b@x.com'], base: p.nextBase }).audit).toEqual([]);
  });
});
