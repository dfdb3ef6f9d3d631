import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';

/*
 * POST /webhooks/salesforce as an attacker sees it: the path and the org id are public, the body is anything. Every
 * hostile request must get a 4xx, store nothing, queue no job (a job is Salesforce API calls) and cost bounded memory.
 * The worker is off so queued jobs stay countable.
 */

const SECRET = 'S3cr3t-for-the-outbound-endpoint_0123456789';
const RECORD_A = '006000000000001AAA';

function envelope(organizationId: string, notifications: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
<OrganizationId>${organizationId}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>
<EnterpriseUrl>https://example.invalid/services/Soap/c/62.0</EnterpriseUrl><PartnerUrl>https://example.invalid/services/Soap/u/62.0</PartnerUrl>
${notifications.join('\n')}
</notifications></soapenv:Body></soapenv:Envelope>`;
}

/** A notification about an opportunity; `recordId` may be any 15- or 18-character form. */
function notification(index: number, recordId: string, extraAttributes = ''): string {
  const id = `04l${String(index).padStart(12, '0')}`;
  return `<Notification><Id>${id}</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"${extraAttributes}><sf:Id>${recordId}</sf:Id><sf:Name>Deal ${index}</sf:Name></sObject></Notification>`;
}

/** Opportunity ids with valid 18-character checksums, computed by the sandbox's own rules (all-digit bodies: suffix AAA). */
const opportunityId = (n: number): string => `006${String(n).padStart(12, '0')}AAA`;

describe('POST /webhooks/salesforce against a hostile network', () => {
  let h: SalesforceSyncHarness;
  let service: RunningService;
  let org: string;

  const post = (body: string, options: { path?: string; contentType?: string } = {}) =>
    fetch(`${h.url}${options.path ?? `/webhooks/salesforce/${SECRET}`}`, {
      method: 'POST',
      headers: { 'content-type': options.contentType ?? 'text/xml; charset=utf-8' },
      body,
    });
  const stored = () => service.store.inbox.count('salesforce');
  const queued = () => service.store.jobs.depth();
  const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

  beforeAll(async () => {
    h = await SalesforceSyncHarness.start({ outboundMessageSecret: SECRET, runEngine: false, sync: { reconcileOnStart: false } });
    service = h.service as RunningService;
    org = h.sf.organizationId;
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  describe('XML bombs are refused before they cost anything', () => {
    it('a namespace bomb (1,500 declarations in scope of 20,000 elements, ~108 KiB) gets a 400 with bounded memory', async () => {
      const declarations = Array.from({ length: 1_500 }, (_, i) => ` xmlns:n${i}="u"`).join('');
      const body = `<r${declarations}>${'<a/>'.repeat(20_000)}</r>`;
      expect(body.length).toBeGreaterThan(100 * 1024);
      const before = { stored: await stored(), queued: await queued(), peak: peakRssMb() };
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Ack>false</Ack>');
      expect(await stored()).toBe(before.stored);
      expect(await queued()).toBe(before.queued);
      // The hand-written parser copied the namespace map into every element: ~1.1 GB for this body.
      expect(peakRssMb() - before.peak).toBeLessThan(100);
    });

    it('the same bomb spread so each element stays within the per-element limits still parses in bounded memory', async () => {
      // 15 nested elements declaring 15 namespaces each (225 in scope), then 19,000 elements inside them, ~174 KiB.
      const open = Array.from({ length: 15 }, (_, depth) => `<d${depth}${Array.from({ length: 15 }, (_, i) => ` xmlns:p${depth}x${i}="urn:${depth}:${i}"`).join('')}>`).join('');
      const close = Array.from({ length: 15 }, (_, depth) => `</d${14 - depth}>`).join('');
      const body = `${open}${'<a>x</a>'.repeat(19_000)}${close}`;
      expect(body.length).toBeGreaterThan(150 * 1024);
      const before = { stored: await stored(), peak: peakRssMb() };
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(await stored()).toBe(before.stored);
      expect(peakRssMb() - before.peak).toBeLessThan(100);
    });

    it('XXE and billion laughs are refused (400) without reaching the parser, with or without the secret', async () => {
      const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${envelope(org, [notification(1, RECORD_A)]).replace(/^<\?xml[^>]*\?>/, '').replace('Deal 1', '&xxe;')}`;
      const lol = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('');
      const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${lol}]><lolz>&lol9;</lolz>`;
      const before = await stored();
      for (const body of [xxe, laughs]) {
        for (const path of [`/webhooks/salesforce/${SECRET}`, '/webhooks/salesforce']) {
          const res = await post(body, { path });
          expect(res.status).toBe(400);
          expect(await res.text()).toContain('<Ack>false</Ack>');
        }
      }
      expect(await stored()).toBe(before);
    });

    it('deep nesting, thousands of attributes and thousands of elements are refused (400)', async () => {
      const manyAttributes = Array.from({ length: 5_000 }, (_, i) => ` a${i}="v"`).join('');
      const bodies = [
        `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`,
        // Inside an otherwise valid message, so only the attribute limit can refuse it.
        envelope(org, [notification(1, RECORD_A, manyAttributes)]),
        envelope(org, [`<Notification><Id>04l000000000001</Id><sObject xsi:type="sf:Opportunity"><Id>${RECORD_A}</Id>${'<x/>'.repeat(25_000)}</sObject></Notification>`]),
      ];
      const before = { stored: await stored(), queued: await queued() };
      for (const body of bodies) {
        const res = await post(body);
        expect(res.status).toBe(400);
      }
      expect(await stored()).toBe(before.stored);
      expect(await queued()).toBe(before.queued);
    });

    it('a body that is not UTF-8 XML is refused (415) before it is read', async () => {
      const body = envelope(org, [notification(1, RECORD_A)]);
      for (const contentType of ['application/json', 'text/plain', 'text/xml; charset=utf-16']) {
        const res = await post(body, { contentType });
        expect(res.status).toBe(415);
      }
    });
  });

  describe('authentication and amplification', () => {
    it('a forged message with the public org id and 1,000 notifications is refused (401) without the secret, and queues nothing', async () => {
      const body = envelope(org, Array.from({ length: 1_000 }, (_, i) => notification(i, opportunityId(i + 1))));
      const before = { stored: await stored(), queued: await queued() };
      for (const path of ['/webhooks/salesforce', '/webhooks/salesforce/', '/webhooks/salesforce/wrong-secret-0123456789abcdefghijklmnop', `/webhooks/salesforce?token=${SECRET.slice(0, -1)}`]) {
        const res = await post(body, { path });
        expect(res.status).toBe(401);
        expect(await res.text()).toContain('<Ack>false</Ack>');
      }
      expect(await stored()).toBe(before.stored);
      expect(await queued()).toBe(before.queued);
    });

    it('more than 100 notifications in one message is refused even with the secret', async () => {
      const body = envelope(org, Array.from({ length: 101 }, (_, i) => notification(i, opportunityId(i + 1))));
      const before = { stored: await stored(), queued: await queued() };
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(await stored()).toBe(before.stored);
      expect(await queued()).toBe(before.queued);
    });

    it('a message from another org is refused (403) even with the secret', async () => {
      const before = await stored();
      const res = await post(envelope('00D000000000999', [notification(1, RECORD_A)]));
      expect(res.status).toBe(403);
      expect(await stored()).toBe(before);
    });

    it('one message costs at most one job per record: 100 notifications about 3 records queue 3 jobs', async () => {
      const records = [opportunityId(101), opportunityId(102), opportunityId(103)];
      // The same record named again and again, in its 18- and 15-character forms.
      const items = Array.from({ length: 100 }, (_, i) => {
        const id = records[i % 3] as string;
        return notification(5_000 + i, i % 2 === 0 ? id : id.slice(0, 15));
      });
      const before = { stored: await stored(), queued: await queued() };
      const res = await post(envelope(org, items));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<Ack>true</Ack>');
      expect(await stored()).toBe(before.stored + 1);
      expect(await queued()).toBe(before.queued + 3);
    });

    it('accepts the secret as ?token= too, and never stores it', async () => {
      const res = await post(envelope(org, [notification(9_000, opportunityId(200))]), { path: `/webhooks/salesforce?token=${SECRET}` });
      expect(res.status).toBe(200);
      const events = await service.store.inbox.list({ source: 'salesforce', limit: 100 });
      expect(JSON.stringify(events)).not.toContain(SECRET);
    });
  });
});
