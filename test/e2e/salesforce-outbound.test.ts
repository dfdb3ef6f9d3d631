import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalesforceSetup } from '../../src/cli/setup.ts';
import type { RunningService } from '../../src/service.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { adminFetch } from '../support/admin.ts';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';

/** Outbound-message mode: Salesforce retries a notification until it gets <Ack>true</Ack>, sent only when durable. */
describe('POST /webhooks/salesforce (Outbound Messages)', () => {
  let h: SalesforceSyncHarness;
  let sf: SalesforceSandbox;
  let service: RunningService;
  const SECRET = 'om-secret-0123456789abcdefghijklmnopqrstuvwxyz';
  let secretFile: string;
  let setupReport: { instructions: string[] };
  let revealedReport: { instructions: string[] };
  const endpoint = () => `${h.url}/webhooks/salesforce/${SECRET}`;

  beforeAll(async () => {
    h = await SalesforceSyncHarness.start({ outboundMessageSecret: SECRET, outboundMessageRetry: { initialDelayMs: 50, maxDelayMs: 200 } });
    sf = h.sf;
    service = h.service as RunningService;
    secretFile = h.outboundSecretFile;
    setupReport = h.setupReport as { instructions: string[] };
    revealedReport = await runSalesforceSetup(h.config, silentLogger(), { showSecret: true });
    const defined = await fetch(`${sf.url}/_sandbox/outbound-messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cosell', sobject: 'Opportunity', fields: ['Id', 'Name'], endpointUrl: endpoint() }),
    });
    expect(defined.ok).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
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
    const events = (await (await adminFetch(`${h.adminUrl}/api/events?source=salesforce&include=payload`)).json()) as { events: Array<{ resourceId: string; payload: unknown }> };
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
    const before = await service.store.inbox.count('salesforce');
    const res = await fetch(endpoint(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<nope/>' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/<Ack>false<\/Ack>/);
    expect(await service.store.inbox.count('salesforce')).toBe(before);
  });
});
