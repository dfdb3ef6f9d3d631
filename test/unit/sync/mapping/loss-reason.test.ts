import { describe, expect, it } from 'vitest';
import { defaultMappingPath } from '../../../../src/crm/vendors.ts';
import type { Referral } from '../../../../src/partner-center/model.ts';
import { bindEntity } from '../../../../src/sync/binding.ts';
import { loadMappingFile, validateMapping } from '../../../../src/sync/mapping/index.ts';
import { lossReasonConversion } from '../../../../src/sync/mapping/loss-reason.ts';
import { withLossReasonToCrm, withLossReasonToPc } from '../../../../src/sync/plan/loss-reason.ts';
import type { CrmRecord } from '../../../../src/crm/connector.ts';
import { loadError } from './helpers.ts';

async function shipped(crm: 'dynamics' | 'salesforce') {
  const spec = await loadMappingFile(defaultMappingPath(crm), crm);
  const opportunity = spec.entities.opportunity;
  if (!opportunity?.lossReason) throw new Error(`the shipped ${crm} mapping has no lossReason`);
  return { spec: opportunity.lossReason, mapping: bindEntity(opportunity) };
}

const record = (values: Record<string, unknown>): CrmRecord => ({ ref: { entity: 'opportunity', id: 'o-1' }, version: '1', modifiedAt: '2026-01-01T00:00:00Z', modifiedByUs: false, values });
const referral = (fields: Partial<Referral>): Referral => ({ id: 'r-1', ...fields }) as Referral;
const closeLost = [
  { path: ['status'], value: 'Closed' },
  { path: ['substatus'], value: 'Lost' },
];

describe('loss reason (mapping lossReason)', () => {
  it('the shipped Dynamics mapping maps Out-Sold and Canceled both ways, and the unknown to the defaults (no reason: nothing)', async () => {
    const { spec, mapping } = await shipped('dynamics');
    const conversion = lossReasonConversion(spec);
    expect(conversion.column).toBe('@lossReason');
    expect(mapping.columns.map((c) => c.name)).toContain('@lossReason');
    expect([conversion.toPc(5), conversion.toPc(4), conversion.toPc(100000001), conversion.toPc(null)]).toEqual(['Lost to a competitor', 'Customer cancelled', 'Other', undefined]);
    expect([conversion.toCrm('Lost to a competitor'), conversion.toCrm('customer CANCELLED'), conversion.toCrm('No budget'), conversion.toCrm(undefined)]).toEqual([5, 4, 4, undefined]);
  });

  it('the shipped Salesforce mapping sends an org value it does not know as its text', async () => {
    const conversion = lossReasonConversion((await shipped('salesforce')).spec);
    expect(conversion.column).toBe('Loss_Reason__c');
    expect([conversion.toPc('No budget'), conversion.toPc('Reorganisation'), conversion.toPc('')]).toEqual(['No budget', 'Reorganisation', undefined]);
    expect([conversion.toCrm('No decision'), conversion.toCrm('Customer merged')]).toEqual(['No decision', 'Other']);
  });

  it('rides only on a close as lost toward Partner Center, and never replaces a reason already sent', async () => {
    const { mapping } = await shipped('salesforce');
    const s = { mapping, record: record({ Loss_Reason__c: 'No budget' }) };
    expect(withLossReasonToPc(s, closeLost)).toEqual([...closeLost, { path: ['statusReason'], value: 'No budget' }]);
    const declined = [closeLost[0]!, { path: ['substatus'], value: 'Declined' }, { path: ['statusReason'], value: 'Other' }];
    expect(withLossReasonToPc(s, declined)).toEqual(declined);
    expect(withLossReasonToPc(s, [{ path: ['details', 'notes'], value: 'x' }])).toEqual([{ path: ['details', 'notes'], value: 'x' }]);
  });

  it('rides only on a referral Closed/Lost toward the CRM: declined or expired referrals carry no loss reason', async () => {
    const { mapping } = await shipped('dynamics');
    const lost = referral({ status: 'Closed', substatus: 'Lost', statusReason: 'Lost to a competitor' });
    expect(withLossReasonToCrm({ mapping, referral: lost }, { '@state': 'lost' })).toEqual({ '@state': 'lost', '@lossReason': 5 });
    const declined = referral({ status: 'Closed', substatus: 'Declined', statusReason: 'Lost to a competitor' });
    expect(withLossReasonToCrm({ mapping, referral: declined }, { '@state': 'lost' })).toEqual({ '@state': 'lost' });
    expect(withLossReasonToCrm({ mapping, referral: lost }, { description: 'x' })).toEqual({ description: 'x' });
  });

  it('reports a loss reason without a value map entry where the file has it', () => {
    const error = loadError('crm: dynamics\nprefix: cosell\nentities:\n  opportunity:\n    fields: []\n    lossReason:\n      crm: "@lossReason"\n      map: []\n');
    expect(error.issues[0]?.path).toBe('entities.opportunity.lossReason.map');
  });

  it('refuses at start a loss-reason column the CRM does not have (an org set up by an earlier release)', async () => {
    const spec = await loadMappingFile(defaultMappingPath('salesforce'), 'salesforce');
    const columns = { Name: { name: 'Name', type: 'string' as const } };
    const issues = validateMapping(spec, { opportunity: { entity: 'opportunity', crmName: 'Opportunity', columns } });
    expect(issues.filter((i) => i.path === 'entities.opportunity.lossReason.crm').map((i) => i.reason)).toEqual([
      'unknown column "Loss_Reason__c" on Opportunity; re-run cosell setup or remove lossReason',
    ]);
    const withIt = validateMapping(spec, { opportunity: { entity: 'opportunity', crmName: 'Opportunity', columns: { ...columns, Loss_Reason__c: { name: 'Loss_Reason__c', type: 'picklist' as const } } } });
    expect(withIt.filter((i) => i.path === 'entities.opportunity.lossReason.crm')).toEqual([]);
  });
});
