import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmApiError, type ColumnRequest } from '../../../../src/crm/connector.ts';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import type { SalesforceConnector } from '../../../../src/crm/salesforce/salesforce-connector.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { convertLeadAsSeller, sellerConnection } from '../../../support/salesforce-seller.ts';
import { startHarness, type Harness } from './helpers.ts';

const LEAD_COLUMNS: ColumnRequest[] = [{ name: 'Company' }, { name: 'LastName' }, { name: '@state' }];

describe('SalesforceConnector: a lead the seller converted', () => {
  let h: Harness;
  let fast: SalesforceConnector;
  let seller: Connection;
  let sequence = 0;
  const nextReferralId = () => `lead-conv-${Date.now()}-${sequence++}`;

  beforeAll(async () => {
    h = await startHarness();
    await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    // The same-second guard is not what these tests are about.
    fast = await h.connect({}, { sameSecondSettleMs: 0 });
    seller = await sellerConnection(h.sandbox.url);
  });
  afterAll(async () => h.close());

  const createLead = () =>
    fast.createForReferral('lead', nextReferralId(), { Company: 'Contoso Ltd', FirstName: 'Lee', LastName: 'Park' }, undefined, LEAD_COLUMNS, { ok: true, auditLines: ['created'] });

  /** Lead conversion as a seller does it: the SOAP API's convertLead(). */
  const convertAsSeller = (leadId: string, options: { doNotCreateOpportunity?: boolean } = {}) => convertLeadAsSeller(seller, leadId, options);

  it('reports the opportunity a converted lead became, and nothing before', async () => {
    const lead = await createLead();
    expect(lead.convertedTo).toBeUndefined();
    const { opportunityId } = await convertAsSeller(lead.ref.id);
    expect(opportunityId).toMatch(/^006/);

    const read = await fast.read(lead.ref, LEAD_COLUMNS);
    expect(read?.convertedTo).toEqual({ entity: 'opportunity', id: opportunityId });
    const row = await h.record('Lead', lead.ref.id);
    const byReferral = await fast.findByReferralId('lead', String(row?.Referral_Identifier__c), LEAD_COLUMNS);
    expect(byReferral?.convertedTo).toEqual({ entity: 'opportunity', id: opportunityId });
  });

  it('reports no conversion target when the seller converted without an opportunity', async () => {
    const lead = await createLead();
    await convertAsSeller(lead.ref.id, { doNotCreateOpportunity: true });
    expect((await fast.read(lead.ref, LEAD_COLUMNS))?.convertedTo).toBeUndefined();
  });

  it('lists the converted lead and the new opportunity in the change poll', async () => {
    const lead = await createLead();
    const leadStart = await fast.changesSince('lead', null);
    const opportunityStart = await fast.changesSince('opportunity', null);
    const { opportunityId } = await convertAsSeller(lead.ref.id);
    expect((await fast.changesSince('lead', leadStart.cursor)).refs).toContainEqual(expect.objectContaining({ entity: 'lead', id: lead.ref.id }));
    expect((await fast.changesSince('opportunity', opportunityStart.cursor)).refs).toContainEqual(expect.objectContaining({ entity: 'opportunity', id: opportunityId }));
  });

  it('turns a write to a converted lead into a clear, non-retryable CrmApiError and skips the sync status', async () => {
    const lead = await createLead();
    await convertAsSeller(lead.ref.id);
    const read = await fast.read(lead.ref, LEAD_COLUMNS);
    const failure = await fast.update(lead.ref, { Company: 'Contoso Group' }, read?.version ?? null).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CrmApiError);
    expect(failure).toMatchObject({ code: 'CANNOT_UPDATE_CONVERTED_LEAD', retryable: false });
    expect((failure as CrmApiError).message).toContain('was converted');

    await expect(fast.writeSyncStatus(lead.ref, { ok: false, auditLines: ['converted'] })).resolves.toBeUndefined();
    expect((await h.record('Lead', lead.ref.id))?.Company).toBe('Contoso Ltd');
  });
});
