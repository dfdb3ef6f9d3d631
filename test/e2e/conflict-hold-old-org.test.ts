import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_STATUS_OPTIONS } from '../../src/crm/dynamics/custom-columns.ts';
import { writeManualNotesMapping } from '../support/manual-notes-mapping.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';

/*
 * An org provisioned by a release before the Sync Status "Conflict" option existed: the option is removed after setup
 * (DeleteOptionValue), so the service starts against the old column. A held conflict must still sync — Sync Status
 * Failed, ✖, the Audit line naming the field — rather than be refused by Dataverse and dead-lettered.
 */

describe('a held conflict in an org whose Sync Status column lacks Conflict', () => {
  const tmp = makeTempDir();
  let h: SyncHarness;

  beforeAll(async () => {
    h = await SyncHarness.start({
      runEngine: false,
      mappingFile: writeManualNotesMapping(tmp.path),
      afterSetup: async (connector) => {
        for (const table of ['opportunity', 'lead']) {
          await connector.client.api.callAction({
            actionName: 'DeleteOptionValue',
            action: { EntityLogicalName: table, AttributeLogicalName: connector.columns.syncStatus, Value: SYNC_STATUS_OPTIONS.conflict },
          });
        }
      },
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    tmp.cleanup();
  });

  it('writes Sync Status Failed with the audit line, and nothing is dead-lettered', async () => {
    const { referralId, opportunityId } = await h.linkedPair({ name: 'Old org deal', customerProfile: { name: 'Old org Customer', address: { postalCode: '61000' } } });
    await h.pcSellerEdit(referralId, { details: { notes: 'Microsoft: wait for the budget' } });
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Seller: signed today' });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();

    const conflicts = (await h.api<{ conflicts: Array<{ referralId: string }> }>('/api/conflicts')).conflicts;
    expect(conflicts.filter((c) => c.referralId === referralId)).toHaveLength(1);
    expect(await h.deadLetters()).toEqual([]);
    const opportunity = await h.opportunity(opportunityId);
    expect(opportunity?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.failed);
    expect(String(opportunity?.name)).toMatch(/ ✖$/);
    const auditColumn = String(opportunity?.cosell_audit);
    expect(auditColumn).toContain('held');
    expect(auditColumn).toContain('"Microsoft: wait for the budget"');
    expect(auditColumn).toContain('"Seller: signed today"');
  });
});
