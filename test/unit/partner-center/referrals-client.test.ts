import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidReferralError,
  ReferralNotFoundError,
  ReferralsClient,
  UnsafeNextLinkError,
  buildODataQuery,
  updatedSince,
} from '../../../src/partner-center/referrals-client.ts';
import { referralSchema, type Referral } from '../../../src/partner-center/model.ts';
import { StaticTokenProvider } from '../../../src/http/tokens.ts';
import type { HttpCallRecord } from '../../../src/http/call-record.ts';
import { DOC_CREATE_REQUEST, DOC_CREATE_RESPONSE_JSON } from './doc-samples.ts';
import { startScriptedServer, type Responder, type ScriptedReply, type ScriptedServer } from './scripted-server.ts';

const ID = '4111fffc-f9ee-4d53-bba6-569135228642';
const DOC_RESPONSE: unknown = JSON.parse(DOC_CREATE_RESPONSE_JSON);

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function setup(script: ScriptedReply[] | Responder) {
  const server = await startScriptedServer(script);
  servers.push(server);
  const calls: HttpCallRecord[] = [];
  const client = new ReferralsClient({
    baseUrl: server.url,
    tokenProvider: new StaticTokenProvider('t0ken'),
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    onCall: (call) => calls.push(call),
  });
  return { client, server, calls };
}

async function collect(iterable: AsyncIterable<Referral>): Promise<string[]> {
  const ids: string[] = [];
  for await (const referral of iterable) ids.push(referral.id);
  return ids;
}

describe('ReferralsClient.list', () => {
  it('follows @odata.nextLink across three pages', async () => {
    let origin = '';
    const { client, server, calls } = await setup((request) => {
      if (request.url.includes('skiptoken=p3')) return { status: 200, body: { value: [{ id: 'e' }] } };
      if (request.url.includes('skiptoken=p2')) {
        return { status: 200, body: { value: [{ id: 'c' }, { id: 'd' }], '@odata.nextLink': `${origin}/v1.0/engagements/referrals?$skiptoken=p3` } };
      }
      return {
        status: 200,
        body: { '@odata.count': 5, value: [{ id: 'a' }, { id: 'b' }], '@odata.nextLink': `${origin}/v1.0/engagements/referrals?$skiptoken=p2` },
      };
    });
    origin = server.url;
    const ids = await collect(client.list({ filter: "status eq 'New'", top: 2 }));
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(server.requests.map((request) => request.url)).toEqual([
      // WHATWG URL encoding turns the quotes into %27, which OData servers decode like any other escape.
      '/v1.0/engagements/referrals?$filter=status%20eq%20%27New%27&$top=2',
      '/v1.0/engagements/referrals?$skiptoken=p2',
      '/v1.0/engagements/referrals?$skiptoken=p3',
    ]);
    expect(new Set(calls.map((call) => call.route))).toEqual(new Set(['/v1.0/engagements/referrals']));
  });

  it('rewrites a same-host nextLink with another scheme and no port (the docs sample shape) to the configured origin', async () => {
    const { client, server } = await setup((request) =>
      request.url.includes('skiptoken')
        ? { status: 200, body: { value: [{ id: 'b' }] } }
        : { status: 200, body: { value: [{ id: 'a' }], '@odata.nextLink': 'https://127.0.0.1/v1.0/referrals?$skiptoken=xyz' } },
    );
    expect(await collect(client.list())).toEqual(['a', 'b']);
    expect(server.requests[1]?.url).toBe('/v1.0/referrals?$skiptoken=xyz');
  });

  it('resolves a relative nextLink against the current page', async () => {
    const { client, server } = await setup((request) =>
      request.url.includes('skiptoken')
        ? { status: 200, body: { value: [{ id: 'b' }] } }
        : { status: 200, body: { value: [{ id: 'a' }], '@odata.nextLink': '/v1.0/engagements/referrals?$skiptoken=rel' } },
    );
    expect(await collect(client.list())).toEqual(['a', 'b']);
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    ['another host', 'http://evil.example/v1.0/engagements/referrals?$skiptoken=1'],
    ['localhost instead of 127.0.0.1', 'http://localhost:PORT/v1.0/engagements/referrals?$skiptoken=1'],
    ['another port on the same host', 'http://127.0.0.1:1/v1.0/engagements/referrals?$skiptoken=1'],
    ['the same scheme on its default port', 'http://127.0.0.1/v1.0/engagements/referrals?$skiptoken=1'],
    ['another scheme with an explicit port', 'https://127.0.0.1:PORT/v1.0/engagements/referrals?$skiptoken=1'],
    ['a non-http scheme', 'ftp://127.0.0.1/x'],
  ])('refuses a nextLink to %s and sends nothing there', async (_name, link) => {
    let port = 0;
    const { client, server } = await setup(() => ({
      status: 200,
      body: { value: [{ id: 'a' }], '@odata.nextLink': link.replace('PORT', String(port)) },
    }));
    port = server.port;
    const seen: string[] = [];
    const error = await (async () => {
      for await (const referral of client.list()) seen.push(referral.id);
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UnsafeNextLinkError);
    expect((error as Error).message).toMatch(/refusing to follow @odata.nextLink/);
    expect(server.requests).toHaveLength(1);
  });

  it('stops a server that repeats a nextLink instead of looping forever', async () => {
    let origin = '';
    const { client, server } = await setup(() => ({
      status: 200,
      body: { value: [{ id: 'a' }], '@odata.nextLink': `${origin}/v1.0/engagements/referrals?$skiptoken=same` },
    }));
    origin = server.url;
    await expect(collect(client.list())).rejects.toThrow(/repeats an earlier page/);
    expect(server.requests).toHaveLength(2);
  });

  it('returns a single page with count and nextLink from listPage', async () => {
    const { client, server } = await setup([
      { status: 200, body: { '@odata.count': 7, value: [{ id: 'a' }], '@odata.nextLink': 'https://127.0.0.1/v1.0/referrals?$skiptoken=2' } },
    ]);
    const page = await client.listPage({ select: ['id', 'status'], count: true, orderby: 'createdDateTime desc', skip: 0 });
    expect(page.count).toBe(7);
    expect(page.referrals.map((referral) => referral.id)).toEqual(['a']);
    expect(page.nextLink).toBe(`${server.url}/v1.0/referrals?$skiptoken=2`);
    expect(server.requests[0]?.url).toBe('/v1.0/engagements/referrals?$orderby=createdDateTime%20desc&$select=id%2Cstatus&$skip=0&$count=true');
  });

  it('fails clearly on a page that is not a referral list', async () => {
    const { client } = await setup([{ status: 200, body: { items: [] } }]);
    await expect(client.listPage()).rejects.toThrow(/invalidResponse.*value/);
  });
});

describe('query helpers', () => {
  it('builds the reconcile query from a watermark', () => {
    expect(updatedSince('2024-05-01T10:00:00+02:00')).toEqual({
      filter: 'updatedDateTime ge 2024-05-01T08:00:00.000Z',
      orderby: 'updatedDateTime',
    });
    expect(() => updatedSince("2024' or 1 eq 1")).toThrow(/not a date/);
  });

  it('encodes OData options and validates numbers', () => {
    expect(buildODataQuery({})).toBe('');
    expect(buildODataQuery({ filter: "a eq 'b&c'" })).toBe("?$filter=a%20eq%20'b%26c'");
    expect(() => buildODataQuery({ top: -1 })).toThrow(/non-negative integer/);
  });
});

describe('ReferralsClient.get', () => {
  it('returns the referral and the ETag header', async () => {
    const { client, server } = await setup([{ status: 200, body: DOC_RESPONSE, headers: { etag: '"header-etag"' } }]);
    const { referral, eTag } = await client.get(ID);
    expect(referral.name).toBe('Test Cosell Invite_20');
    expect(eTag).toBe('"header-etag"');
    expect(server.requests[0]?.url).toBe(`/v1.0/engagements/referrals/${ID}`);
  });

  it('falls back to the body eTag', async () => {
    const { client } = await setup([{ status: 200, body: DOC_RESPONSE }]);
    expect((await client.get(ID)).eTag).toBe('"00006d10-0000-0000-0000-5c70aa630000"');
  });

  it('throws ReferralNotFoundError with the API message on 404', async () => {
    const { client } = await setup([{ status: 404, body: { error: { code: 'itemNotFound', message: 'no such referral' } } }]);
    const error = await client.get('missing-id').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReferralNotFoundError);
    expect((error as ReferralNotFoundError).referralId).toBe('missing-id');
    expect((error as ReferralNotFoundError).apiMessage).toBe('no such referral');
    expect((error as ReferralNotFoundError).status).toBe(404);
  });

  it('percent-encodes ids so they cannot change the path', async () => {
    const { client, server } = await setup([{ status: 200, body: { id: 'x' } }]);
    await client.get('../../webhooks');
    expect(server.requests[0]?.url).toBe('/v1.0/engagements/referrals/..%2F..%2Fwebhooks');
  });
});

describe('ReferralsClient.create', () => {
  it('posts the body as given and parses the created referral', async () => {
    const { client, server } = await setup([{ status: 200, body: DOC_RESPONSE }]);
    const created = await client.create(DOC_CREATE_REQUEST);
    expect(created.id).toBe(ID);
    expect(created.status).toBe('Active');
    const request = server.requests[0];
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1.0/engagements/referrals');
    expect(JSON.parse(request?.body ?? '')).toEqual(DOC_CREATE_REQUEST);
  });

  it('rejects invalid input without calling the API', async () => {
    const { client, server } = await setup([{ status: 200, body: DOC_RESPONSE }]);
    const invalid = { ...DOC_CREATE_REQUEST, name: '' };
    await expect(client.create(invalid)).rejects.toThrow(InvalidReferralError);
    await expect(client.create(invalid)).rejects.toThrow(/name:/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('ReferralsClient.patch', () => {
  it('sends JSON Patch with If-Match and returns the new ETag from a 204', async () => {
    const { client, server } = await setup([{ status: 204, headers: { etag: '"v2"' } }]);
    const result = await client.patch(ID, [{ path: ['details', 'dealValue'], value: 10000 }], { ifMatch: '"v1"' });
    expect(result).toEqual({ eTag: '"v2"' });
    const request = server.requests[0];
    expect(request?.method).toBe('PATCH');
    expect(request?.headers['if-match']).toBe('"v1"');
    expect(request?.headers.prefer).toBeUndefined();
    expect(JSON.parse(request?.body ?? '')).toEqual([{ op: 'replace', path: '/details/dealValue', value: 10000 }]);
  });

  it('omits If-Match when not given', async () => {
    const { client, server } = await setup([{ status: 204 }]);
    expect(await client.patch(ID, [{ path: 'name', value: 'n' }])).toEqual({});
    expect(server.requests[0]?.headers['if-match']).toBeUndefined();
  });

  it('asks for and parses the representation', async () => {
    const { client, server } = await setup([{ status: 200, body: { id: ID, name: 'renamed', eTag: '"v3"' } }]);
    const result = await client.patch(ID, [{ path: 'name', value: 'renamed' }], { returnRepresentation: true });
    expect(result.referral.name).toBe('renamed');
    expect(result.eTag).toBe('"v3"');
    expect(server.requests[0]?.headers.prefer).toBe('return=representation');
  });

  it('reads the referral when the service ignores Prefer and answers 204', async () => {
    const { client, server } = await setup([{ status: 204 }, { status: 200, body: { id: ID, name: 'after' } }]);
    const result = await client.patch(ID, [{ path: 'name', value: 'after' }], { returnRepresentation: true });
    expect(result.referral.name).toBe('after');
    expect(server.requests.map((request) => request.method)).toEqual(['PATCH', 'GET']);
  });

  it('surfaces 412 as a non-retryable PartnerCenterApiError', async () => {
    const { client, server } = await setup([{ status: 412, body: { error: { code: 'resourceModified', message: 'eTag mismatch' } } }]);
    await expect(client.patch(ID, [{ path: 'name', value: 'n' }], { ifMatch: '"old"' })).rejects.toMatchObject({
      status: 412,
      code: 'resourceModified',
      retryable: false,
    });
    expect(server.requests).toHaveLength(1);
  });
});

describe('ReferralsClient.put', () => {
  it('requires If-Match and strips links from the body', async () => {
    const { client, server } = await setup([{ status: 200, body: DOC_RESPONSE }]);
    const referral = referralSchema.parse(DOC_RESPONSE);
    await expect(client.put(ID, referral, ' ')).rejects.toThrow(/If-Match is required/);
    expect(server.requests).toHaveLength(0);

    const result = await client.put(ID, referral, referral.eTag ?? '');
    const request = server.requests[0];
    expect(request?.method).toBe('PUT');
    expect(request?.headers['if-match']).toBe('"00006d10-0000-0000-0000-5c70aa630000"');
    const sent = JSON.parse(request?.body ?? '') as Record<string, unknown>;
    expect(sent.links).toBeUndefined();
    expect(sent.eTag).toBe(referral.eTag);
    expect(result.referral.id).toBe(ID);
  });
});
