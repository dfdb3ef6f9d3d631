import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACK_CONTENT_TYPE,
  ackResponse,
  OutboundMessageParseError,
  outboundRefs,
  parseOutboundMessage,
  verifyOrganization,
  type OutboundMessage,
} from '../../../../src/crm/salesforce/outbound-message.ts';
import { sellerOpportunity, startHarness, waitFor, type Harness } from './helpers.ts';

/**
 * Stands in for the service's POST /webhooks/salesforce: parses each delivery with the connector's parser, checks the
 * org, and answers with the connector's ack — so the sandbox's retry logic judges our envelope.
 */
class Endpoint {
  readonly bodies: string[] = [];
  readonly parsed: OutboundMessage[] = [];
  url = '';
  private server: Server | undefined;

  constructor(private readonly expectedOrg: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.bodies.push(body);
        try {
          const message = parseOutboundMessage(body);
          const ok = verifyOrganization(message, this.expectedOrg);
          if (ok) this.parsed.push(message);
          res.writeHead(ok ? 200 : 403, { 'content-type': ACK_CONTENT_TYPE }).end(ok ? ackResponse(true) : 'wrong org');
        } catch (error) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
        }
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

interface Delivery {
  status: string;
  notificationIds: string[];
  recordIds: string[];
  attempts: Array<{ statusCode: number | null; acknowledged: boolean }>;
}

describe('Outbound Messages', () => {
  let h: Harness;
  let endpoint: Endpoint;

  beforeAll(async () => {
    h = await startHarness({ outboundMessageRetry: { initialDelayMs: 40, maxDelayMs: 200 } });
    endpoint = await new Endpoint(h.sandbox.organizationId.slice(0, 15)).start();
  });
  afterAll(async () => {
    await endpoint.stop();
    await h.close();
  });

  it('parses a message the sandbox delivered, accepts its org (15 vs 18 characters) and is acknowledged by our ack', async () => {
    const defined = await h.control<{ id: string }>('POST', '/_sandbox/outbound-messages', {
      name: 'Opportunity to cosell-sync',
      sobject: 'Opportunity',
      fields: ['Name', 'Amount', 'StageName', 'Description'],
      endpointUrl: endpoint.url,
      includeSessionId: true,
    });
    expect(defined.status).toBe(201);
    const created = await h.control<{ Id: string }>('POST', '/_sandbox/records/Opportunity', sellerOpportunity({ Name: 'Acme & Sons <500>' }));

    const deliveries = await waitFor(async () => {
      const log = await h.control<{ value: Delivery[] }>('GET', '/_sandbox/outbound-messages/deliveries');
      return log.body.value[0]?.status === 'delivered' && log.body.value;
    }, 5_000, 'an acknowledged delivery');
    // One attempt: our ack was accepted the first time, so Salesforce would not retry.
    expect(deliveries[0]?.attempts).toEqual([expect.objectContaining({ statusCode: 200, acknowledged: true })]);

    const message = endpoint.parsed[0];
    expect(message).toMatchObject({
      organizationId: h.sandbox.organizationId,
      actionId: defined.body.id,
      notifications: [{ id: deliveries[0]?.notificationIds[0], sObjectType: 'Opportunity', recordId: created.body.Id, entity: 'opportunity' }],
    });
    expect(message?.enterpriseUrl).toContain('/services/Soap/c/');
    // The session id the message carried is never handed on.
    expect(endpoint.bodies[0]).toMatch(/<SessionId>[^<]+<\/SessionId>/);
    expect(JSON.stringify(message)).not.toContain('SessionId');
    expect(Object.keys(message ?? {})).not.toContain('sessionId');
    expect(outboundRefs(message as OutboundMessage)).toEqual([{ entity: 'opportunity', id: created.body.Id }]);
  });

  it('refuses a message from another org', () => {
    const message = parseOutboundMessage(sample({ org: '00Dxx0000001gPLEAY' }));
    expect(verifyOrganization(message, '00Dxx0000001gPL')).toBe(true);
    expect(verifyOrganization(message, '00Dxx0000001gPLEAY')).toBe(true);
    expect(verifyOrganization(message, '00Dxx0000001gPM')).toBe(false);
    // 15-character ids are case-sensitive: a different case is a different org.
    expect(verifyOrganization(message, '00DXX0000001GPL')).toBe(false);
    expect(verifyOrganization(message, 'not-an-id')).toBe(false);
  });

  it('answers with the SOAP notificationsResponse Ack envelope Salesforce expects', () => {
    expect(ackResponse(true)).toBe(
      [
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">',
        '  <soapenv:Body>',
        '    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">',
        '      <Ack>true</Ack>',
        '    </notificationsResponse>',
        '  </soapenv:Body>',
        '</soapenv:Envelope>',
      ].join('\n'),
    );
    expect(ackResponse(false)).toContain('<Ack>false</Ack>');
  });

  it('reads a documented sample message: any prefixes, entities, CDATA, several notifications', () => {
    const message = parseOutboundMessage(
      `<?xml version="1.0" encoding="UTF-8"?>
      <S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <S:Body>
          <o:notifications xmlns:o="http://soap.sforce.com/2005/09/outbound">
            <o:OrganizationId>00Dxx0000001gPLEAY</o:OrganizationId>
            <o:ActionId>04kxx00000000A1AAI</o:ActionId>
            <o:SessionId xsi:nil="true"/>
            <!-- a comment -->
            <o:Notification>
              <o:Id>04lxx000000AAAAAAA</o:Id>
              <o:sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
                <sf:Id>006xx000004TmiQAAS</sf:Id>
                <sf:Name><![CDATA[Acme <500> & co]]></sf:Name>
              </o:sObject>
            </o:Notification>
            <o:Notification>
              <o:Id>04lxx000000AAABAAA</o:Id>
              <o:sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00Qxx000004TmiQ</sf:Id><sf:Company>A &amp; B &#38; C</sf:Company></o:sObject>
            </o:Notification>
          </o:notifications>
        </S:Body>
      </S:Envelope>`,
    );
    expect(message.notifications.map((n) => [n.id, n.sObjectType, n.entity, n.recordId.length])).toEqual([
      ['04lxx000000AAAAAAA', 'Opportunity', 'opportunity', 18],
      ['04lxx000000AAABAAA', 'Lead', 'lead', 18],
    ]);
    expect(outboundRefs(message).map((ref) => ref.entity)).toEqual(['opportunity', 'lead']);
  });

  it('rejects DOCTYPEs, unknown entities, broken XML and envelopes that are not notifications', () => {
    const doctype = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY boom "boom">]>${sample({})}`;
    expect(() => parseOutboundMessage(doctype)).toThrow(/DOCTYPE/);
    expect(() => parseOutboundMessage(sample({ org: '&boom;' }))).toThrow(OutboundMessageParseError);
    expect(() => parseOutboundMessage(sample({}).replace('</notifications>', ''))).toThrow(/not well-formed/);
    expect(() => parseOutboundMessage('<html><body>hi</body></html>')).toThrow(/expected a SOAP Envelope/);
    expect(() => parseOutboundMessage(sample({ namespace: 'urn:other' }))).toThrow(/namespace urn:other/);
    expect(() => parseOutboundMessage(sample({ org: 'not-an-org' }))).toThrow(/OrganizationId/);
    expect(() => parseOutboundMessage(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`)).toThrow(/nested too deeply/);
  });

  it('stops reading a document at the first limit it exceeds: attributes, namespace declarations, elements, notifications', () => {
    const declarations = Array.from({ length: 1_500 }, (_, i) => ` xmlns:n${i}="u"`).join('');
    expect(() => parseOutboundMessage(`<r${declarations}>${'<a/>'.repeat(20_000)}</r>`)).toThrow(/too many attributes/);
    const spread = Array.from({ length: 600 }, (_, i) => `<n xmlns:p${i}="urn:${i}"/>`).join('');
    expect(() => parseOutboundMessage(`<r>${spread}</r>`)).toThrow(/too many namespace declarations/);
    expect(() => parseOutboundMessage(`<r>${'<a/>'.repeat(20_001)}</r>`)).toThrow(/too many elements/);
    const notification = (i: number) =>
      `<Notification><Id>04l${String(i).padStart(12, '0')}</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>006xx000004TmiQAAS</sf:Id></sObject></Notification>`;
    const many = (count: number) => sample({}).replace(/<Notification>[\s\S]*<\/Notification>/, Array.from({ length: count }, (_, i) => notification(i)).join(''));
    expect(() => parseOutboundMessage(many(101))).toThrow(/101 notifications in one message; Salesforce sends at most 100/);
    // 100 notifications about one record: one ref.
    expect(outboundRefs(parseOutboundMessage(many(100)))).toEqual([{ entity: 'opportunity', id: '006xx000004TmiQAAS' }]);
  });

  it('tolerates the undeclared xsi prefix of the third-party sample, and rejects ids that are not Salesforce ids', () => {
    const undeclared = sample({}).replace(' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"', '');
    expect(parseOutboundMessage(undeclared).notifications[0]?.sObjectType).toBe('Opportunity');
    // Only xsi is implied; an undeclared prefix named like an Object.prototype member is still unbound.
    expect(() => parseOutboundMessage(sample({}).replace('<ActionId>', '<constructor:x/><ActionId>'))).toThrow(/unbound namespace prefix/);
    expect(() => parseOutboundMessage(sample({}).replace('<Id>006xx000004TmiQAAS</Id>', `<Id>${'x'.repeat(5000)}</Id>`))).toThrow(/not a Salesforce id/);
  });
});

function sample(options: { org?: string; namespace?: string }): string {
  return `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soapenv:Body>
    <notifications xmlns="${options.namespace ?? 'http://soap.sforce.com/2005/09/outbound'}">
      <OrganizationId>${options.org ?? '00Dxx0000001gPLEAY'}</OrganizationId>
      <ActionId>04kxx00000000A1AAI</ActionId>
      <Notification>
        <Id>006xx000004TmiQAAS</Id>
        <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
          <sf:Id>006xx000004TmiQAAS</sf:Id>
          <sf:Amount>50000.0</sf:Amount>
        </sObject>
      </Notification>
    </notifications>
  </soapenv:Body>
</soapenv:Envelope>`;
}
