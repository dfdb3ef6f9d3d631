import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customFieldSpecs, FIELDS, SYNC_STATUS_VALUES } from '../../../../src/crm/salesforce/custom-fields.ts';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { sellerOpportunity, startHarness, type Harness } from './helpers.ts';

/**
 * An org set up by an earlier release: its Sync_Status__c picklist has Synced/Failed/Pending but no Conflict. The
 * customer relabelled Failed and added a value of their own; both must survive setup.
 */
describe('an org whose Sync Status picklist predates the Conflict value', () => {
  let h: Harness;
  const warnings: string[] = [];
  const oldValues = [
    { fullName: 'Synced', label: 'Synced', default: false },
    { fullName: 'Failed', label: 'Sync failed', default: false },
    { fullName: 'Pending', label: 'Pending', default: false },
    { fullName: 'Escalated', label: 'Escalated', default: false },
  ];
  const valuesOf = async (sobject: string) => {
    const described = (await h.connector.client.send({ method: 'GET', path: `/sobjects/${sobject}/describe`, route: 'describe' })) as {
      fields: Array<{ name: string; picklistValues?: Array<{ value: string; label: string }> }>;
    };
    const field = described.fields.find((candidate) => candidate.name === FIELDS.syncStatus);
    return (field?.picklistValues ?? []).map((entry) => [entry.value, entry.label]);
  };

  beforeAll(async () => {
    h = await startHarness();
    for (const spec of customFieldSpecs().filter((candidate) => candidate.fieldName === FIELDS.syncStatus || candidate.fieldName === FIELDS.audit)) {
      const metadata = spec.fieldName === FIELDS.syncStatus ? { ...spec.metadata, valueSet: { restricted: true, valueSetDefinition: { sorted: false, value: oldValues } } } : spec.metadata;
      await h.connector.client.send({ method: 'POST', path: '/tooling/sobjects/CustomField', route: 'tooling', body: { FullName: `${spec.sobject}.${spec.fieldName}`, Metadata: metadata } });
    }
  });
  afterAll(async () => h.close());

  it('writes Failed for a held conflict, keeps the audit line and warns once to re-run setup', async () => {
    const connector = await h.connect({}, { sameSecondSettleMs: 0, logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }) });
    const created = await h.control<{ Id: string }>('POST', '/_sandbox/records/Opportunity', sellerOpportunity({ Name: 'Held conflict' }));
    const ref = { entity: 'opportunity' as const, id: created.body.Id };
    const held = { ok: false, conflict: true, auditLines: ['2026-12-03 conflict on Name: held until resolved (cosell conflicts resolve)'] };
    await connector.update(ref, {}, null, held);
    await connector.writeSyncStatus(ref, held);
    const row = await h.record('Opportunity', ref.id);
    expect(row?.[FIELDS.syncStatus]).toBe(SYNC_STATUS_VALUES.failed);
    expect(String(row?.[FIELDS.audit])).toContain('conflict on Name: held until resolved');
    // No "Paused" value either: an operator's pause leaves the status as it is rather than failing the write.
    await connector.writeSyncStatus(ref, { ok: true, paused: true, auditLines: ['paused by an operator'] });
    expect((await h.record('Opportunity', ref.id))?.[FIELDS.syncStatus]).toBe(SYNC_STATUS_VALUES.failed);
    const warned = warnings.filter((line) => line.includes('cosell setup salesforce'));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0] ?? '{}')).toMatchObject({ level: 40, sobject: 'Opportunity', field: FIELDS.syncStatus });
  });

  it("setup adds the Conflict value (reported as updated) without touching the customer's values; a re-run finds it", async () => {
    const first = await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    expect(first.updated).toEqual(['field Opportunity.Sync_Status__c', 'field Lead.Sync_Status__c']);
    expect(first.found).toEqual(expect.arrayContaining(['field Opportunity.Audit__c', 'field Lead.Audit__c']));
    for (const sobject of ['Opportunity', 'Lead']) {
      expect(await valuesOf(sobject)).toEqual([
        ['Synced', 'Synced'],
        ['Failed', 'Sync failed'],
        ['Pending', 'Pending'],
        ['Escalated', 'Escalated'],
        ['Conflict', 'Conflict'],
        ['Paused', 'Paused'],
      ]);
    }

    await h.resetRequests();
    const second = await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    expect(second.updated).toEqual([]);
    expect(second.created).toEqual([]);
    expect(second.found).toEqual(expect.arrayContaining(['field Opportunity.Sync_Status__c', 'field Lead.Sync_Status__c']));
    const writes = Object.entries((await h.requests()).routes).filter(([route]) => !route.startsWith('GET '));
    expect(writes).toEqual([]);

    // Setup invalidated the connector's describes: a held conflict is now written as Conflict.
    const created = await h.control<{ Id: string }>('POST', '/_sandbox/records/Opportunity', sellerOpportunity({ Name: 'After setup' }));
    const ref = { entity: 'opportunity' as const, id: created.body.Id };
    await h.connector.update(ref, {}, null, { ok: false, conflict: true, auditLines: ['held'] });
    expect((await h.record('Opportunity', ref.id))?.[FIELDS.syncStatus]).toBe(SYNC_STATUS_VALUES.conflict);
    // And an operator's pause as Paused.
    await h.connector.writeSyncStatus(ref, { ok: true, paused: true, auditLines: ['paused by an operator'] });
    expect((await h.record('Opportunity', ref.id))?.[FIELDS.syncStatus]).toBe(SYNC_STATUS_VALUES.paused);
  });
});
