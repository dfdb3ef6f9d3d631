import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalesforceSetup } from '../../src/cli/setup.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { makeTempDir } from '../support/tmp.ts';
import { adminFetch, testAdminConfig } from '../support/admin.ts';

/** Outbound-message mode: Salesforce retries a notification until it gets <Ack>true</Ack>, sent only when durable. */
describe('POST /webhooks/salesforce (Outbound Messages)', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let sf: SalesforceSandbox;
  let service: RunningService;
  const SECRET = 'om-secret-0123456789abcdefghijklmnopqrstuvwxyz';
  const secretFile = join(tmp.path, 'outbound.secret');
  let setupReport: { instructions: string[] };
  let revealedReport: { instructions: string[] };
  const endpoint = () => `${service.url}/webhooks/salesforce/${SECRET}`;

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0 });
    sf = await startSalesforceSandbox({ port: 0, outboundMessageRetry: { initialDelayMs: 50, maxDelayMs: 200 } });
    const anchor = join(tmp.path, 'root.pem');
    writeFileSync(anchor, pc.rootCertificatePem);
    const pcHost = new URL(pc.url).host;
    writeFileSync(secretFile, `${SECRET}\n`);
    const config = parseConfig('test', {
      server: { host: '127.0.0.1', port: 0 },
      admin: testAdminConfig(),
      store: { path: join(tmp.path, 'cosell.db') },
      log: { level: 'silent' },
      sync: { reconcileIntervalSeconds: 3600 },
      partnerCenter: {
        referralsApiUrl: pc.url,
        webhooksApiUrl: pc.url,
        webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
      },
      salesforce: {
        instanceUrl: sf.url,
        mode: 'sandbox',
        notifications: 'outbound-messages',
        organizationId: sf.organizationId,
        outboundMessageSecret: { file: secretFile },
      },
    });
    setupReport = await runSalesforceSetup(config, silentLogger());
    revealedReport = await runSalesforceSetup(config, silentLogger(), { showSecret: true });
    service = await startService(config, silentLogger());
    const defined = await fetch(`${sf.url}/_sandbox/outbound-messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cosell', sobject: 'Opportunity', fields: ['Id', 'Name'], endpointUrl: endpoint() }),
    });
    expect(defined.ok).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await pc?.close();
    await sf?.close();
    tmp.cleanup();
  });

  it('stores the notification, then acks it; Salesforce sees the ack', async () => {
    const created = await fetch(`${sf.url}/_sandbox/records/Opportunity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Name: 'Seller deal', StageName: 'Qualification', CloseDate: '2027-01-31' }),
    });
    const record = (await created.json()) as { id?: string; Id?: string };
    const id = String(record.id ?? record.Id);
    expect(id).toMatch(/^006/);
    const deadline = Date.now() + 8_000;
    let acked = false;
    while (!acked && Date.now() < deadline) {
      const log = (await (await fetch(`${sf.url}/_sandbox/outbound-messages/deliveries`)).text()).toLowerCase();
      acked = log.includes(id.toLowerCase()) && log.includes('"acknowledged":true');
      if (!acked) await new Promise((r) => setTimeout(r, 50));
    }
    expect(acked).toBe(true);
    const events = (await (await adminFetch(`${service.adminUrl}/api/events?source=salesforce&include=payload`)).json()) as { events: Array<{ resourceId: string; payload: unknown }> };
    expect(events.events.some((e) => e.resourceId === id)).toBe(true);
    expect(JSON.stringify(events.events)).not.toMatch(/SessionId/i);
  });

  it('setup names the endpoint URL to configure, its secret masked unless asked for', () => {
    const masked = setupReport.instructions.join('\n');
    expect(masked).toContain('/webhooks/salesforce/********');
    expect(masked).toContain(`file:${secretFile}`);
    expect(masked).not.toContain(SECRET);
    expect(revealedReport.instructions.join('\n')).toContain(`/webhooks/salesforce/${SECRET}`);
  });

  it('answers a nack and stores nothing for a body that is not an outbound message', async () => {
    const before = service.store.inbox.count('salesforce');
    const res = await fetch(endpoint(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<nope/>' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/<Ack>false<\/Ack>/);
    expect(service.store.inbox.count('salesforce')).toBe(before);
  });
});
