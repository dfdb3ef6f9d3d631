import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createDynamicsConnector } from '../../src/crm/dynamics/factory.ts';
import { setupDynamics } from '../../src/crm/dynamics/provisioning.ts';
import { partnerCenterClients, type PartnerCenterClients } from '../../src/partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES } from '../../src/partner-center/webhook-event.ts';
import { SANDBOX_USERS, startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { freePort } from '../support/service-process.ts';
import { makeTempDir } from '../support/tmp.ts';
import { adminJson, json, waitFor } from '../support/service-harness.ts';
import { adminFetch, testAdminConfig } from '../support/admin.ts';
import { dataverseAs } from '../support/dataverse-identities.ts';

type Row = Record<string, unknown>;

/**
 * Dynamics 365 end to end on the sandboxes: Partner Center signs webhooks, the service verifies them, the engine reads
 * both sides through the real clients (dynamics-web-api for Dataverse) and writes only what changed.
 */
describe('two-way sync with Dynamics 365 (sandboxes)', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let dv: DataverseSandbox;
  let service: RunningService;
  let clients: PartnerCenterClients;

  const opportunities = async (): Promise<Row[]> => (await json<{ value: Row[] }>(`${dv.url}/_sandbox/records/opportunities`)).value;
  const opportunityFor = async (referralId: string): Promise<Row | undefined> =>
    (await opportunities()).find((o) => o.cosell_referralidentifier === referralId);
  const pcRequests = async () => json<{ total: number; routes: Record<string, number> }>(`${pc.url}/_sandbox/requests`);
  const dvRequests = async () => json<{ total: number; routes: Record<string, number> }>(`${dv.url}/_sandbox/requests`);
  const writes = (routes: Record<string, number>) =>
    Object.entries(routes)
      .filter(([route]) => /^(POST|PATCH|PUT|DELETE) /.test(route))
      .reduce((sum, [, n]) => sum + n, 0);

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0, delivery: { initialDelayMs: 50, maxDelayMs: 200 } });
    dv = await startDataverseSandbox({ port: 0, webhookRetryDelayMs: 50 });
    const anchor = join(tmp.path, 'root.pem');
    writeFileSync(anchor, pc.rootCertificatePem);
    const secretFile = join(tmp.path, 'dv-webhook.secret');
    writeFileSync(secretFile, 'dv-webhook-secret-for-tests\n');
    const port = await freePort();
    const pcHost = new URL(pc.url).host;
    const config = parseConfig('test', {
      server: { host: '127.0.0.1', port },
      admin: testAdminConfig(),
      store: { path: join(tmp.path, 'cosell.db') },
      log: { level: 'silent' },
      sync: { reconcileIntervalSeconds: 3600 },
      partnerCenter: {
        referralsApiUrl: pc.url,
        webhooksApiUrl: pc.url,
        auth: { mode: 'sandbox' },
        webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
      },
      dynamics: { orgUrl: dv.url, mode: 'sandbox', webhook: { secret: { file: secretFile } } },
    });
    // What `cosell setup dynamics` does: custom columns, key, webhook endpoint and steps.
    const connector = await createDynamicsConnector(config.dynamics!, { logger: silentLogger() });
    await setupDynamics({
      connector,
      logger: silentLogger(),
      webhookUrl: `http://127.0.0.1:${port}/webhooks/dynamics`,
      webhookAuth: { kind: 'HttpHeader', headerName: 'x-cosell-webhook-key', secret: 'dv-webhook-secret-for-tests' },
    });
    service = await startService(config, silentLogger());
    clients = await partnerCenterClients(config.partnerCenter);
    await clients.webhooks.register({ webhookUrl: `${service.url}/webhooks/partner-center`, webhookEvents: [...REFERRAL_EVENT_NAMES] });
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await pc?.close();
    await dv?.close();
    tmp.cleanup();
  });

  let referralId = '';

  it('a co-sell referral shared by Microsoft becomes a Dynamics opportunity with the customer account', async () => {
    const created = await json<{ id: string }>(`${pc.url}/_sandbox/referrals/incoming`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Contoso ERP rollout',
        details: { dealValue: 125000, currency: 'USD', notes: 'Customer wants a pilot in Q1' },
        customerProfile: { name: 'Contoso Ltd', address: { postalCode: '98052', city: 'Redmond', country: 'US' } },
      }),
    });
    referralId = created.id;
    const opportunity = await waitFor('opportunity created', () => opportunityFor(referralId));
    expect(opportunity.estimatedvalue).toBe(125000);
    expect(opportunity.description).toBe('Customer wants a pilot in Q1');
    expect(opportunity.cosell_syncwithpartnercenter).toBe(true);
    // Microsoft's side of the engagement (its own referral) fills Microsoft's CRM id on the opportunity.
    const all = await json<{ value: Array<{ id: string; engagementId: string; organizationId: string; trackingInfo?: { microsoftMsxId?: string } }> }>(
      `${pc.url}/_sandbox/referrals`,
    );
    const engagementId = all.value.find((r) => r.id === referralId)?.engagementId;
    const mine = all.value.find((r) => r.organizationId === 'msft' && r.engagementId === engagementId);
    expect(mine?.trackingInfo?.microsoftMsxId).toBeTruthy();
    expect(opportunity.cosell_microsoftcrmidentifier).toBe(mine?.trackingInfo?.microsoftMsxId);
    expect(String(opportunity.name)).toMatch(/^Contoso ERP rollout/);
    const accounts = (await json<{ value: Row[] }>(`${dv.url}/_sandbox/records/accounts`)).value;
    const account = accounts.find((a) => a.name === 'Contoso Ltd');
    expect(account?.address1_postalcode).toBe('98052');
    expect(opportunity._customerid_value).toBe(account?.accountid);
    // The CRM id goes back to Partner Center as the referral's externalReferenceId ("CRM ID").
    const referral = await waitFor('CRM id on the referral', async () => {
      const r = (await clients.referrals.get(referralId)).referral;
      return r.externalReferenceId === opportunity.opportunityid ? r : undefined;
    });
    expect(referral.externalReferenceId).toBe(opportunity.opportunityid);
  });

  it('a Microsoft seller’s change reaches the opportunity; the echo of our writes costs no write', async () => {
    await service.engine!.worker.drain();
    await new Promise((r) => setTimeout(r, 300));
    await service.engine!.worker.drain();
    await fetch(`${pc.url}/_sandbox/requests`, { method: 'DELETE' });
    await fetch(`${dv.url}/_sandbox/requests`, { method: 'DELETE' });
    await json(`${pc.url}/_sandbox/referrals/${referralId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ details: { dealValue: 150000 } }),
    });
    await waitFor('estimatedvalue updated', async () => (await opportunityFor(referralId))?.estimatedvalue === 150000);
    // Let the Dataverse webhook of our own write come back and be processed.
    await new Promise((r) => setTimeout(r, 500));
    await service.engine!.worker.drain();
    const pcCounts = await pcRequests();
    const dvCounts = await dvRequests();
    expect(writes(pcCounts.routes)).toBe(0);
    expect(pcCounts.routes['GET /v1.0/engagements/referrals/:id'] ?? 0).toBeGreaterThanOrEqual(1);
    expect(writes(dvCounts.routes)).toBe(1);
  });

  it('a seller’s edit in Dynamics flows back to Partner Center', async () => {
    const opportunity = (await opportunityFor(referralId))!;
    // The referral is still an unanswered invitation, which takes no edit before it is accepted: the seller accepts
    // it (Co-sell Decision = Accept) in the same save, and the edit goes with the acceptance.
    await json(`${dv.url}/_sandbox/records/opportunities/${String(opportunity.opportunityid)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'Pilot approved by the CFO', cosell_coselldecision: 100_000_000 }),
    });
    await waitFor('notes updated in Partner Center', async () =>
      (await clients.referrals.get(referralId)).referral.details?.notes === 'Pilot approved by the CFO',
    );
    const audit = await adminJson<{ entries: Array<{ field: string | null; direction: string; outcome: string }> }>(
      `${service.adminUrl}/api/audit?referralId=${referralId}`,
    );
    expect(audit.entries.some((e) => e.field === 'notes' && e.direction === 'to-pc' && e.outcome === 'written')).toBe(true);
  });

  it('a seller’s edit through the Web API, signed in as themselves, reaches Partner Center; our write is not echoed back', async () => {
    const opportunityId = String((await opportunityFor(referralId))!.opportunityid);
    // Not the control API: the seller's own token through dynamics-web-api, as Outlook, Excel or a tool of theirs would.
    const seller = await dataverseAs(dv.url, { seller: SANDBOX_USERS.seller.domainname });
    await service.engine!.worker.drain();
    await fetch(`${pc.url}/_sandbox/requests`, { method: 'DELETE' });
    await fetch(`${dv.url}/_sandbox/requests`, { method: 'DELETE' });
    await seller.update({ collection: 'opportunities', key: opportunityId, data: { description: 'Scope widened to two plants' } });
    expect((await opportunityFor(referralId))?._modifiedby_value).toBe(SANDBOX_USERS.seller.id);
    await waitFor('notes updated in Partner Center', async () =>
      (await clients.referrals.get(referralId)).referral.details?.notes === 'Scope widened to two plants',
    );
    // Let the Partner Center webhook of our own write come back and be processed.
    await new Promise((r) => setTimeout(r, 500));
    await service.engine!.worker.drain();
    expect(writes((await pcRequests()).routes)).toBe(1);
    // The seller's own PATCH: the sync wrote nothing back to Dynamics.
    expect(writes((await dvRequests()).routes)).toBe(1);
  });

  it('closing the referral as won in Partner Center wins the opportunity', async () => {
    await json(`${pc.url}/_sandbox/referrals/${referralId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'Closed', substatus: 'Won' }),
    });
    const won = await waitFor('opportunity won', async () => {
      const o = await opportunityFor(referralId);
      return o?.statecode === 1 ? o : undefined;
    });
    expect(won.statuscode).toBe(3);
  });

  it('an unaccepted lead becomes a CRM lead, and an opportunity once accepted', async () => {
    const created = await json<{ id: string }>(`${pc.url}/_sandbox/referrals/incoming`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Fabrikam marketplace lead',
        type: 'Independent',
        status: 'New',
        substatus: 'Received',
        microsoftSide: false,
        customerProfile: { name: 'Fabrikam Inc', address: { postalCode: '98101', city: 'Seattle', country: 'US' } },
      }),
    });
    const leads = async () => (await json<{ value: Row[] }>(`${dv.url}/_sandbox/records/leads`)).value;
    const lead = await waitFor('lead created', async () => (await leads()).find((l) => l.cosell_referralidentifier === created.id));
    expect(lead.companyname).toBe('Fabrikam Inc');
    expect(await opportunityFor(created.id)).toBeUndefined();

    await json(`${pc.url}/_sandbox/referrals/${created.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'Active', substatus: 'Accepted' }),
    });
    const opportunity = await waitFor('opportunity after acceptance', () => opportunityFor(created.id));
    expect(String(opportunity.name)).toMatch(/^Fabrikam marketplace lead/);
    const qualified = (await leads()).find((l) => l.leadid === lead.leadid);
    expect(qualified?.statecode).toBe(1);
    await waitFor('referral points at the opportunity', async () =>
      (await clients.referrals.get(created.id)).referral.externalReferenceId === opportunity.opportunityid,
    );
  });

  it('rejects a Dataverse notification with a wrong or missing secret, storing nothing', async () => {
    const before = await service.store.inbox.count('dynamics');
    const body = JSON.stringify({ MessageName: 'Update', PrimaryEntityName: 'opportunity', PrimaryEntityId: '00000000-0000-0000-0000-000000000001' });
    const forged = await fetch(`${service.url}/webhooks/dynamics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cosell-webhook-key': 'not-the-secret' },
      body,
    });
    expect(forged.status).toBe(401);
    const missing = await fetch(`${service.url}/webhooks/dynamics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(missing.status).toBe(401);
    expect(await service.store.inbox.count('dynamics')).toBe(before);
    const metrics = await (await adminFetch(`${service.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/cosell_webhook_rejections_total\{source="dynamics",reason="unauthenticated"\} 2/);
  });

  it('reports status, and an operator can ask for a referral to be synced', async () => {
    const status = await adminJson<{ connections: string[]; queueDepth: number; deadLetters: number }>(`${service.adminUrl}/api/status`);
    expect(status.connections).toEqual(['dynamics']);
    expect(status.deadLetters).toBe(0);
    const response = await adminFetch(`${service.adminUrl}/api/sync/referral/${referralId}`, { method: 'POST' });
    expect(response.status).toBe(202);
    const metrics = await (await adminFetch(`${service.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/cosell_sync_jobs_total\{outcome="done"\} [1-9]/);
    expect(metrics).toMatch(/cosell_sync_queue_depth \d+/);
    expect(metrics).toMatch(/cosell_api_calls_total\{api="dataverse"/);
  });
});
