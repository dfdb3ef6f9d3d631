import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrmApiError, CrmPreconditionFailedError, type CustomerRefs } from '../../../../src/crm/connector.ts';
import { setupSalesforce, type SetupReport } from '../../../../src/crm/salesforce/provisioning.ts';
import { DAILY_LIMIT_RETRY_MS } from '../../../../src/crm/salesforce/salesforce-errors.ts';
import type { SalesforceConnector } from '../../../../src/crm/salesforce/salesforce-connector.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { OPPORTUNITY_COLUMNS, sellerOpportunity, startHarness, type Harness, type Row } from './helpers.ts';

const COMPOSITE = 'POST /services/data/:version/composite';

describe('SalesforceConnector against the Salesforce sandbox', () => {
  let h: Harness;
  let first: SetupReport;
  /** The same connector with the same-second guard off, for tests that write right after a seller edit but are not about it. */
  let fast: SalesforceConnector;

  beforeAll(async () => {
    h = await startHarness();
    first = await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    fast = await h.connect({}, { sameSecondSettleMs: 0 });
  });
  afterAll(async () => h.close());
  beforeEach(async () => {
    await h.control('DELETE', '/_sandbox/faults');
  });

  const seller = async (sobject: string, body: Row): Promise<string> => {
    const created = await h.control<Row>('POST', `/_sandbox/records/${sobject}`, body);
    expect(created.status).toBe(201);
    return String(created.body.Id);
  };
  const sellerEdit = async (sobject: string, id: string, body: Row): Promise<void> => {
    expect((await h.control('PATCH', `/_sandbox/records/${sobject}/${id}`, body)).status).toBe(200);
  };

  describe('provisioning', () => {
    it('creates every custom field once and finds them all on a second run', async () => {
      expect(first.found).toEqual([]);
      // 14 Partner Center fields + Decline Reason on both + Microsoft seller name and e-mail + the opportunity's Loss
      // Reason, then the Microsoft Solutions catalogue and junction objects with their 2 + 2 fields.
      expect(first.created).toHaveLength(14 + 2 + 2 + 1 + 2 + 4);
      expect(first.created).toContain('field Opportunity.Loss_Reason__c');
      expect(first.created).toContain('field Opportunity.Referral_Identifier__c');
      expect(first.created).toContain('field Lead.Sync_Status__c');
      expect(first.instructions.join('\n')).toContain('Change Data Capture');

      await h.resetRequests();
      const progress: string[] = [];
      const second = await setupSalesforce({ connector: h.connector, logger: silentLogger(), onProgress: (p) => progress.push(`${p.status} ${p.item}`) });
      expect(second.created).toEqual([]);
      expect(second.found.sort()).toEqual([...first.created].sort());
      expect(progress.every((line) => line.startsWith('found '))).toBe(true);
      const requests = await h.requests();
      expect(requests.routes['POST /services/data/:version/tooling/sobjects/:sobject'] ?? 0).toBe(0);

      const key = (await h.connector.describe(['opportunity'])).opportunity?.columns.Referral_Identifier__c;
      expect(key).toMatchObject({ type: 'string', maxLength: 100 });
      const field = (await h.connector.metadata.describe('Opportunity')).field('Referral_Identifier__c');
      expect(field).toMatchObject({ externalId: true, unique: true });
    });

    it('prints outbound-message instructions when that notification mode is chosen', async () => {
      const report = await setupSalesforce({ connector: h.connector, logger: silentLogger(), notifications: 'outbound-messages', webhookUrl: 'https://sync.example.com/webhooks/salesforce' });
      expect(report.instructions.join('\n')).toContain('https://sync.example.com/webhooks/salesforce');
      expect(report.instructions.join('\n')).toContain(h.sandbox.organizationId);
    });
  });

  describe('describe', () => {
    it('maps sObject fields to neutral column types and adds @state', async () => {
      const metadata = await h.connector.describe(['opportunity', 'lead', 'account', 'contact']);
      const opportunity = metadata.opportunity?.columns ?? {};
      expect(opportunity['@state']).toEqual({ name: '@state', type: 'virtual', options: ['onhold', 'open', 'won', 'lost'] });
      expect(metadata.lead?.columns['@state']?.options).toEqual(['open', 'qualified', 'disqualified']);
      expect(opportunity.Amount?.type).toBe('money');
      expect(opportunity.CloseDate?.type).toBe('date');
      expect(opportunity.Description?.type).toBe('memo');
      expect(opportunity.AccountId).toMatchObject({ type: 'lookup', target: 'Account' });
      expect(opportunity.IsWon).toMatchObject({ type: 'boolean', readOnly: true });
      expect(opportunity.CurrencyIsoCode).toMatchObject({ type: 'string', maxLength: 3 });
      expect(opportunity.How_can_Microsoft_help__c?.options).toEqual([
        'Workload specific value proposition',
        'Customer technical architecture',
        'Proof of concept or demo',
        'Quotes or licensing',
        'Post sales customer success',
        'General or other',
      ]);
      expect(opportunity.Sync_Status__c?.options).toEqual(['Synced', 'Failed', 'Pending', 'Conflict', 'Paused']);
      expect(metadata.contact?.columns.Email?.type).toBe('string');
      expect(metadata.account?.columns.BillingCountry).toMatchObject({ type: 'string', maxLength: 80 });
    });

    it('refuses stage settings the org does not have, naming the stages it has', async () => {
      const wrong = await h.connect({ onHoldStage: 'Parked' });
      await expect(wrong.describe(['opportunity'])).rejects.toThrow(/onHoldStage "Parked" is not an opportunity stage.*Prospecting/);
      const closed = await h.connect({ activeStage: 'Closed Won' });
      await expect(closed.describe(['opportunity'])).rejects.toThrow(/activeStage "Closed Won" is a closed stage/);
      const lead = await h.connect({ leadStatuses: { qualified: 'Hot' } });
      await expect(lead.describe(['lead'])).rejects.toThrow(/leadStatuses.qualified "Hot" is not a Lead Status value/);
    });
  });

  describe('keyed create', () => {
    let customer: CustomerRefs;
    beforeAll(async () => {
      customer = await h.connector.ensureCustomer({ name: 'Keyed Create Ltd', postalCode: '10115', country: 'de', contacts: [{ firstName: 'Ada', lastName: 'Keyed', email: 'ada@keyed.example' }] });
    });

    const values = (referralId: string): Row => ({
      Name: 'Keyed deal',
      Amount: 12_345.678,
      CurrencyIsoCode: 'EUR',
      CloseDate: '2026-09-30T00:00:00Z',
      Description: 'from Partner Center',
      '@state': 'onhold',
      Sync_with_Partner_Center__c: true,
      Referral_Identifier__c: referralId,
      How_can_Microsoft_help__c: 'Proof of concept or demo',
    });

    it('creates the opportunity and reads it back in one API call, with stage, customer and sync status', async () => {
      await h.resetRequests();
      const record = await h.connector.createForReferral('opportunity', 'ref-create-1', values('ref-create-1'), customer, OPPORTUNITY_COLUMNS, { ok: true, auditLines: ['2026-01-02 created', '2026-01-01 linked'] });
      const requests = await h.requests();
      expect(requests.total).toBe(1);
      expect(requests.routes[COMPOSITE]).toBe(1);

      expect(record.ref.entity).toBe('opportunity');
      expect(record.ref.id).toMatch(/^006[A-Za-z0-9]{15}$/);
      expect(record.values).toMatchObject({ Name: 'Keyed deal', Amount: 12_345.68, CurrencyIsoCode: 'EUR', CloseDate: '2026-09-30', '@state': 'onhold', Referral_Identifier__c: 'ref-create-1', Sync_with_Partner_Center__c: true });
      expect(record.modifiedByUs).toBe(true);
      expect(record.version).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      const stored = await h.record('Opportunity', record.ref.id);
      expect(stored).toMatchObject({
        Name: 'Keyed deal ✔',
        StageName: 'Prospecting',
        AccountId: customer.account.id,
        ContactId: customer.contacts[0]?.id,
        Sync_Status__c: 'Synced',
        Audit__c: '2026-01-02 created\n2026-01-01 linked',
      });
    });

    it('finds the first record on a retried create and leaves a newer seller edit alone', async () => {
      const firstRecord = await h.connector.createForReferral('opportunity', 'ref-retry', values('ref-retry'), customer, OPPORTUNITY_COLUMNS);
      await sellerEdit('Opportunity', firstRecord.ref.id, { Amount: 99_000, Description: 'seller knows better' });
      const again = await h.connector.createForReferral('opportunity', 'ref-retry', values('ref-retry'), customer, OPPORTUNITY_COLUMNS);
      expect(again.ref.id).toBe(firstRecord.ref.id);
      expect(again.values).toMatchObject({ Amount: 99_000, Description: 'seller knows better' });
      expect(again.modifiedByUs).toBe(false);
      const matching = (await h.records('Opportunity')).filter((row) => row.Referral_Identifier__c === 'ref-retry');
      expect(matching).toHaveLength(1);
      expect(matching[0]?.Amount).toBe(99_000);
    });

    it('creates a lead with the Status picklist default and the required fields filled', async () => {
      const lead = await h.connector.createForReferral(
        'lead',
        'ref-lead-1',
        { Company: 'Lead Co', Email: 'lead@lead.example', Referral_Identifier__c: 'ref-lead-1', '@state': 'open' },
        undefined,
        [{ name: 'Company' }, { name: 'LastName' }, { name: 'Status' }, { name: '@state' }],
      );
      expect(lead.values).toMatchObject({ Company: 'Lead Co', LastName: '(unknown)', Status: 'Open - Not Contacted', '@state': 'open' });
      await fast.update(lead.ref, { '@state': 'disqualified' }, lead.version);
      expect((await h.record('Lead', lead.ref.id))?.Status).toBe('Closed - Not Converted');
    });

    it('refuses leads when only co-sell opportunities are synced', async () => {
      const coSellOnly = await h.connect({ syncCoSellOnly: true });
      await expect(coSellOnly.createForReferral('lead', 'ref-lead-2', { Company: 'X' }, undefined, [])).rejects.toMatchObject({ code: 'leadsDisabled', retryable: false });
    });

    it('finds records by referral id and treats ids of other systems as unknown without calling Salesforce', async () => {
      const found = await h.connector.findByReferralId('opportunity', 'ref-create-1', OPPORTUNITY_COLUMNS);
      expect(found?.values.Name).toBe('Keyed deal');
      expect(await h.connector.findByReferralId('opportunity', "ref-'quoted\\", OPPORTUNITY_COLUMNS)).toBeNull();
      await h.resetRequests();
      expect(await h.connector.read({ entity: 'opportunity', id: '4f1c9a2e-0000-0000-0000-000000000000' }, OPPORTUNITY_COLUMNS)).toBeNull();
      expect(await h.connector.read({ entity: 'opportunity', id: customer.account.id }, OPPORTUNITY_COLUMNS)).toBeNull();
      expect((await h.requests()).total).toBe(0);
    });
  });

  describe('reads', () => {
    it('reads a lookup through its relationship (Account.Name) in the same query', async () => {
      const refs = await h.connector.ensureCustomer({ name: 'Lookup Partners', postalCode: '1010', country: 'AT', contacts: [] });
      const id = await seller('Opportunity', sellerOpportunity({ AccountId: refs.account.id }));
      await h.resetRequests();
      const record = await h.connector.read({ entity: 'opportunity', id }, [{ name: 'AccountId', lookup: { entity: 'Account', by: 'Name' } }]);
      expect(record?.values.AccountId).toBe('Lookup Partners');
      expect((await h.requests()).total).toBe(1);
      const plain = await h.connector.read({ entity: 'opportunity', id }, [{ name: 'AccountId' }]);
      expect(plain?.values.AccountId).toBe(refs.account.id);
    });
  });

  describe('ensureCustomer', () => {
    it('matches the account by name and postal code (case-insensitively) and contacts by email, else creates them', async () => {
      const profile = { name: "O'Brien & Sons", postalCode: 'D02 X285', city: 'Dublin', country: 'ie', contacts: [{ firstName: 'Siobhan', lastName: 'Brien', email: 'siobhan@obrien.example' }, { lastName: 'Nomail' }] };
      await h.resetRequests();
      const created = await h.connector.ensureCustomer(profile);
      expect((await h.requests()).routes[COMPOSITE]).toBe(2);
      expect(created.created.map((ref) => ref.entity)).toEqual(['account', 'contact', 'contact']);
      expect(await h.record('Account', created.account.id)).toMatchObject({ Name: "O'Brien & Sons", BillingPostalCode: 'D02 X285', BillingCountry: 'IE', BillingCity: 'Dublin' });
      const contact = await h.record('Contact', created.contacts[0]?.id ?? '');
      expect(contact).toMatchObject({ AccountId: created.account.id, Email: 'siobhan@obrien.example', LastName: 'Brien' });

      await h.resetRequests();
      const matched = await h.connector.ensureCustomer({ ...profile, name: "o'brien & SONS" });
      expect((await h.requests()).routes[COMPOSITE]).toBe(1);
      expect(matched.created).toEqual([]);
      expect(matched.account.id).toBe(created.account.id);
      expect(matched.contacts.map((ref) => ref.id)).toEqual(created.contacts.map((ref) => ref.id));

      const otherBranch = await h.connector.ensureCustomer({ ...profile, postalCode: 'T12 ABC4', contacts: [] });
      expect(otherBranch.account.id).not.toBe(created.account.id);
      expect(otherBranch.created).toEqual([{ entity: 'account', id: otherBranch.account.id }]);
    });

    it('reads the customer of an opportunity through its account and contact', async () => {
      const refs = await h.connector.ensureCustomer({ name: 'Readback GmbH', postalCode: '80331', city: 'Munich', country: 'DE', contacts: [{ firstName: 'Uta', lastName: 'Read', email: 'uta@readback.example' }] });
      const id = await seller('Opportunity', sellerOpportunity({ AccountId: refs.account.id }));
      const profile = await h.connector.readCustomer({ entity: 'opportunity', id });
      expect(profile).toEqual({
        name: 'Readback GmbH',
        postalCode: '80331',
        addressLine1: undefined,
        city: 'Munich',
        state: undefined,
        country: 'DE',
        contacts: [{ firstName: 'Uta', lastName: 'Read', email: 'uta@readback.example', phone: undefined }],
      });
    });
  });

  describe('@state', () => {
    it('reads the default stages as onhold / open / won / lost', async () => {
      const states: Record<string, string> = {};
      for (const stage of ['Prospecting', 'Needs Analysis', 'Closed Won', 'Closed Lost']) {
        const id = await seller('Opportunity', sellerOpportunity({ StageName: stage }));
        states[stage] = String((await h.connector.read({ entity: 'opportunity', id }, [{ name: '@state' }]))?.values['@state']);
      }
      expect(states).toEqual({ Prospecting: 'onhold', 'Needs Analysis': 'open', 'Closed Won': 'won', 'Closed Lost': 'lost' });
    });

    it('reads a stage an admin added after the stages were cached, and honours a custom on-hold stage', async () => {
      await h.connector.read({ entity: 'opportunity', id: await seller('Opportunity', sellerOpportunity()) }, [{ name: '@state' }]);
      expect((await h.control('POST', '/_sandbox/stages', { apiName: 'Signed', isClosed: true, isWon: true, defaultProbability: 100 })).status).toBe(201);
      expect((await h.control('POST', '/_sandbox/stages', { apiName: 'Parked by Microsoft', isClosed: false, isWon: false, defaultProbability: 5 })).status).toBe(201);
      const signed = await seller('Opportunity', sellerOpportunity({ StageName: 'Signed' }));
      expect((await h.connector.read({ entity: 'opportunity', id: signed }, [{ name: '@state' }]))?.values['@state']).toBe('won');

      const custom = await h.connect({ onHoldStage: 'Parked by Microsoft' }, { sameSecondSettleMs: 0 });
      await custom.describe(['opportunity']);
      const parked = await seller('Opportunity', sellerOpportunity({ StageName: 'Parked by Microsoft' }));
      const read = await custom.read({ entity: 'opportunity', id: parked }, [{ name: '@state' }]);
      expect(read?.values['@state']).toBe('onhold');
      // Prospecting is an ordinary open stage once another stage is on-hold, and the first open one: accepting moves there.
      const prospecting = await seller('Opportunity', sellerOpportunity({ StageName: 'Prospecting' }));
      expect((await custom.read({ entity: 'opportunity', id: prospecting }, [{ name: '@state' }]))?.values['@state']).toBe('open');
      await custom.update({ entity: 'opportunity', id: parked }, { '@state': 'open' }, read?.version ?? null);
      expect((await h.record('Opportunity', parked))?.StageName).toBe('Prospecting');
    });

    it('writes won, lost, onhold and open as the matching stages, and never reopens a closed opportunity', async () => {
      const write = async (from: string, state: string): Promise<string> => {
        const id = await seller('Opportunity', sellerOpportunity({ StageName: from }));
        const record = await fast.read({ entity: 'opportunity', id }, [{ name: '@state' }]);
        await fast.update({ entity: 'opportunity', id }, { '@state': state }, record?.version ?? null);
        return String((await h.record('Opportunity', id))?.StageName);
      };
      expect(await write('Needs Analysis', 'won')).toBe('Closed Won');
      expect(await write('Needs Analysis', 'lost')).toBe('Closed Lost');
      expect(await write('Qualification', 'onhold')).toBe('Prospecting');
      expect(await write('Prospecting', 'open')).toBe('Qualification');
      // Already open in a later stage: "open" asks for nothing, the seller's stage stays.
      expect(await write('Negotiation/Review', 'open')).toBe('Negotiation/Review');
      expect(await write('Closed Won', 'open')).toBe('Closed Won');
      await expect(fast.update({ entity: 'opportunity', id: await seller('Opportunity', sellerOpportunity()) }, { '@state': 'closed' }, null)).rejects.toMatchObject({ code: 'invalidValue' });
    });
  });

  describe('optimistic concurrency', () => {
    it('fails with CrmPreconditionFailedError when a seller edited after the read (If-Unmodified-Since → 412)', async () => {
      const id = await seller('Opportunity', sellerOpportunity({ Amount: 1_000 }));
      // Read well after the creation second, so the same-second guard has nothing to do and the 412 path is taken.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const record = await h.connector.read({ entity: 'opportunity', id }, OPPORTUNITY_COLUMNS);
      await new Promise((resolve) => setTimeout(resolve, 1_050));
      await sellerEdit('Opportunity', id, { Amount: 2_000 });
      await h.resetRequests();
      await expect(h.connector.update({ entity: 'opportunity', id }, { Amount: 3_000 }, record?.version ?? null, { ok: true, auditLines: ['x'] })).rejects.toBeInstanceOf(CrmPreconditionFailedError);
      expect((await h.requests()).routes).toEqual({ [COMPOSITE]: 1 });
      expect(await h.record('Opportunity', id)).toMatchObject({ Amount: 2_000, Name: 'Contoso - 500 seats' });
    });

    it('catches a seller edit in the same second as the version read (the guard re-checks the exact stamp)', async () => {
      const id = await seller('Opportunity', sellerOpportunity({ Amount: 1_000 }));
      const record = await h.connector.read({ entity: 'opportunity', id }, OPPORTUNITY_COLUMNS);
      await sellerEdit('Opportunity', id, { Amount: 2_000 });
      const started = Date.now();
      await expect(h.connector.update({ entity: 'opportunity', id }, { Amount: 3_000 }, record?.version ?? null)).rejects.toBeInstanceOf(CrmPreconditionFailedError);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await h.record('Opportunity', id))?.Amount).toBe(2_000);
    });

    it('writes with the version it read and returns the new one; a second write on the returned version succeeds', async () => {
      const id = await seller('Opportunity', sellerOpportunity());
      const record = await fast.read({ entity: 'opportunity', id }, OPPORTUNITY_COLUMNS);
      const written = await fast.update({ entity: 'opportunity', id }, { Amount: 7_000, CloseDate: '2027-01-15' }, record?.version ?? null);
      expect(written.version).not.toBe(record?.version);
      const again = await fast.update({ entity: 'opportunity', id }, { Description: 'second' }, written.version);
      const reread = await fast.read({ entity: 'opportunity', id }, OPPORTUNITY_COLUMNS);
      expect(reread?.version).toBe(again.version);
      expect(reread?.values).toMatchObject({ Amount: 7_000, CloseDate: '2027-01-15', Description: 'second' });
      expect(reread?.modifiedByUs).toBe(true);
    });
  });

  describe('sync status', () => {
    it('puts ✔ / ✖ after the name, the status picklist and the audit in the same request, and reads the name without it', async () => {
      const id = await seller('Opportunity', sellerOpportunity({ Name: 'Status deal' }));
      const record = await fast.read({ entity: 'opportunity', id }, OPPORTUNITY_COLUMNS);
      await h.resetRequests();
      await fast.update({ entity: 'opportunity', id }, { Amount: 1 }, record?.version ?? null, { ok: true, auditLines: ['line 2', 'line 1'] });
      expect((await h.requests()).routes).toEqual({ [COMPOSITE]: 1 });
      expect(await h.record('Opportunity', id)).toMatchObject({ Name: 'Status deal ✔', Sync_Status__c: 'Synced', Audit__c: 'line 2\nline 1', Amount: 1 });
      const reread = await fast.read({ entity: 'opportunity', id }, OPPORTUNITY_COLUMNS);
      expect(reread?.values.Name).toBe('Status deal');

      const long = 'x'.repeat(40_000);
      await fast.writeSyncStatus({ entity: 'opportunity', id }, { ok: false, auditLines: [`${long}3`, `${long}2`, `${long}1`] });
      const failed = await h.record('Opportunity', id);
      expect(failed).toMatchObject({ Name: 'Status deal ✖', Sync_Status__c: 'Failed' });
      // Whole lines, newest first, as many as fit the 100 000-character field.
      expect(failed?.Audit__c).toBe(`${long}3\n${long}2`);
    });

    it('leaves the name alone when the indicator is off, and on leads (their name is computed)', async () => {
      const plain = await h.connect({ statusIndicator: { nameSuffix: false } }, { sameSecondSettleMs: 0 });
      const id = await seller('Opportunity', sellerOpportunity({ Name: 'Plain deal' }));
      await plain.writeSyncStatus({ entity: 'opportunity', id }, { ok: true, auditLines: ['ok'] });
      expect(await h.record('Opportunity', id)).toMatchObject({ Name: 'Plain deal', Sync_Status__c: 'Synced', Audit__c: 'ok' });

      const lead = await seller('Lead', { LastName: 'Lead', Company: 'Lead Co', Status: 'Open - Not Contacted' });
      await fast.writeSyncStatus({ entity: 'lead', id: lead }, { ok: false, auditLines: ['failed'] });
      expect(await h.record('Lead', lead)).toMatchObject({ LastName: 'Lead', Company: 'Lead Co', Sync_Status__c: 'Failed', Audit__c: 'failed' });
    });
  });

  describe('changesSince', () => {
    it('starts now with no refs, then lists records a seller changed or deleted since the cursor', async () => {
      const edited = await seller('Opportunity', sellerOpportunity({ Name: 'Edited later' }));
      const untouched = await seller('Opportunity', sellerOpportunity({ Name: 'Never touched again' }));
      const poller = await h.connect({ pollOverlapSeconds: 0 });
      // Cursors are compared in whole seconds: keep the records' stamps and the cursor in different seconds.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const initial = await poller.changesSince('opportunity', null);
      expect(initial.refs).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const doomed = await seller('Opportunity', sellerOpportunity({ Name: 'Doomed' }));
      await sellerEdit('Opportunity', edited, { Amount: 4_242 });
      expect((await h.control('DELETE', `/_sandbox/records/Opportunity/${doomed}`)).status).toBe(204);
      const batch = await poller.changesSince('opportunity', initial.cursor);
      const ids = batch.refs.map((ref) => ref.id);
      expect(ids).toEqual(expect.arrayContaining([edited, doomed]));
      expect(ids).not.toContain(untouched);
      expect(Date.parse(batch.cursor)).toBeGreaterThan(Date.parse(initial.cursor));
      expect(await poller.read({ entity: 'opportunity', id: doomed }, [{ name: 'Name' }])).toBeNull();
      // With the default overlap the same pass reaches back before the cursor and lists the untouched record too.
      const overlapping = await h.connect();
      expect((await overlapping.changesSince('opportunity', initial.cursor)).refs.map((ref) => ref.id)).toContain(untouched);
    });
    it('pages through large change sets with nextRecordsUrl', async () => {
      const paged = await startHarness({ queryBatchSize: 3 });
      try {
        const initial = await paged.connector.changesSince('opportunity', null);
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        const seeded = await paged.control<{ created: { opportunities: string[] } }>('POST', '/_sandbox/seed', { accounts: 1, opportunities: 8 });
        await paged.resetRequests();
        const batch = await paged.connector.changesSince('opportunity', initial.cursor);
        expect(batch.refs.map((ref) => ref.id).sort()).toEqual([...seeded.body.created.opportunities].sort());
        const routes = (await paged.requests()).routes;
        expect(routes['GET /services/data/:version/queryAll']).toBe(1);
        // Salesforce hands back /query/<locator> for queryAll pages too.
        expect(routes['GET /services/data/:version/query/:locator']).toBe(2);
      } finally {
        await paged.close();
      }
    });
  });

  describe('bulk create for backfills', () => {
    it('creates N records in ⌈N/200⌉ composite calls and finds them all, untouched, on a rerun', async () => {
      const items = Array.from({ length: 450 }, (_, index) => ({
        referralId: `bulk-${index}`,
        values: { Name: `Backfill ${index}`, Amount: index, CloseDate: '2026-10-01', '@state': index % 2 === 0 ? 'open' : 'onhold' },
        status: { ok: true, auditLines: ['backfilled'] },
      }));
      await h.resetRequests();
      const results = await h.connector.createManyForReferrals('opportunity', items);
      const requests = await h.requests();
      // Each collection create shares its call with the query of the new records' versions (SystemModstamp), which the
      // links start with.
      expect(requests.routes['POST /services/data/:version/composite']).toBe(3);
      expect(requests.total).toBe(3);
      expect(results.filter((result) => result.outcome === 'created')).toHaveLength(450);
      expect(results.every((result) => typeof result.version === 'string')).toBe(true);
      const stored = (await h.records('Opportunity')).filter((row) => String(row.Referral_Identifier__c).startsWith('bulk-'));
      expect(stored).toHaveLength(450);
      expect(stored.find((row) => row.Referral_Identifier__c === 'bulk-1')).toMatchObject({ StageName: 'Prospecting', Name: 'Backfill 1 ✔', Sync_Status__c: 'Synced' });

      const target = results[7]?.ref?.id ?? '';
      await sellerEdit('Opportunity', target, { Amount: 777_777 });
      await h.resetRequests();
      const rerun = await h.connector.createManyForReferrals('opportunity', items);
      expect(rerun.every((result) => result.outcome === 'existing')).toBe(true);
      expect(rerun.map((result) => result.ref?.id)).toEqual(results.map((result) => result.ref?.id));
      // The DUPLICATE_VALUE answers are resolved by the query in the same call: nothing more.
      expect((await h.requests()).total).toBe(3);
      expect((await h.record('Opportunity', target))?.Amount).toBe(777_777);
    });

    it('matches and creates the customers of a backfill in a few calls, with the single-referral rules', async () => {
      const existing = await h.connector.ensureCustomer({ name: 'Bulk Existing AG', postalCode: '8001', country: 'CH', contacts: [{ firstName: 'Eve', lastName: 'Old', email: 'eve@bulk.example' }] });
      const profiles = Array.from({ length: 60 }, (_, index) => ({
        name: ['Bulk Existing AG', 'Bulk New One', 'Bulk New Two'][index % 3] as string,
        postalCode: index % 3 === 0 ? '8001' : `${index % 3}000`,
        country: 'ch',
        contacts: [{ firstName: 'Eve', lastName: 'Old', email: index % 3 === 0 ? 'EVE@bulk.example' : `p${index % 3}@bulk.example` }, { lastName: `Nameonly${index % 3}` }],
      }));
      await h.resetRequests();
      const refs = await h.connector.ensureCustomers(profiles);
      const calls = (await h.requests()).total;
      expect(calls).toBeLessThanOrEqual(5);
      expect(refs).toHaveLength(60);
      expect(refs[0]?.account.id).toBe(existing.account.id);
      expect(refs[0]?.contacts[0]?.id).toBe(existing.contacts[0]?.id);
      expect(new Set(refs.map((ref) => ref.account.id)).size).toBe(3);
      expect(refs.flatMap((ref) => ref.created).map((ref) => ref.entity).sort()).toEqual(['account', 'account', 'contact', 'contact', 'contact', 'contact', 'contact']);
      expect(refs[1]?.contacts).toHaveLength(2);
      expect(refs[4]?.contacts.map((ref) => ref.id)).toEqual(refs[1]?.contacts.map((ref) => ref.id));

      // The single-referral path agrees with what the bulk path created.
      const single = await h.connector.ensureCustomer(profiles[1] as (typeof profiles)[number]);
      expect(single.created).toEqual([]);
      expect(single.account.id).toBe(refs[1]?.account.id);
      expect(single.contacts.map((ref) => ref.id)).toEqual(refs[1]?.contacts.map((ref) => ref.id));

      await h.resetRequests();
      const again = await h.connector.ensureCustomers(profiles);
      expect(again.flatMap((ref) => ref.created)).toEqual([]);
      expect(again.map((ref) => ref.account.id)).toEqual(refs.map((ref) => ref.account.id));
      expect((await h.requests()).routes['POST /services/data/:version/composite/sobjects'] ?? 0).toBe(0);
    });

    it('reports per-record failures without failing the batch', async () => {
      const results = await h.connector.createManyForReferrals('opportunity', [
        { referralId: 'bulk-ok', values: { Name: 'Fine', CloseDate: '2026-10-01' } },
        { referralId: 'bulk-bad', values: { Name: 'Bad currency', CloseDate: '2026-10-01', CurrencyIsoCode: 'XXX1' } },
      ]);
      expect(results[0]?.outcome).toBe('created');
      expect(results[1]).toMatchObject({ outcome: 'failed', error: { retryable: false } });
      expect(results[1]?.error?.message).toMatch(/CurrencyIsoCode|picklist/i);
    });
  });

  describe('errors and API budget', () => {
    it('turns the daily limit into a retryable CrmApiError with a long delay, and reports every call to onCall', async () => {
      const id = await seller('Opportunity', sellerOpportunity());
      h.calls.length = 0;
      await h.connector.read({ entity: 'opportunity', id }, [{ name: 'Name' }]);
      expect(h.calls).toEqual([expect.objectContaining({ api: 'salesforce', method: 'GET', route: 'query Opportunity read', status: 200, attempt: 1 })]);
      expect(h.calls.some((call) => call.route.includes(id))).toBe(false);

      const usage = (await h.control<{ used: number; max: number }>('GET', '/_sandbox/limits')).body;
      await h.control('POST', '/_sandbox/limits', { used: usage.max });
      try {
        const error = await h.connector.read({ entity: 'opportunity', id }, [{ name: 'Name' }]).then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(error).toBeInstanceOf(CrmApiError);
        expect(error).toMatchObject({ status: 403, code: 'REQUEST_LIMIT_EXCEEDED', retryable: true, retryAfterMs: DAILY_LIMIT_RETRY_MS });
        expect(h.connector.client.usage.snapshot()).toMatchObject({ max: usage.max });
        expect(h.connector.apiUsage()).toMatchObject({ max: usage.max, window: '24 h' });
      } finally {
        await h.control('POST', '/_sandbox/limits', { used: 0 });
      }
    });

    it('paces calls near the daily allocation: background calls (the backfill lane) wait longest', async () => {
      const sleeps: number[] = [];
      const paced = await h.connect({}, { pacing: { sleep: (ms) => (sleeps.push(ms), Promise.resolve()) } });
      const id = await seller('Opportunity', sellerOpportunity());
      await paced.read({ entity: 'opportunity', id }, [{ name: 'Name' }]);
      expect(sleeps).toEqual([]);
      const usage = (await h.control<{ used: number; max: number }>('GET', '/_sandbox/limits')).body;
      await h.control('POST', '/_sandbox/limits', { used: Math.ceil(usage.max * 0.99) });
      try {
        await paced.read({ entity: 'opportunity', id }, [{ name: 'Name' }]); // answers with the usage: 99 %
        await paced.client.query('SELECT Id FROM Opportunity LIMIT 1', { route: 'Opportunity probe', lane: 'background' });
        await paced.client.query('SELECT Id FROM Opportunity LIMIT 1', { route: 'Opportunity probe', lane: 'background' });
        expect(sleeps.length).toBeGreaterThan(0);
        expect(Math.max(...sleeps)).toBeGreaterThanOrEqual(50_000);
      } finally {
        await h.control('POST', '/_sandbox/limits', { used: 0 });
      }
    });

    it('passes the API message of a rejected write through as a non-retryable error', async () => {
      const id = await seller('Opportunity', sellerOpportunity());
      const record = await fast.read({ entity: 'opportunity', id }, OPPORTUNITY_COLUMNS);
      const error = await fast.update({ entity: 'opportunity', id }, { CurrencyIsoCode: 'ZZZ' }, record?.version ?? null).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toMatchObject({ status: 400, retryable: false });
      expect(String((error as Error).message)).toMatch(/^Salesforce PATCH sobjects\/Opportunity\/\{id\} failed \(400 INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST\)/);
    });

    it('re-runs the grant when the session expired (no refresh token involved)', async () => {
      const id = await seller('Opportunity', sellerOpportunity());
      await h.connector.read({ entity: 'opportunity', id }, [{ name: 'Name' }]);
      expect((await h.control('DELETE', '/_sandbox/tokens')).status).toBe(200);
      h.calls.length = 0;
      const record = await h.connector.read({ entity: 'opportunity', id }, [{ name: 'Name' }]);
      expect(record?.values.Name).toBe('Contoso - 500 seats');
      expect(h.calls.map((call) => `${call.route} ${call.status}`)).toEqual(['query Opportunity read 401', 'oauth2/token 200', 'query Opportunity read 200']);
    });
  });
});
