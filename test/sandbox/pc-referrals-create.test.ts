import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clone, DOC_CREATE_REQUEST, DOC_CREATE_RESPONSE_KEYS, DOC_ETAG_FORMAT, DOC_TIMESTAMP_FORMAT } from './helpers/doc-samples.ts';
import { startSandbox, type Json, type SandboxClient } from './helpers/sandbox-client.ts';

const REFERRALS = '/v1.0/engagements/referrals';

interface ErrorBody {
  error: { code: string; message: string; target?: string; details?: Array<{ target: string; message: string }> };
}

describe('Partner Center sandbox — auth, create, get', () => {
  let client: SandboxClient;

  beforeAll(async () => {
    client = await startSandbox({ organization: { id: '11111111-2222-3333-4444-555555555555', name: 'Sandbox Partner' } });
  });
  afterAll(() => client.sandbox.close());
  beforeEach(() => client.reset());

  describe('authentication', () => {
    it('answers 401 unauthenticated without a bearer token, or with an empty one', async () => {
      for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: 'Basic dXNlcjpwYXNz' }] as Array<Record<string, string>>) {
        const result = await client.request<ErrorBody>('GET', REFERRALS, undefined, headers);
        expect(result.status).toBe(401);
        expect(result.headers.get('content-type')).toContain('application/json');
        expect(result.json.error.code).toBe('unauthenticated');
        expect(result.json.error.message).not.toBe('');
      }
      const webhooks = await client.request<ErrorBody>('GET', '/webhooks/v1/registration/events');
      expect(webhooks.status).toBe(401);
    });

    it('accepts any non-empty bearer token by default', async () => {
      const result = await client.request('GET', REFERRALS, undefined, { authorization: 'Bearer anything-at-all' });
      expect(result.status).toBe(200);
    });

    it('issues tokens on the v1 and v2 token endpoints from a form body', async () => {
      for (const path of ['/oauth2/token', '/common/oauth2/token', '/contoso.onmicrosoft.com/oauth2/v2.0/token']) {
        const result = await client.request<Json>('POST', path, 'grant_type=refresh_token&client_id=x&refresh_token=y&resource=https%3A%2F%2Fapi.partner.microsoft.com', {
          'content-type': 'application/x-www-form-urlencoded',
        });
        expect(result.status).toBe(200);
        expect(result.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, resource: 'https://api.partner.microsoft.com' });
        expect(typeof result.json.access_token).toBe('string');
        expect(typeof result.json.refresh_token).toBe('string');
      }
    });

    it('in strict mode accepts only tokens it issued', async () => {
      const strict = await startSandbox({ strictTokens: true });
      try {
        const rejected = await strict.request<ErrorBody>('GET', REFERRALS, undefined, { authorization: 'Bearer made-up' });
        expect(rejected.status).toBe(401);
        const token = await strict.request<{ access_token: string }>('POST', '/oauth2/token', 'grant_type=client_credentials', {
          'content-type': 'application/x-www-form-urlencoded',
        });
        const accepted = await strict.request('GET', REFERRALS, undefined, { authorization: `Bearer ${token.json.access_token}` });
        expect(accepted.status).toBe(200);
      } finally {
        await strict.sandbox.close();
      }
    });
  });

  describe('create', () => {
    it('creates the documented sample and answers with the documented shape', async () => {
      const result = await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST, { 'client-request-id': 'c0ffee00-0000-0000-0000-000000000001' });
      expect(result.status).toBe(200);
      const body = result.json;

      const keys = Object.keys(body);
      for (const key of DOC_CREATE_RESPONSE_KEYS) expect(keys).toContain(key);
      expect(keys.filter((key) => !DOC_CREATE_RESPONSE_KEYS.includes(key)).sort()).toEqual(['acceptedDateTime', 'closedDateTime', 'direction']);
      // Same relative order as the documented response.
      expect(keys.filter((key) => DOC_CREATE_RESPONSE_KEYS.includes(key))).toEqual(DOC_CREATE_RESPONSE_KEYS);

      expect(body).toMatchObject({
        organizationId: '11111111-2222-3333-4444-555555555555',
        organizationName: 'Sandbox Partner',
        name: 'Test Cosell Invite_20',
        externalReferenceId: null,
        expirationDateTime: null,
        status: 'Active',
        substatus: 'Accepted',
        direction: 'Outgoing',
        statusReason: 'Customer engagement was a success!',
        qualification: 'SalesQualified',
        type: 'Shared',
        target: DOC_CREATE_REQUEST.target,
        customerProfile: DOC_CREATE_REQUEST.customerProfile,
        consent: DOC_CREATE_REQUEST.consent,
        team: DOC_CREATE_REQUEST.team,
        inviteContext: DOC_CREATE_REQUEST.inviteContext,
      });
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.engagementId).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.eTag).toMatch(DOC_ETAG_FORMAT);
      expect(body.createdDateTime).toMatch(DOC_TIMESTAMP_FORMAT);
      expect(body.updatedDateTime).toBe(body.createdDateTime);
      expect(body.acceptedDateTime).toBe(body.createdDateTime);
      expect(body.links).toEqual({
        relatedReferrals: { uri: `${client.url}${REFERRALS}?$filter=engagementId eq '${String(body.engagementId)}'`, method: 'GET' },
        self: { uri: `${client.url}${REFERRALS}/${String(body.id)}`, method: 'GET' },
      });
      expect(result.headers.get('etag')).toBe(body.eTag);
      expect(result.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(result.headers.get('client-request-id')).toBe('c0ffee00-0000-0000-0000-000000000001');
    });

    it('keeps a given engagementId and externalReferenceId, so a connected referral joins the engagement', async () => {
      const first = await client.api<Json>('POST', REFERRALS, { ...DOC_CREATE_REQUEST, externalReferenceId: 'CRM-42' });
      expect(first.json.externalReferenceId).toBe('CRM-42');
      const connected = await client.api<Json>('POST', REFERRALS, {
        ...DOC_CREATE_REQUEST,
        engagementId: first.json.engagementId,
        target: [{ type: 'BusinessProfileLocation', id: 'msft' }],
      });
      expect(connected.status).toBe(200);
      expect(connected.json.engagementId).toBe(first.json.engagementId);
      expect(connected.json.id).not.toBe(first.json.id);
    });

    it('rejects a body missing every required field, listing each one with its target', async () => {
      const result = await client.api<ErrorBody>('POST', REFERRALS, {});
      expect(result.status).toBe(400);
      expect(result.json.error.code).toBe('invalidRequest');
      const targets = (result.json.error.details ?? []).map((detail) => detail.target);
      expect(targets).toEqual(expect.arrayContaining(['name', 'type', 'customerProfile', 'consent', 'details']));
      expect(result.json.error.target).toBe(targets[0]);
      expect(result.json.error.message).toContain('customerProfile');
    });

    it.each([
      ['country is not ISO 3166 alpha-2', (b: Json) => ((b.customerProfile as Json).address as Json).country = 'USA', 'customerProfile.address.country'],
      ['country code does not exist', (b: Json) => ((b.customerProfile as Json).address as Json).country = 'QQ', 'customerProfile.address.country'],
      ['customer name is missing', (b: Json) => delete (b.customerProfile as Json).name, 'customerProfile.name'],
      ['address is missing', (b: Json) => delete (b.customerProfile as Json).address, 'customerProfile.address'],
      ['currency is not ISO 4217', (b: Json) => ((b.details as Json).currency = 'DOLLARS'), 'details.currency'],
      ['dealValue is not a number', (b: Json) => ((b.details as Json).dealValue = 'lots'), 'details.dealValue'],
      ['closingDateTime is not a date', (b: Json) => ((b.details as Json).closingDateTime = 'next week'), 'details.closingDateTime'],
      ['type is unknown', (b: Json) => (b.type = 'Private'), 'type'],
      ['status is unknown', (b: Json) => (b.status = 'Open'), 'status'],
      ['substatus does not fit the status', (b: Json) => { b.status = 'New'; b.substatus = 'Won'; }, 'substatus'],
      ['qualification is unknown', (b: Json) => (b.qualification = 'Hot'), 'qualification'],
      ['customer size is unknown', (b: Json) => ((b.customerProfile as Json).size = 'huge'), 'customerProfile.size'],
      ['assistanceRequestCode is unknown', (b: Json) => ((b.inviteContext as Json).assistanceRequestCode = 'PleaseHelp'), 'inviteContext.assistanceRequestCode'],
      ['target type is unknown', (b: Json) => (b.target = [{ type: 'Galaxy', id: 'x' }]), 'target[0].type'],
      ['solution type is unknown', (b: Json) => ((((b.details as Json).requirements as Json).solutions as Json[])[0] as Json).type = 'Thing', 'details.requirements.solutions[0].type'],
      ['name is empty', (b: Json) => (b.name = '   '), 'name'],
    ])('rejects a referral whose %s', async (_label, mutate, target) => {
      const body = clone(DOC_CREATE_REQUEST) as unknown as Json;
      mutate(body);
      const result = await client.api<ErrorBody>('POST', REFERRALS, body);
      expect(result.status).toBe(400);
      expect(result.json.error.code).toBe('invalidRequest');
      expect(result.json.error.target).toBe(target);
      expect(result.json.error.message).toContain(target);
    });

    it('normalizes enum casing and code casing instead of rejecting them', async () => {
      const body = clone(DOC_CREATE_REQUEST) as unknown as Json;
      body.type = 'shared';
      body.qualification = 'salesqualified';
      ((body.customerProfile as Json).address as Json).country = 'us';
      (body.details as Json).currency = 'usd';
      (body.details as Json).dealValue = '12345.50';
      const result = await client.api<Json>('POST', REFERRALS, body);
      expect(result.status).toBe(200);
      expect(result.json.type).toBe('Shared');
      expect(result.json.qualification).toBe('SalesQualified');
      expect(((result.json.customerProfile as Json).address as Json).country).toBe('US');
      expect((result.json.details as Json).currency).toBe('USD');
      expect((result.json.details as Json).dealValue).toBe(12345.5);
    });

    it('answers malformed JSON and wrong content types in the documented error shape', async () => {
      const malformed = await client.api<ErrorBody>('POST', REFERRALS, '{"name": ', { 'content-type': 'application/json' });
      expect(malformed.status).toBe(400);
      expect(malformed.json.error.code).toBe('invalidRequest');
      const xml = await client.api<ErrorBody>('POST', REFERRALS, '<referral/>', { 'content-type': 'application/xml' });
      expect(xml.status).toBe(415);
      expect(xml.json.error.code).toBe('invalidRequest');
      const notObject = await client.api<ErrorBody>('POST', REFERRALS, [1, 2]);
      expect(notObject.status).toBe(400);
    });
  });

  describe('get', () => {
    it('returns a referral by id with @odata.context and an ETag header', async () => {
      const created = await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST);
      const result = await client.api<Json>('GET', `${REFERRALS}/${String(created.json.id)}`);
      expect(result.status).toBe(200);
      expect(result.json['@odata.context']).toBe(`${client.url}/v1.0/engagements/$metadata#Referrals/$entity`);
      const { ['@odata.context']: _context, ...referral } = result.json;
      expect(referral).toEqual(created.json);
      expect(result.headers.get('etag')).toBe(created.json.eTag);
    });

    it('routes case-insensitively and ignores a trailing slash, as the ASP.NET service does', async () => {
      const created = await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST);
      const upper = await client.api<Json>('GET', `/V1.0/Engagements/Referrals/${String(created.json.id).toUpperCase()}`);
      expect(upper.status).toBe(200);
      expect(upper.json.id).toBe(created.json.id);
      const slash = await client.api<{ value: Json[] }>('GET', `${REFERRALS}/`);
      expect(slash.json.value).toHaveLength(1);
    });

    it('answers 404 itemNotFound for an unknown id, and for unknown routes', async () => {
      const missing = await client.api<ErrorBody>('GET', `${REFERRALS}/00000000-0000-0000-0000-000000000000`);
      expect(missing.status).toBe(404);
      expect(missing.json.error.code).toBe('itemNotFound');
      const route = await client.api<ErrorBody>('GET', '/v1.0/engagements/nothing-here');
      expect(route.status).toBe(404);
      expect(route.json.error.code).toBe('itemNotFound');
      const deleteReferral = await client.api<ErrorBody>('DELETE', `${REFERRALS}/00000000-0000-0000-0000-000000000000`);
      expect(deleteReferral.status).toBe(404);
    });

    it('returns Microsoft-side referrals by id too', async () => {
      const incoming = await client.createIncoming();
      const all = await client.control<{ value: Json[] }>('GET', '/referrals');
      const microsoft = all.json.value.find((referral) => referral.organizationId === 'msft');
      expect(microsoft?.engagementId).toBe(incoming.engagementId);
      const result = await client.api<Json>('GET', `${REFERRALS}/${String(microsoft?.id)}`);
      expect(result.status).toBe(200);
      expect(result.json.organizationName).toBe('Microsoft');
      expect((result.json.trackingInfo as Json).microsoftMsxId).toMatch(/^7-/);
    });
  });
});
