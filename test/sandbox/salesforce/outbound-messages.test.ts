import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_VERSION, opportunity, startHarness, waitFor, type SalesforceHarness } from './helpers.ts';

const ACK = (value: boolean): string =>
  `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>${value}</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`;

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The product's `/webhooks/salesforce` stand-in: records each POST and answers as scripted. */
class SoapReceiver {
  readonly received: Received[] = [];
  respond: (index: number) => { status: number; body: string } | Promise<{ status: number; body: string }> = () => ({ status: 200, body: ACK(true) });
  url = '';
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const index = this.received.length;
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        void Promise.resolve(this.respond(index)).then(({ status, body }) => {
          if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/xml' }).end(body);
        });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/webhooks/salesforce`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const tag = (xml: string, name: string): string[] => [...xml.matchAll(new RegExp(`<${name}(?: [^>]*)?>([^<]*)</${name}>`, 'g'))].map((match) => match[1] ?? '');

interface Delivery {
  status: string;
  actionId: string;
  notificationIds: string[];
  recordIds: string[];
  attempts: Array<{ statusCode: number | null; acknowledged: boolean }>;
}

describe('Outbound Messages', () => {
  let h: SalesforceHarness;
  let receiver: SoapReceiver;
  beforeAll(async () => {
    h = await startHarness({ outboundMessageRetry: { initialDelayMs: 40, maxDelayMs: 200 } });
  });
  afterAll(async () => h.close());
  beforeEach(async () => {
    receiver = await new SoapReceiver().start();
    await h.control('DELETE', '/_sandbox/data?metadata=true');
    await h.control('DELETE', '/_sandbox/outbound-messages/deliveries');
  });
  afterEach(async () => receiver.stop());

  it('POSTs the SOAP notifications envelope and retries until the endpoint answers <Ack>true</Ack>', async () => {
    const defined = await h.control<{ id: string }>('POST', '/_sandbox/outbound-messages', {
      name: 'Opportunity to cosell-sync',
      sobject: 'Opportunity',
      fields: ['Name', 'Amount', 'CloseDate', 'StageName', 'IsWon', 'LastModifiedDate', 'Description'],
      endpointUrl: receiver.url,
    });
    expect(defined.status).toBe(201);
    expect(defined.body.id).toMatch(/^04k/);
    receiver.respond = (index) => (index === 0 ? { status: 500, body: 'boom' } : index === 1 ? { status: 200, body: ACK(false) } : { status: 200, body: ACK(true) });

    const created = await h.control<{ Id: string }>('POST', '/_sandbox/records/Opportunity', opportunity({ Name: 'Acme & Sons <500>', Amount: 50_000 }));
    const deliveries = await waitFor(async () => {
      const log = await h.control<{ value: Delivery[] }>('GET', '/_sandbox/outbound-messages/deliveries');
      return log.body.value[0]?.status === 'delivered' && log.body.value;
    }, 5_000, 'an acknowledged delivery');

    expect(receiver.received).toHaveLength(3);
    expect(deliveries[0]?.attempts.map((attempt) => [attempt.statusCode, attempt.acknowledged])).toEqual([
      [500, false],
      [200, false],
      [200, true],
    ]);
    const xml = receiver.received[2]?.body ?? '';
    expect(receiver.received[2]?.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(xml).toContain('<notifications xmlns="http://soap.sforce.com/2005/09/outbound">');
    expect(xml).toContain('xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"');
    expect(tag(xml, 'OrganizationId')).toEqual([h.sandbox.organizationId]);
    expect(tag(xml, 'ActionId')).toEqual([defined.body.id]);
    expect(xml).toContain('<SessionId xsi:nil="true"/>');
    expect(tag(xml, 'EnterpriseUrl')).toEqual([`${h.sandbox.url}/services/Soap/c/${API_VERSION}/${h.sandbox.organizationId.slice(0, 15)}`]);
    expect(tag(xml, 'PartnerUrl')).toEqual([`${h.sandbox.url}/services/Soap/u/${API_VERSION}/${h.sandbox.organizationId.slice(0, 15)}`]);
    expect(xml).toContain('<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">');
    expect(tag(xml, 'sf:Id')).toEqual([created.body.Id]);
    expect(tag(xml, 'sf:Name')).toEqual(['Acme &amp; Sons &lt;500&gt;']);
    expect(tag(xml, 'sf:Amount')).toEqual(['50000.0']);
    expect(tag(xml, 'sf:CloseDate')).toEqual(['2026-12-31']);
    expect(tag(xml, 'sf:IsWon')).toEqual(['false']);
    expect(tag(xml, 'sf:LastModifiedDate')[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(xml).toContain('<sf:Description xsi:nil="true"/>');
    // The notification id is not the record id, and it stays the same across retries so receivers can de-duplicate.
    const notificationIds = receiver.received.map((request) => tag(request.body, 'Id')[0]);
    expect(new Set(notificationIds).size).toBe(1);
    expect(notificationIds[0]).toMatch(/^04l/);
    expect(deliveries[0]?.notificationIds).toEqual([notificationIds[0]]);
  });

  it('sends the latest record data on a retry, fires updates only for trigger fields, and can include a usable session id', async () => {
    await h.control('POST', '/_sandbox/outbound-messages', {
      name: 'Stage watcher',
      sobject: 'Opportunity',
      fields: ['StageName', 'Amount'],
      endpointUrl: receiver.url,
      includeSessionId: true,
      triggerFields: ['StageName'],
    });
    // The first attempt is held open until the record has changed again, then fails; the retry must carry the change.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    receiver.respond = async (index) => {
      if (index > 0) return { status: 200, body: ACK(true) };
      await gate;
      return { status: 503, body: '' };
    };
    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity({ Amount: 10 }));
    await waitFor(() => receiver.received.length >= 1, 5_000, 'the first attempt');
    await h.conn.sobject('Opportunity').update({ Id: id, Amount: 20 });
    release();
    await waitFor(() => receiver.received.length >= 2, 5_000, 'the retry');
    expect(tag(receiver.received[0]?.body ?? '', 'sf:Amount')).toEqual(['10.0']);
    // Amount is not a trigger field, so the update raised no new message — but the retry carries its value.
    expect(tag(receiver.received[1]?.body ?? '', 'sf:Amount')).toEqual(['20.0']);

    await h.control('PATCH', `/_sandbox/records/Opportunity/${id}`, { StageName: 'Closed Won' });
    await waitFor(() => receiver.received.length >= 3, 5_000, 'the stage-change notification');
    const xml = receiver.received[2]?.body ?? '';
    expect(tag(xml, 'sf:StageName')).toEqual(['Closed Won']);
    const sessionId = tag(xml, 'SessionId')[0] ?? '';
    expect(sessionId).toMatch(/^00D/);
    const viaSession = h.connection({ accessToken: sessionId });
    expect((await viaSession.sobject('Opportunity').retrieve(id)).StageName).toBe('Closed Won');
    expect(receiver.received).toHaveLength(3);
  });

  it('batches one transaction of up to 100 records into one message and validates definitions', async () => {
    await h.control('POST', '/_sandbox/outbound-messages', { name: 'Leads', sobject: 'Lead', fields: ['LastName'], endpointUrl: receiver.url, trigger: 'create' });
    const rows = Array.from({ length: 120 }, (_, index) => ({ LastName: `Lead ${index}`, Company: 'Batch', Status: 'Open - Not Contacted' }));
    await h.conn.sobject('Lead').create(rows);
    await waitFor(() => receiver.received.length >= 2, 5_000, 'two messages');
    expect(receiver.received.map((request) => tag(request.body, 'sf:LastName').length).sort((a, b) => a - b)).toEqual([20, 100]);

    const invalid = await h.control<Array<{ errorCode: string }>>('POST', '/_sandbox/outbound-messages', { name: 'Bad', sobject: 'Lead', fields: ['Nope__c'], endpointUrl: receiver.url });
    expect(invalid.status).toBe(400);
    expect(invalid.body[0]?.errorCode).toBe('INVALID_FIELD');
  });
});
