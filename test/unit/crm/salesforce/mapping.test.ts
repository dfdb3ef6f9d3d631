import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmEntityName } from '../../../../src/crm/connector.ts';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import { referralSchema } from '../../../../src/partner-center/model.ts';
import { bindMapping } from '../../../../src/sync/binding.ts';
import { loadMappingFile, validateMapping, type MappingSpec } from '../../../../src/sync/mapping/index.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { startHarness, type Harness } from './helpers.ts';
import { defaultMappingPath } from '../../../../src/crm/vendors.ts';

/** A co-sell referral from Microsoft, not yet accepted, as Partner Center returns it. */
const referral = referralSchema.parse({
  id: 'b9b7a1f0-1111-4222-8333-944445555666',
  engagementId: 'e-1',
  name: 'Fabrikam cloud migration',
  status: 'New',
  substatus: 'Received',
  type: 'Shared',
  direction: 'Incoming',
  qualification: 'SalesQualified',
  customerProfile: { name: 'Fabrikam', address: { addressLine1: '1 Main St', city: 'Seattle', postalCode: '98052', country: 'US' }, team: [{ firstName: 'Fay', lastName: 'Brik', email: 'fay@fabrikam.example' }] },
  consent: { consentToShareReferralWithMicrosoftSellers: true },
  details: { dealValue: 25_000.5, currency: 'usd', closingDateTime: '2026-11-30T00:00:00Z', notes: 'Lift and shift' },
  inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' },
});

describe('mappings/salesforce.yaml', () => {
  let h: Harness;
  let spec: MappingSpec;
  let entities: CrmEntityName[];

  beforeAll(async () => {
    h = await startHarness();
    await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    spec = await loadMappingFile(defaultMappingPath('salesforce'), 'salesforce');
    entities = Object.keys(spec.entities) as CrmEntityName[];
  });
  afterAll(async () => h.close());

  it('validates with zero issues against what describe() reports for a provisioned org', async () => {
    expect(entities.sort()).toEqual(['account', 'contact', 'lead', 'opportunity']);
    expect(validateMapping(spec, await h.connector.describe(entities))).toEqual([]);
  });

  it('names the missing custom fields in an org that was not provisioned', async () => {
    const bare = await startHarness();
    try {
      const issues = validateMapping(spec, await bare.connector.describe(entities));
      const unknown = issues.map((issue) => /unknown column "(\w+)" on (\w+)/.exec(issue.reason)?.slice(1).join('.')).filter(Boolean);
      expect(unknown).toEqual(expect.arrayContaining(['Referral_Identifier__c.Opportunity', 'How_can_Microsoft_help__c.Opportunity', 'Referral_Identifier__c.Lead']));
    } finally {
      await bare.close();
    }
  });

  it('reports CurrencyIsoCode, and only it, in a single-currency org', async () => {
    const single = await startHarness({ multiCurrency: false });
    try {
      await setupSalesforce({ connector: single.connector, logger: silentLogger() });
      const issues = validateMapping(spec, await single.connector.describe(entities));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ path: 'entities.opportunity.fields[2].crm' });
      expect(issues[0]?.reason).toContain('unknown column "CurrencyIsoCode" on Opportunity');
      // A write that still carries a currency (a mapping kept as is) does not fail on it.
      const created = await single.connector.createForReferral('opportunity', 'ref-single', { Name: 'One currency', CurrencyIsoCode: 'EUR', CloseDate: '2026-12-01' }, undefined, [{ name: 'Name' }]);
      expect(await single.record('Opportunity', created.ref.id)).not.toHaveProperty('CurrencyIsoCode');
    } finally {
      await single.close();
    }
  });

  it('round-trips a referral: what the connector writes reads back as the same canonical values (no echo writes)', async () => {
    const opportunity = bindMapping(spec).opportunity;
    if (!opportunity) throw new Error('the mapping has no opportunity section');
    const pc = opportunity.referralToCanonical(referral, null);
    const values = opportunity.canonicalToCrm(pc);
    expect(values).toMatchObject({ '@state': 'onhold', How_can_Microsoft_help__c: 'Proof of concept or demo', CurrencyIsoCode: 'USD', Referral_Identifier__c: referral.id });

    const customer = await h.connector.ensureCustomer({ name: 'Fabrikam', postalCode: '98052', country: 'US', contacts: [] });
    const created = await h.connector.createForReferral('opportunity', String(referral.id), values, customer, opportunity.columns, { ok: true, auditLines: ['created'] });
    expect((await h.record('Opportunity', created.ref.id))?.StageName).toBe('Prospecting');
    const crm = opportunity.crmToCanonical(created.values);
    for (const field of opportunity.fields) {
      if (field.direction === 'to-pc' || field.linkOnly) continue;
      // An on-hold opportunity has no sales stage to read (states.ts): the sync keeps the agreed one.
      if (field.key === 'salesStage') {
        expect(crm).not.toHaveProperty('salesStage');
        continue;
      }
      expect({ key: field.key, value: crm[field.key] }).toEqual({ key: field.key, value: pc[field.key] });
    }

    // A seller moving the opportunity out of the on-hold stage is an acceptance in Partner Center's terms.
    await h.control('PATCH', `/_sandbox/records/Opportunity/${created.ref.id}`, { StageName: 'Needs Analysis' });
    const moved = await h.connector.read(created.ref, opportunity.columns);
    const changes = opportunity.canonicalToReferralChanges({ status: opportunity.crmToCanonical(moved?.values ?? {}).status ?? null }, referral);
    expect(changes.map((change) => [String(change.path), change.value])).toEqual(expect.arrayContaining([['status', 'Active'], ['substatus', 'Accepted']]));
  });
});
