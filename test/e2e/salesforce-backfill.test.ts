import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalesforceSetup } from '../../src/cli/setup.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { adminJson, json, waitFor } from '../support/service-harness.ts';
import { makeTempDir } from '../support/tmp.ts';
import { testAdminConfig } from '../support/admin.ts';

/**
 * A first start against a Partner Center that already holds hundreds of referrals: the reconciler's pass creates them
 * in Salesforce through sObject Collections, one call per 200 records, and links them without reading them back.
 */
describe('backfill of existing referrals into Salesforce', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let sf: SalesforceSandbox;
  let service: RunningService;
  const COUNT = 450;

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0 });
    sf = await startSalesforceSandbox({ port: 0 });
    const seeded = await fetch(`${pc.url}/_sandbox/referrals/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Shared co-sell referrals become opportunities; one customer for all keeps the customer calls out of the count.
      body: JSON.stringify({
        count: COUNT,
        events: false,
        microsoftSide: false,
        overrides: { type: 'Shared', customerProfile: { name: 'Backfill Customer', team: [], address: { postalCode: '02110', city: 'Boston', country: 'US' } } },
      }),
    });
    expect(seeded.ok).toBe(true);
    const anchor = join(tmp.path, 'root.pem');
    writeFileSync(anchor, pc.rootCertificatePem);
    const pcHost = new URL(pc.url).host;
    const config = parseConfig('test', {
      server: { host: '127.0.0.1', port: 0 },
      admin: testAdminConfig(),
      store: { path: join(tmp.path, 'cosell.db') },
      log: { level: 'silent' },
      sync: { reconcileIntervalSeconds: 3600, reconcileOnStart: false },
      partnerCenter: {
        referralsApiUrl: pc.url,
        webhooksApiUrl: pc.url,
        webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
      },
      salesforce: { instanceUrl: sf.url, mode: 'sandbox', notifications: 'cdc' },
    });
    await runSalesforceSetup(config, silentLogger());
    service = await startService(config, silentLogger());
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await pc?.close();
    await sf?.close();
    tmp.cleanup();
  });

  it('creates every referral with at most one collection call per 200 records, and no per-record calls', async () => {
    await fetch(`${sf.url}/_sandbox/requests`, { method: 'DELETE' });
    const report = await adminJson<{ referrals: number }>(`${service.adminUrl}/api/reconcile`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ since: '2000-01-01T00:00:00Z' }),
    });
    expect(report.referrals).toBe(COUNT);
    const counts = await json<{ routes: Record<string, number> }>(`${sf.url}/_sandbox/requests`);
    const collectionCreates = counts.routes['POST /services/data/:version/composite/sobjects'] ?? 0;
    expect(collectionCreates).toBeGreaterThan(0);
    console.info(`backfill of ${COUNT} referrals: Salesforce calls by route ${JSON.stringify(counts.routes)}`);
    // ⌈450/200⌉ = 3 collection calls create the opportunities; one more creates the single new customer account.
    expect(collectionCreates).toBeLessThanOrEqual(Math.ceil(COUNT / 200) + 1);
    // Customer matching is one query per batch, never one per referral; one more per batch reads the created
    // records' versions (SystemModstamp), which the links start with.
    expect(counts.routes['GET /services/data/:version/query'] ?? 0).toBeLessThanOrEqual(2 * Math.ceil(COUNT / 200));
    expect(counts.routes['POST /services/data/:version/sobjects/:sobject'] ?? 0).toBe(0);
    expect(counts.routes['PATCH /services/data/:version/sobjects/:sobject/:id'] ?? 0).toBe(0);
    const opportunities = await waitFor('all opportunities', async () => {
      const body = await json<{ records?: Array<Record<string, unknown>>; value?: Array<Record<string, unknown>> }>(`${sf.url}/_sandbox/records/Opportunity`);
      const rows = body.records ?? body.value ?? [];
      return rows.length >= COUNT ? rows : undefined;
    });
    const ids = opportunities.map((o) => o.Referral_Identifier__c);
    expect(new Set(ids).size).toBe(COUNT);
    const status = await adminJson<{ queueDepth: number; deadLetters: number }>(`${service.adminUrl}/api/status`);
    expect(status.deadLetters).toBe(0);
    expect(status.queueDepth).toBe(0);
  }, 60_000);
});
