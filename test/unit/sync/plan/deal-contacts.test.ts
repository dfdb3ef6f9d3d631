import { describe, expect, it } from 'vitest';
import type { CustomerContact } from '../../../../src/crm/connector.ts';
import type { Referral } from '../../../../src/partner-center/model.ts';
import { CONTACTS_BASE, CONTACTS_REMOVED_BASE, planDealContactsSync } from '../../../../src/sync/plan/deal-contacts.ts';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';

/* The three-way merge of a deal's customer contacts (CRM contacts ⇄ customerProfile.team), keyed by e-mail, as a pure plan. */

type Person = { email: string; firstName?: string; lastName?: string; phone?: string };
const referral = (team: Person[]): Referral =>
  ({ id: 'ref-1', customerProfile: { name: 'Contoso', team: team.map((p) => ({ email: p.email, firstName: p.firstName, lastName: p.lastName, phoneNumber: p.phone, contactPreference: { locale: 'en-us' } })) } }) as Referral;
const plan = (input: { crm: CustomerContact[]; pc: Person[]; base?: CanonicalRecord; propagate?: boolean }) =>
  planDealContactsSync({
    stamp: { connection: 'crm', cause: 'event' },
    referralId: 'ref-1',
    referral: referral(input.pc),
    ref: { entity: 'opportunity', id: 'opp-1' },
    crm: input.crm,
    base: input.base,
    propagateRemovals: input.propagate === true,
  });
const pcEmails = (p: ReturnType<typeof plan>) => (p.toPc?.value as Array<{ email: string }> | undefined)?.map((m) => m.email);
const ann = { email: 'ann@contoso.com', firstName: 'Ann', lastName: 'Lee' };
const bob = { email: 'bob@contoso.com', firstName: 'Bob', lastName: 'Ray' };
const cat = { email: 'cat@contoso.com', lastName: 'Cat' };

describe('planDealContactsSync', () => {
  it('without a stored list each side gets the other\'s additions, matched by e-mail case-insensitively (no duplicate)', () => {
    const p = plan({ crm: [{ ...ann, email: 'ANN@contoso.com' }, cat], pc: [ann, bob] });
    expect(p.addToCrm.map((c) => c.email)).toEqual(['bob@contoso.com']);
    expect(pcEmails(p)).toEqual(['ann@contoso.com', 'bob@contoso.com', 'cat@contoso.com']);
    expect(p.removeFromCrm).toEqual([]);
    expect(p.nextBase[CONTACTS_BASE]).toHaveLength(3);
  });

  it('an agreed list with nothing changed writes nothing', () => {
    const first = plan({ crm: [ann], pc: [ann] });
    const again = plan({ crm: [ann], pc: [ann], base: first.nextBase });
    expect(again.addToCrm).toEqual([]);
    expect(again.editInCrm).toEqual([]);
    expect(again.toPc).toBeNull();
    expect(again.audit).toEqual([]);
  });

  it('an edit travels to the side that did not make it; Partner Center wins when both edited the same field', () => {
    const base = plan({ crm: [ann, bob], pc: [ann, bob] }).nextBase;
    const p = plan({ crm: [{ ...ann, phone: '555' }, { ...bob, lastName: 'Crm' }], pc: [{ ...ann, lastName: 'Lee-Smith' }, { ...bob, lastName: 'Pc' }], base });
    expect(p.editInCrm).toEqual([
      { email: 'ann@contoso.com', firstName: 'Ann', lastName: 'Lee-Smith', phone: '555' },
      { email: 'bob@contoso.com', firstName: 'Bob', lastName: 'Pc', phone: undefined },
    ]);
    const team = p.toPc?.value as Array<Record<string, unknown>>;
    expect(team[0]).toMatchObject({ email: 'ann@contoso.com', lastName: 'Lee-Smith', phoneNumber: '555', contactPreference: { locale: 'en-us' } });
  });

  it('a removal on one side is audited once and kept on the other (default), and not re-added', () => {
    const base = plan({ crm: [ann, bob], pc: [ann, bob] }).nextBase;
    const first = plan({ crm: [ann], pc: [ann, bob], base });
    expect(first.addToCrm).toEqual([]);
    expect(first.toPc).toBeNull();
    expect(first.audit.map((e) => [e.outcome, e.message])).toEqual([['skipped', expect.stringContaining('bob@contoso.com was removed from the opportunity')]]);
    expect(first.nextBase[CONTACTS_REMOVED_BASE]).toEqual(['bob@contoso.com']);
    const again = plan({ crm: [ann], pc: [ann, bob], base: first.nextBase });
    expect(again.addToCrm).toEqual([]);
    expect(again.audit).toEqual([]);
    const fromPc = plan({ crm: [ann, bob], pc: [bob], base });
    expect(fromPc.removeFromCrm).toEqual([]);
    expect(fromPc.toPc).toBeNull();
    expect(fromPc.audit.map((e) => e.message)).toEqual([expect.stringContaining('ann@contoso.com was removed from the referral')]);
  });

  it('with propagateContactRemovals a removal on either side is removed on the other', () => {
    const base = plan({ crm: [ann, bob, cat], pc: [ann, bob, cat] }).nextBase;
    const p = plan({ crm: [ann, cat], pc: [ann, bob], base, propagate: true });
    expect(p.removeFromCrm).toEqual(['cat@contoso.com']);
    expect(pcEmails(p)).toEqual(['ann@contoso.com']);
    expect(p.nextBase[CONTACTS_BASE]).toEqual([expect.stringContaining('ann@contoso.com')]);
  });

  it('Partner Center contacts without an e-mail are kept as they are and never sent to the CRM', () => {
    const p = plan({ crm: [bob], pc: [ann, { email: '', lastName: 'NoMail' }] });
    expect(p.addToCrm.map((c) => c.email)).toEqual(['ann@contoso.com']);
    const team = p.toPc?.value as Array<Record<string, unknown>>;
    expect(team.map((m) => m.lastName)).toEqual(['Lee', 'Ray', 'NoMail']);
  });
});
