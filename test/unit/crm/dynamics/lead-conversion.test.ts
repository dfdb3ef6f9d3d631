import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnRequest } from '../../../../src/crm/connector.ts';
import { setupDynamics } from '../../../../src/crm/dynamics/provisioning.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { startHarness, type Harness } from './helpers.ts';

const LEAD_COLUMNS: ColumnRequest[] = [{ name: 'subject' }, { name: 'companyname' }, { name: '@state' }];

describe('DynamicsConnector: a lead the seller qualified', () => {
  let h: Harness;
  let sequence = 0;
  const nextReferralId = () => `lead-conv-${Date.now()}-${sequence++}`;

  beforeAll(async () => {
    h = await startHarness();
    await setupDynamics({ connector: h.connector, logger: silentLogger() });
  });
  afterAll(() => h.close());

  const createLead = () =>
    h.connector.createForReferral('lead', nextReferralId(), { subject: 'Contoso - new lead', companyname: 'Contoso Ltd', firstname: 'Lee', lastname: 'Park' }, undefined, LEAD_COLUMNS, {
      ok: true,
      auditLines: ['created'],
    });

  /** The seller's "Qualify" button: the QualifyLead bound action through the Web API ("QualifyLead Action"). */
  async function qualifyAsSeller(leadId: string, createOpportunity: boolean): Promise<string | undefined> {
    const response = await fetch(`${h.sandbox.url}/api/data/v9.2/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, {
      method: 'POST',
      headers: { authorization: 'Bearer seller-token', 'content-type': 'application/json' },
      body: JSON.stringify({ CreateAccount: true, CreateContact: true, CreateOpportunity: createOpportunity, Status: 3 }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { value: Array<Record<string, string>> };
    return body.value.find((row) => row.opportunityid !== undefined)?.opportunityid;
  }

  it('reports the opportunity a qualified lead became, and nothing for an open lead', async () => {
    const lead = await createLead();
    expect(lead.convertedTo).toBeUndefined();
    const opportunityId = await qualifyAsSeller(lead.ref.id, true);
    expect(opportunityId).toBeDefined();

    const read = await h.connector.read(lead.ref, LEAD_COLUMNS);
    expect(read?.values['@state']).toBe('qualified');
    expect(read?.convertedTo).toEqual({ entity: 'opportunity', id: opportunityId });
    const byReferral = await h.connector.findByReferralId('lead', String((await h.rows('leads')).find((row) => row.leadid === lead.ref.id)?.cosell_referralidentifier), LEAD_COLUMNS);
    expect(byReferral?.convertedTo).toEqual({ entity: 'opportunity', id: opportunityId });
  });

  it('reports no conversion for a lead qualified without an opportunity, or qualified by the sync itself', async () => {
    const withoutOpportunity = await createLead();
    await qualifyAsSeller(withoutOpportunity.ref.id, false);
    const read = await h.connector.read(withoutOpportunity.ref, LEAD_COLUMNS);
    expect(read?.values['@state']).toBe('qualified');
    expect(read?.convertedTo).toBeUndefined();

    const byState = await createLead();
    await h.connector.update(byState.ref, { '@state': 'qualified' }, byState.version);
    expect((await h.connector.read(byState.ref, LEAD_COLUMNS))?.convertedTo).toBeUndefined();
  });

  it('lists the qualified lead and the new opportunity in change tracking', async () => {
    const lead = await createLead();
    const leadStart = await h.connector.changesSince('lead', null);
    const opportunityStart = await h.connector.changesSince('opportunity', null);
    const opportunityId = await qualifyAsSeller(lead.ref.id, true);
    expect((await h.connector.changesSince('lead', leadStart.cursor)).refs).toContainEqual(expect.objectContaining({ entity: 'lead', id: lead.ref.id }));
    expect((await h.connector.changesSince('opportunity', opportunityStart.cursor)).refs).toContainEqual(expect.objectContaining({ entity: 'opportunity', id: opportunityId }));
  });

  it('still writes the sync status to a qualified lead (Dataverse keeps inactive leads writable)', async () => {
    const lead = await createLead();
    await qualifyAsSeller(lead.ref.id, true);
    await h.connector.writeSyncStatus(lead.ref, { ok: false, auditLines: ['converted by the seller'] });
    const row = (await h.rows('leads')).find((candidate) => candidate.leadid === lead.ref.id);
    expect(row?.subject).toBe('Contoso - new lead ✖');
  });
});
