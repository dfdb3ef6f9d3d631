import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_STATUS_OPTIONS } from '../../src/crm/dynamics/custom-columns.ts';
import { adminFetch } from '../support/admin.ts';
import { runCli } from '../support/cli.ts';
import { writeManualNotesMapping } from '../support/manual-notes-mapping.ts';
import { detailsOf, sendJson } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';

/*
 * A `manual` conflict (notes ⇄ description) held across many sync passes: audited once, shown on the CRM record
 * (Sync Status "Conflict", ✖, an Audit line naming the field and both values), and resolved by an operator through the
 * CLI or the API, which writes the chosen value to both sides and releases the hold.
 */

describe('held conflicts: audited once, visible on the record, resolvable', () => {
  const tmp = makeTempDir();
  let h: SyncHarness;
  const cli = (...args: string[]) => runCli([...args, '--service-url', h.adminUrl]);

  beforeAll(async () => {
    h = await SyncHarness.start({ runEngine: false, mappingFile: writeManualNotesMapping(tmp.path) });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    tmp.cleanup();
  });

  async function heldPair(name: string, pcNotes: string, crmNotes: string): Promise<{ referralId: string; opportunityId: string; conflictId: number }> {
    const { referralId, opportunityId } = await h.acceptedPair({ name, customerProfile: { name: `${name} Customer`, address: { postalCode: '61000' } } });
    await h.pcSellerEdit(referralId, { details: { notes: pcNotes } });
    await h.dvSellerEdit('opportunities', opportunityId, { description: crmNotes });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const conflict = (await h.api<{ conflicts: Array<{ id: number; referralId: string }> }>('/api/conflicts')).conflicts.find((c) => c.referralId === referralId);
    if (!conflict) throw new Error('no held conflict');
    return { referralId: referralId, opportunityId, conflictId: conflict.id };
  }

  const syncAgain = async (referralId: string) => {
    await h.api(`/api/sync/referral/${referralId}`, sendJson('POST', {}));
    await h.reconcile();
    await h.runWorkerUntilIdle();
  };

  it('audits a hold once, leaves "last sync" alone, and shows Conflict ✖ on the record', async () => {
    const { referralId, opportunityId } = await heldPair('Held deal', 'Microsoft: wait for the budget', 'Seller: signed today');
    const heldRows = async () => (await h.audit({ referralId })).filter((e) => e.outcome === 'held');
    expect(await heldRows()).toHaveLength(1);
    const lastSync = (await h.api<{ lastSync: string | null }>('/api/status')).lastSync;

    for (let pass = 0; pass < 3; pass++) await syncAgain(referralId);
    expect(await heldRows()).toHaveLength(1);
    expect((await h.api<{ lastSync: string | null }>('/api/status')).lastSync).toBe(lastSync);

    const opportunity = await h.opportunity(opportunityId);
    expect(opportunity?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.conflict);
    expect(String(opportunity?.name)).toMatch(/ ✖$/);
    const auditColumn = String(opportunity?.cosell_audit);
    expect(auditColumn).toContain('held');
    expect(auditColumn).toContain('notes');
    expect(auditColumn).toContain('"Microsoft: wait for the budget"');
    expect(auditColumn).toContain('"Seller: signed today"');
  });

  it('cosell conflicts resolve --take value writes the value to both sides and releases the hold', async () => {
    const { referralId, opportunityId, conflictId } = await heldPair('Resolved deal', 'PC notes', 'CRM notes');
    const listed = await cli('conflicts');
    expect(listed.stdout).toContain(`#${conflictId}`);
    const resolved = await cli('conflicts', 'resolve', String(conflictId), '--take', 'value', 'Agreed: start in May');
    expect(resolved.code, resolved.stderr).toBe(0);
    await h.runWorkerUntilIdle();

    expect(detailsOf(await h.referral(referralId)).notes).toBe('Agreed: start in May');
    const opportunity = await h.opportunity(opportunityId);
    expect(opportunity?.description).toBe('Agreed: start in May');
    expect(opportunity?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.synced);
    expect(String(opportunity?.name)).toMatch(/ ✔$/);
    expect((await h.conflicts()).filter((c) => c.referralId === referralId)).toEqual([]);
    const decisions = (await h.audit({ referralId })).filter((e) => e.field === 'notes' && e.outcome === 'written');
    expect(decisions.map((e) => e.direction).sort()).toEqual(['to-crm', 'to-pc']);
    expect(decisions.every((e) => String(e.message).includes('resolved by an operator'))).toBe(true);

    // Mistakes are the operator's: exit code 2 and why, nothing changed.
    expect((await cli('conflicts', 'resolve', String(conflictId), '--take', 'crm')).code).toBe(2);
    expect((await cli('conflicts', 'resolve', 'abc', '--take', 'crm')).code).toBe(2);
    expect((await cli('conflicts', 'resolve', '1', '--take', 'value')).code).toBe(2);
  }, 120_000);

  it('POST /api/conflicts/<id>/resolve takes the CRM side', async () => {
    const { referralId, opportunityId, conflictId } = await heldPair('API deal', 'PC says later', 'CRM says now');
    const bad = await adminFetch(`${h.adminUrl}/api/conflicts/${conflictId}/resolve`, sendJson('POST', { take: 'somewhere' }));
    expect(bad.status).toBe(400);
    const answer = await h.api<{ resolving: number; value: unknown }>(`/api/conflicts/${conflictId}/resolve`, sendJson('POST', { take: 'crm' }));
    expect(answer).toMatchObject({ resolving: conflictId, value: 'CRM says now' });
    await h.runWorkerUntilIdle();
    expect(detailsOf(await h.referral(referralId)).notes).toBe('CRM says now');
    expect((await h.opportunity(opportunityId))?.description).toBe('CRM says now');
    expect((await h.conflicts()).filter((c) => c.referralId === referralId)).toEqual([]);
  });
});
