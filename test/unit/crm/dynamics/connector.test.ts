import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrmApiError, CrmPreconditionFailedError, type ColumnRequest, type CustomerRefs } from '../../../../src/crm/connector.ts';
import { SYNC_STATUS_OPTIONS } from '../../../../src/crm/dynamics/custom-columns.ts';
import { setupDynamics } from '../../../../src/crm/dynamics/provisioning.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { startHarness, type Harness, type Row } from './helpers.ts';

const CURRENCY: ColumnRequest = { name: 'transactioncurrencyid', lookup: { entity: 'transactioncurrency', by: 'isocurrencycode' } };
const OPPORTUNITY_COLUMNS: ColumnRequest[] = [
  { name: 'name' },
  { name: 'estimatedvalue' },
  CURRENCY,
  { name: 'estimatedclosedate' },
  { name: 'description' },
  { name: '@state' },
  { name: 'cosell_referralidentifier' },
  { name: 'cosell_syncwithpartnercenter' },
  { name: 'parentaccountid' },
];
const LEAD_COLUMNS: ColumnRequest[] = [{ name: 'subject' }, { name: 'companyname' }, { name: 'lastname' }, { name: '@state' }];

describe('DynamicsConnector against the Dataverse sandbox', () => {
  let h: Harness;
  let customer: CustomerRefs;
  let referralSequence = 0;
  const nextReferralId = () => `ref-${Date.now()}-${referralSequence++}`;

  beforeAll(async () => {
    h = await startHarness();
    await setupDynamics({ connector: h.connector, logger: silentLogger() });
    customer = await h.connector.ensureCustomer({
      name: 'Fabrikam Inc',
      postalCode: '10001',
      city: 'New York',
      country: 'us',
      contacts: [{ firstName: 'Dana', lastName: 'Ruiz', email: 'dana@fabrikam.example', phone: '+1 555 0100' }],
    });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.control('DELETE', '/_sandbox/faults');
    h.calls.length = 0;
  });

  async function createOpportunity(values: Row = {}, referralId = nextReferralId()) {
    return h.connector.createForReferral(
      'opportunity',
      referralId,
      { name: 'Fabrikam - Azure migration', estimatedvalue: 125000, transactioncurrencyid: 'EUR', estimatedclosedate: '2026-12-31', ...values },
      customer,
      OPPORTUNITY_COLUMNS,
      { ok: true, auditLines: ['2026-11-21 created from referral'] },
    );
  }

  async function sandboxRow(entitySet: string, id: string): Promise<Row> {
    const row = (await h.rows(entitySet)).find((candidate) => candidate[entitySet === 'leads' ? 'leadid' : 'opportunityid'] === id);
    if (!row) throw new Error(`${entitySet} ${id} not in the sandbox`);
    return row;
  }

  describe('createForReferral', () => {
    it('creates one record per referral id even when the create is repeated, bound to the customer', async () => {
      const referralId = nextReferralId();
      const first = await createOpportunity({}, referralId);
      const second = await createOpportunity({ name: 'a retried create with other values' }, referralId);

      expect(second.ref).toEqual(first.ref);
      const matching = (await h.rows('opportunities')).filter((row) => row.cosell_referralidentifier === referralId);
      expect(matching).toHaveLength(1);
      const row = matching[0] as Row;
      expect(row.name).toBe('Fabrikam - Azure migration ✔');
      expect(row.cosell_syncwithpartnercenter).toBe(true);
      expect(row.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.synced);
      expect(row.cosell_audit).toBe('2026-11-21 created from referral');
      expect(row._customerid_value).toBe(customer.account.id);
      expect(row._parentaccountid_value).toBe(customer.account.id);
      expect(row._parentcontactid_value).toBe(customer.contacts[0]?.id);
      // The retried create answered 412 and was not applied.
      expect(h.calls.filter((call) => call.method === 'PATCH' && call.status === 412)).toHaveLength(1);
    });

    it('backfills in one $batch change set per 200, with the version of each create; a rerun finds them all and writes nothing', async () => {
      const earlier = await createOpportunity({ name: 'made one at a time' });
      const referralIds = [earlier.values.cosell_referralidentifier as string, ...Array.from({ length: 249 }, () => nextReferralId())];
      const [profileCustomer] = await h.connector.ensureCustomers([{ name: 'Fabrikam Inc', postalCode: '10001', contacts: [{ email: 'dana@fabrikam.example' }] }]);
      expect(profileCustomer).toMatchObject({ account: customer.account, contacts: customer.contacts, created: [] });
      const items = referralIds.map((referralId, i) => ({
        referralId,
        values: { name: `Backfill ${i}`, estimatedvalue: i, transactioncurrencyid: 'EUR', estimatedclosedate: '2026-12-31', '@state': 'open' },
        customer,
        status: { ok: true, auditLines: ['backfilled'] },
      }));
      h.calls.length = 0;
      const results = await h.connector.createManyForReferrals('opportunity', items);
      expect(results[0]).toMatchObject({ outcome: 'existing', ref: earlier.ref });
      expect(results.slice(1).every((r) => r.outcome === 'created' && typeof r.version === 'string')).toBe(true);
      // Per 200: one lookup of existing records and one $batch.
      expect(h.calls.map((call) => `${call.method} ${call.route}`).sort()).toEqual([
        'GET opportunities bulk match',
        'GET opportunities bulk match',
        'POST $batch opportunities keyed creates',
        'POST $batch opportunities keyed creates',
      ]);
      const created = results[5];
      const row = created?.ref ? await sandboxRow('opportunities', created.ref.id) : {};
      expect(row).toMatchObject({ name: 'Backfill 5 ✔', cosell_referralidentifier: referralIds[5], _parentaccountid_value: customer.account.id });
      expect(await h.connector.read(created?.ref ?? { entity: 'opportunity', id: '' }, OPPORTUNITY_COLUMNS)).toMatchObject({ version: created?.version });

      h.calls.length = 0;
      const rerun = await h.connector.createManyForReferrals('opportunity', items);
      expect(rerun.every((r) => r.outcome === 'existing')).toBe(true);
      expect(rerun.map((r) => r.ref?.id)).toEqual(results.map((r) => r.ref?.id));
      expect(h.calls.every((call) => call.method === 'GET')).toBe(true);
    });

    it('returns the record read back: code lookups resolved, DateOnly as a date, the indicator stripped', async () => {
      const record = await createOpportunity();
      expect(record.values).toMatchObject({
        name: 'Fabrikam - Azure migration',
        estimatedvalue: 125000,
        transactioncurrencyid: 'EUR',
        estimatedclosedate: '2026-12-31',
        '@state': 'open',
        cosell_syncwithpartnercenter: true,
        parentaccountid: customer.account.id,
      });
      expect(record.version).toMatch(/^W\/"\d+"$/);
      expect(record.modifiedByUs).toBe(true);
      expect(Number.isNaN(Date.parse(record.modifiedAt))).toBe(false);
    });

    it('creates leads with their own contact fields', async () => {
      const lead = await h.connector.createForReferral(
        'lead',
        nextReferralId(),
        { subject: 'Contoso - new lead', companyname: 'Contoso Ltd', firstname: 'Lee', lastname: 'Park', emailaddress1: 'lee@contoso.example' },
        undefined,
        LEAD_COLUMNS,
        { ok: true, auditLines: ['created'] },
      );
      expect(lead.values).toEqual({ subject: 'Contoso - new lead', companyname: 'Contoso Ltd', lastname: 'Park', '@state': 'open' });
      expect((await sandboxRow('leads', lead.ref.id)).subject).toBe('Contoso - new lead ✔');
      const profile = await h.connector.readCustomer(lead.ref);
      expect(profile).toMatchObject({ name: 'Contoso Ltd', contacts: [{ firstName: 'Lee', lastName: 'Park', email: 'lee@contoso.example' }] });
    });

    it('creates a referral that is already closed open first, then closes it by action', async () => {
      const record = await createOpportunity({ '@state': 'lost' });
      expect(record.values['@state']).toBe('lost');
      expect(await sandboxRow('opportunities', record.ref.id)).toMatchObject({ statecode: 2, name: 'Fabrikam - Azure migration ✔' });
      expect(h.calls.map((call) => `${call.method} ${call.route}`)).toContain('POST LoseOpportunity');
    });

    it('refuses leads when lead creation is disabled', async () => {
      const connector = h.connect({ leadsEnabled: false });
      await expect(connector.createForReferral('lead', nextReferralId(), { subject: 'x', lastname: 'y' }, undefined, LEAD_COLUMNS)).rejects.toMatchObject({ code: 'leadsDisabled', retryable: false });
    });
  });

  describe('findByReferralId and read', () => {
    it('finds by the alternate key, including ids that need escaping, and answers null when absent', async () => {
      const awkward = `O'Brien, "quoted" & more/${nextReferralId()}`;
      const created = await createOpportunity({}, awkward);
      const found = await h.connector.findByReferralId('opportunity', awkward, [{ name: 'cosell_referralidentifier' }]);
      expect(found?.ref).toEqual(created.ref);
      expect(found?.values.cosell_referralidentifier).toBe(awkward);
      expect(await h.connector.findByReferralId('opportunity', 'no-such-referral', [{ name: 'name' }])).toBeNull();
      expect(await h.connector.read({ entity: 'opportunity', id: '00000000-0000-0000-0000-0000000000ff' }, [{ name: 'name' }])).toBeNull();
      // Another CRM's id (a Salesforce id in a referral's externalReferenceId) is no row of ours.
      expect(await h.connector.read({ entity: 'opportunity', id: '006Hs00001AbCdEIAV' }, [{ name: 'name' }])).toBeNull();
    });

    it('recognises the notification of its own write (its application user at depth 1), and nothing else', async () => {
      const created = await createOpportunity();
      const rows = (await h.control<{ value: Row[] }>('GET', '/_sandbox/records/opportunities')).body.value;
      const ours = rows.find((r) => r.opportunityid === created.ref.id)?._modifiedby_value;
      expect(typeof ours).toBe('string');
      const edited = await h.control<Row>('PATCH', `/_sandbox/records/opportunities/${created.ref.id}`, { description: 'seller notes' });
      const seller = edited.body._modifiedby_value;
      expect(seller).not.toBe(ours);
      expect(await h.connector.isOwnWrite({ initiatingUserId: String(ours).toUpperCase(), depth: 1 })).toBe(true);
      // A plug-in or workflow our write set off (depth 2), a seller, or a notification without a user: synced.
      expect(await h.connector.isOwnWrite({ initiatingUserId: String(ours), depth: 2 })).toBe(false);
      expect(await h.connector.isOwnWrite({ initiatingUserId: String(seller), depth: 1 })).toBe(false);
      expect(await h.connector.isOwnWrite({ initiatingUserId: undefined, depth: 1 })).toBe(false);
    });

    it('tells a seller edit from our own and never reports the indicator as part of the name', async () => {
      const created = await createOpportunity();
      const edited = await h.control('PATCH', `/_sandbox/records/opportunities/${created.ref.id}`, { description: 'seller notes' });
      expect(edited.status).toBe(200);
      const record = await h.connector.read(created.ref, OPPORTUNITY_COLUMNS);
      expect(record?.modifiedByUs).toBe(false);
      expect(record?.values.description).toBe('seller notes');
      expect(record?.values.name).toBe('Fabrikam - Azure migration');
      expect(record?.version).not.toBe(created.version);
    });

    it('reads multi-select choices as option-value strings and writes them back', async () => {
      await h.connector.client.api.createAttribute({
        entityKey: "LogicalName='opportunity'",
        data: {
          '@odata.type': 'Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata',
          SchemaName: 'cosell_TestProducts',
          DisplayName: { LocalizedLabels: [{ Label: 'Products', LanguageCode: 1033 }] },
          OptionSet: { Options: [100000000, 100000001, 100000002].map((Value) => ({ Value, Label: { LocalizedLabels: [{ Label: `P${Value}`, LanguageCode: 1033 }] } })) },
        },
      });
      h.connector.invalidateMetadata();
      const created = await createOpportunity();
      const { version } = await h.connector.update(created.ref, { cosell_testproducts: ['100000002', '100000000'] }, created.version);
      expect((await sandboxRow('opportunities', created.ref.id)).cosell_testproducts).toBe('100000002,100000000');
      const record = await h.connector.read(created.ref, [{ name: 'cosell_testproducts' }]);
      expect(record?.version).toBe(version);
      expect(record?.values.cosell_testproducts).toEqual(['100000002', '100000000']);
      const described = await h.connector.describe(['opportunity']);
      expect(described.opportunity?.columns.cosell_testproducts).toEqual({ name: 'cosell_testproducts', type: 'multipicklist', options: ['100000000', '100000001', '100000002'] });
    });
  });

  describe('update', () => {
    it('writes only the given columns with the status in one PATCH and returns the new version', async () => {
      const created = await createOpportunity();
      h.calls.length = 0;
      const { version } = await h.connector.update(created.ref, { estimatedvalue: 150000, transactioncurrencyid: 'USD' }, created.version, {
        ok: false,
        auditLines: ['2026-11-21 deal value rejected by Partner Center', '2026-11-20 created'],
      });
      // The record was just read at this version, so nothing is re-read: one GET resolves the new currency code (then
      // cached) and the write, status included, is one PATCH.
      expect(h.calls.map((call) => `${call.method} ${call.route}`)).toEqual(['GET transactioncurrencies', 'PATCH opportunities({id})']);
      const row = await sandboxRow('opportunities', created.ref.id);
      expect(row).toMatchObject({
        estimatedvalue: 150000,
        name: 'Fabrikam - Azure migration ✖',
        cosell_syncstatus: SYNC_STATUS_OPTIONS.failed,
        cosell_audit: '2026-11-21 deal value rejected by Partner Center\n2026-11-20 created',
      });
      expect(row['@odata.etag']).toBe(version);
      const record = await h.connector.read(created.ref, OPPORTUNITY_COLUMNS);
      expect(record?.values).toMatchObject({ transactioncurrencyid: 'USD', name: 'Fabrikam - Azure migration' });
    });

    it('fails with CrmPreconditionFailedError when the record changed since the version', async () => {
      const created = await createOpportunity();
      await h.control('PATCH', `/_sandbox/records/opportunities/${created.ref.id}`, { estimatedvalue: 1 });
      await expect(h.connector.update(created.ref, { estimatedvalue: 2 }, created.version)).rejects.toBeInstanceOf(CrmPreconditionFailedError);
      expect((await sandboxRow('opportunities', created.ref.id)).estimatedvalue).toBe(1);
    });

    it('wins through WinOpportunity after saving the other columns, and the record is read-only afterwards', async () => {
      const created = await createOpportunity();
      h.calls.length = 0;
      const { version } = await h.connector.update(created.ref, { estimatedvalue: 99000, '@state': 'won' }, created.version, { ok: true, auditLines: ['won'] });
      expect(h.calls.filter((call) => call.method !== 'GET').map((call) => `${call.method} ${call.route}`)).toEqual(['PATCH opportunities({id})', 'POST WinOpportunity']);
      const row = await sandboxRow('opportunities', created.ref.id);
      expect(row).toMatchObject({ statecode: 1, statuscode: 3, estimatedvalue: 99000, name: 'Fabrikam - Azure migration ✔' });
      expect(row['@odata.etag']).toBe(version);
      const closes = await h.rows('opportunitycloses');
      expect(closes.some((close) => close._opportunityid_value === created.ref.id)).toBe(true);

      const record = await h.connector.read(created.ref, OPPORTUNITY_COLUMNS);
      expect(record?.values['@state']).toBe('won');
      await expect(h.connector.update(created.ref, { description: 'late edit' }, version)).rejects.toMatchObject({ code: 'closedOpportunity', retryable: false });
      // Never reopened: asking for "open" changes nothing, and the status write on a closed record is skipped.
      h.calls.length = 0;
      await h.connector.update(created.ref, { '@state': 'open' }, version, { ok: true, auditLines: ['x'] });
      await h.connector.writeSyncStatus(created.ref, { ok: false, auditLines: ['failed later'] });
      expect(h.calls.filter((call) => call.method !== 'GET')).toEqual([]);
      expect((await sandboxRow('opportunities', created.ref.id)).statecode).toBe(1);
    });

    it('loses through LoseOpportunity', async () => {
      const created = await createOpportunity();
      await h.connector.update(created.ref, { '@state': 'lost' }, created.version);
      expect(await sandboxRow('opportunities', created.ref.id)).toMatchObject({ statecode: 2, statuscode: 4 });
      expect(h.calls.some((call) => call.route === 'LoseOpportunity' && call.method === 'POST')).toBe(true);
    });

    it('qualifies and disqualifies leads by state', async () => {
      const columns = LEAD_COLUMNS;
      const lead = await h.connector.createForReferral('lead', nextReferralId(), { subject: 'Lead A', lastname: 'A' }, undefined, columns);
      await h.connector.update(lead.ref, { '@state': 'qualified' }, lead.version, { ok: true, auditLines: ['accepted'] });
      expect(await sandboxRow('leads', lead.ref.id)).toMatchObject({ statecode: 1, statuscode: 3, subject: 'Lead A ✔' });
      expect((await h.connector.read(lead.ref, columns))?.values['@state']).toBe('qualified');

      const other = await h.connector.createForReferral('lead', nextReferralId(), { subject: 'Lead B', lastname: 'B' }, undefined, columns);
      await h.connector.update(other.ref, { '@state': 'disqualified' }, other.version);
      expect(await sandboxRow('leads', other.ref.id)).toMatchObject({ statecode: 2, statuscode: 4 });
    });

    it('rejects unknown @state values without writing', async () => {
      const created = await createOpportunity();
      await expect(h.connector.update(created.ref, { '@state': 'accepted' }, created.version)).rejects.toMatchObject({ code: 'invalidValue', retryable: false });
    });
  });

  describe('writeSyncStatus', () => {
    it('sets ✔/✖ and the audit without touching seller columns, keeping a concurrent rename', async () => {
      const created = await createOpportunity();
      await h.control('PATCH', `/_sandbox/records/opportunities/${created.ref.id}`, { name: 'Renamed by seller', description: 'seller text' });
      await h.connector.writeSyncStatus(created.ref, { ok: false, auditLines: ['2026-11-21 Partner Center rejected the update: dealValue must be positive'] });
      expect(await sandboxRow('opportunities', created.ref.id)).toMatchObject({
        name: 'Renamed by seller ✖',
        description: 'seller text',
        cosell_syncstatus: SYNC_STATUS_OPTIONS.failed,
        cosell_audit: '2026-11-21 Partner Center rejected the update: dealValue must be positive',
      });
      await h.connector.writeSyncStatus(created.ref, { ok: true, auditLines: ['ok'] });
      expect((await sandboxRow('opportunities', created.ref.id)).name).toBe('Renamed by seller ✔');
    });

    it('keeps the newest audit lines that fit the column', async () => {
      const created = await createOpportunity();
      const lines = Array.from({ length: 30 }, (_, index) => `${String(index).padStart(2, '0')} ${'x'.repeat(5000)}`);
      await h.connector.writeSyncStatus(created.ref, { ok: true, auditLines: lines });
      const audit = String((await sandboxRow('opportunities', created.ref.id)).cosell_audit);
      expect(audit.length).toBeLessThanOrEqual(100_000);
      expect(audit.startsWith('00 ')).toBe(true);
      expect(audit).not.toContain('29 x');
      expect(audit.split('\n')).toHaveLength(19);
    });

    it('can leave the name alone when the indicator is switched off', async () => {
      const connector = h.connect({ statusIndicator: { nameSuffix: false } });
      const created = await createOpportunity();
      await connector.writeSyncStatus(created.ref, { ok: false, auditLines: ['failed'] });
      expect(await sandboxRow('opportunities', created.ref.id)).toMatchObject({ name: 'Fabrikam - Azure migration ✔', cosell_syncstatus: SYNC_STATUS_OPTIONS.failed });
    });
  });

  describe('ensureCustomer and readCustomer', () => {
    it('matches the account by name and postal code, case-insensitively, and contacts by email', async () => {
      const again = await h.connector.ensureCustomer({ name: 'FABRIKAM INC', postalCode: '10001', contacts: [{ lastName: 'Ruiz', email: 'DANA@fabrikam.example' }] });
      expect(again).toEqual({ account: customer.account, contacts: customer.contacts, created: [] });

      const branch = await h.connector.ensureCustomer({ name: 'Fabrikam Inc', postalCode: '94105', country: 'US', contacts: [{ email: 'dana@fabrikam.example' }, { firstName: 'Sam', lastName: 'Ode', email: 'sam@fabrikam.example' }] });
      expect(branch.account.id).not.toBe(customer.account.id);
      expect(branch.contacts.map((ref) => ref.id)).toContain(customer.contacts[0]?.id);
      expect(branch.created.map((ref) => ref.entity).sort()).toEqual(['account', 'contact']);
      const accounts = (await h.rows('accounts')).filter((row) => String(row.name).toLowerCase() === 'fabrikam inc');
      expect(accounts).toHaveLength(2);
      const created = (await h.rows('contacts')).find((row) => row.emailaddress1 === 'sam@fabrikam.example');
      expect(created).toMatchObject({ firstname: 'Sam', lastname: 'Ode', _parentcustomerid_value: branch.account.id });
    });

    it("reads an opportunity's account and primary contact as a customer profile", async () => {
      const created = await createOpportunity();
      expect(await h.connector.readCustomer(created.ref)).toEqual({
        name: 'Fabrikam Inc',
        postalCode: '10001',
        addressLine1: undefined,
        city: 'New York',
        state: undefined,
        country: 'US',
        contacts: [{ firstName: 'Dana', lastName: 'Ruiz', email: 'dana@fabrikam.example', phone: '+1 555 0100' }],
      });
      expect(await h.connector.readCustomer({ entity: 'opportunity', id: '00000000-0000-0000-0000-0000000000ff' })).toBeNull();
      const contact = customer.contacts[0];
      if (!contact) throw new Error('the customer has no contact');
      expect(await h.connector.readCustomer(contact)).toMatchObject({ name: 'Fabrikam Inc', postalCode: '10001', contacts: [{ email: 'dana@fabrikam.example' }] });
    });
  });

  describe('changesSince', () => {
    it('starts now, then reports seller edits, creations and deletions once', async () => {
      const before = await createOpportunity();
      const start = await h.connector.changesSince('opportunity', null);
      expect(start.refs).toEqual([]);
      expect(start.cursor).toContain('$deltatoken=');

      const edited = await createOpportunity();
      const doomed = await createOpportunity();
      const after = await h.connector.changesSince('opportunity', start.cursor);
      expect(after.refs.map((ref) => ref.id)).toEqual(expect.arrayContaining([edited.ref.id, doomed.ref.id]));
      expect(after.refs.map((ref) => ref.id)).not.toContain(before.ref.id);

      await h.control('PATCH', `/_sandbox/records/opportunities/${edited.ref.id}`, { description: 'seller edit' });
      const sellerCreated = await h.control('POST', '/_sandbox/records/opportunities', { name: 'Seller deal' });
      expect((await h.control('DELETE', `/_sandbox/records/opportunities/${doomed.ref.id}`)).status).toBe(204);
      const changes = await h.connector.changesSince('opportunity', after.cursor);
      expect(new Set(changes.refs.map((ref) => ref.id))).toEqual(new Set([edited.ref.id, doomed.ref.id, sellerCreated.body.opportunityid]));
      expect(changes.refs.every((ref) => ref.entity === 'opportunity')).toBe(true);

      const quiet = await h.connector.changesSince('opportunity', changes.cursor);
      expect(quiet.refs).toEqual([]);
    });

    it('starts over from now, and says so, when the delta token is rejected', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
      const connector = h.connect({ logger });
      const { cursor } = await connector.changesSince('lead', null);
      const broken = cursor.replace(/\$deltatoken=[^&]*/, '$deltatoken=not-a-token');
      const restarted = await connector.changesSince('lead', broken);
      expect(restarted.refs).toEqual([]);
      expect(restarted.cursor).toContain('$deltatoken=');
      expect(restarted.cursor).not.toContain('not-a-token');
      expect(lines.some((line) => line.includes('starting a new session from now'))).toBe(true);
    });
  });

  describe('throttling and errors', () => {
    it('waits out a 429 Retry-After and succeeds', async () => {
      const created = await createOpportunity();
      await h.control('POST', '/_sandbox/faults', { retryAfterSeconds: 1, count: 1, routes: ['/api/data/v9.2/opportunities('] });
      h.calls.length = 0;
      const started = Date.now();
      const record = await h.connector.read(created.ref, [{ name: 'name' }]);
      expect(record?.values.name).toBe('Fabrikam - Azure migration');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(h.calls.filter((call) => call.route === 'opportunities({id})').map((call) => call.status)).toEqual([429, 200]);
    });

    it('hands a long Retry-After to the caller as a retryable CrmApiError', async () => {
      const connector = h.connect({ retry: { maxRetryAfterMs: 500 } });
      await h.control('POST', '/_sandbox/faults', { retryAfterSeconds: 30, count: 1, routes: ['/api/data/v9.2/opportunities'] });
      const error = await connector.read({ entity: 'opportunity', id: customer.account.id }, [{ name: 'name' }]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CrmApiError);
      expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 30_000, code: '0x80072322' });
    });

    it('does not resend an action after a 5xx, and reports it as retryable with the API message', async () => {
      const created = await createOpportunity();
      await h.control('POST', '/_sandbox/faults', { errorStatus: 500, count: 1, routes: ['/api/data/v9.2/WinOpportunity'] });
      h.calls.length = 0;
      const error = await h.connector.update(created.ref, { '@state': 'won' }, created.version).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CrmApiError);
      expect(error).toMatchObject({ status: 500, retryable: true });
      expect((error as Error).message).toContain('injected fault');
      expect(h.calls.filter((call) => call.route === 'WinOpportunity').map((call) => call.status)).toEqual([500]);
      expect((await sandboxRow('opportunities', created.ref.id)).statecode).toBe(0);
    });

    it('resends a PATCH after a 5xx: setting the same columns twice is harmless', async () => {
      const connector = h.connect({ statusIndicator: { nameSuffix: false } });
      const lead = await connector.createForReferral('lead', nextReferralId(), { subject: 'Lead C', lastname: 'C' }, undefined, LEAD_COLUMNS);
      await h.control('POST', '/_sandbox/faults', { errorStatus: 500, count: 1, routes: ['/api/data/v9.2/leads('] });
      h.calls.length = 0;
      await connector.writeSyncStatus(lead.ref, { ok: false, auditLines: ['x'] });
      expect(h.calls.map((call) => `${call.method} ${call.status}`)).toEqual(['PATCH 500', 'PATCH 200']);
      expect((await sandboxRow('leads', lead.ref.id)).cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.failed);
    });

    it('retries a read after a 5xx', async () => {
      const created = await createOpportunity();
      await h.control('POST', '/_sandbox/faults', { errorStatus: 503, count: 1, routes: ['/api/data/v9.2/opportunities('] });
      h.calls.length = 0;
      expect((await h.connector.read(created.ref, [{ name: 'name' }]))?.ref).toEqual(created.ref);
      expect(h.calls.filter((call) => call.route === 'opportunities({id})').map((call) => call.status)).toEqual([503, 200]);
    });

    it('abandons an attempt that exceeds the timeout and retries the read', async () => {
      const connector = h.connect({ timeoutMs: 300 });
      const created = await createOpportunity();
      await h.control('POST', '/_sandbox/faults', { latencyMs: 1500, count: 1, routes: ['/api/data/v9.2/opportunities('] });
      h.calls.length = 0;
      expect((await connector.read(created.ref, [{ name: 'name' }]))?.values.name).toBe('Fabrikam - Azure migration');
      expect(h.calls.filter((call) => call.route === 'opportunities({id})').map((call) => call.status)).toEqual(['network-error', 200]);
    });

    it('surfaces a Dataverse validation error as non-retryable with its message', async () => {
      const created = await createOpportunity();
      const error = await h.connector.update(created.ref, { closeprobability: 250 }, created.version).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ status: 400, retryable: false });
      expect((error as Error).message).toContain('closeprobability');
    });
  });
});
