import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOC_CREATE_REQUEST } from './helpers/doc-samples.ts';
import { startSandbox, type Json, type SandboxClient } from './helpers/sandbox-client.ts';

const REFERRALS = '/v1.0/engagements/referrals';

interface ListBody {
  '@odata.context': string;
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
  value: Json[];
}

function q(filter: string): string {
  return `${REFERRALS}?$filter=${encodeURIComponent(filter)}`;
}

describe('Partner Center sandbox — list with OData', () => {
  let client: SandboxClient;

  beforeAll(async () => {
    client = await startSandbox();
  });
  afterAll(() => client.sandbox.close());
  beforeEach(() => client.reset());

  async function list(path: string): Promise<ListBody> {
    const result = await client.api<ListBody>('GET', path);
    expect(result.status, result.text).toBe(200);
    return result.json;
  }

  async function createOutgoing(overrides: Json): Promise<Json> {
    const result = await client.api<Json>('POST', REFERRALS, { ...DOC_CREATE_REQUEST, ...overrides });
    expect(result.status, result.text).toBe(200);
    return result.json;
  }

  async function names(path: string): Promise<string[]> {
    return (await list(path)).value.map((referral) => String(referral.name));
  }

  it('filters with the documented grammar over HTTP', async () => {
    await client.createIncoming({ name: 'in-us-new', microsoftSide: false, customerProfile: { address: { country: 'US' } } });
    await client.createIncoming({ name: 'in-de-received', microsoftSide: false, substatus: 'Received', customerProfile: { address: { country: 'DE' } } });
    await createOutgoing({ name: 'out-us', team: [{ email: 'r2d2@contoso.com', firstName: 'R2', lastName: 'D2' }] });
    await createOutgoing({ name: 'out-gb', type: 'Independent', customerProfile: { ...DOC_CREATE_REQUEST.customerProfile, address: { country: 'GB' } } });

    expect(await names(q("customerProfile/address/country eq 'US' and direction eq 'Incoming'"))).toEqual(['in-us-new']);
    expect(await names(q("(direction eq 'Incoming' and substatus eq 'Pending')"))).toEqual(['in-us-new']);
    expect(await names(q("status eq 'Active' and direction eq 'Outgoing' and type eq 'Shared' and team/any(t:t/email eq 'r2d2@contoso.com')"))).toEqual(['out-us']);
    expect(await names(q("type eq 'Independent' or (direction eq 'Incoming' and substatus eq 'Received')"))).toEqual(['in-de-received', 'out-gb']);
    expect(await names(q("not (direction eq 'Incoming')"))).toEqual(['out-us', 'out-gb']);
  });

  it('filters date fields as instants (reconcile watermark query)', async () => {
    const first = await createOutgoing({ name: 'first' });
    const second = await createOutgoing({ name: 'second' });
    const watermark = String(second.updatedDateTime);
    expect(await names(`${q(`updatedDateTime ge ${watermark}`)}&$orderby=updatedDateTime`)).toEqual(['second']);
    expect(await names(`${q(`updatedDateTime gt ${String(first.updatedDateTime)}`)}`)).toEqual(['second']);
    expect(await names(q(`createdDateTime le '${String(first.createdDateTime)}'`))).toEqual(['first']);
    expect(await names(q('updatedDateTime ge 2000-01-01T00:00:00Z and updatedDateTime lt 2000-01-02T00:00:00Z'))).toEqual([]);
  });

  it('rejects an unknown field or a syntax error with 400 invalidRequest naming the problem', async () => {
    const unknown = await client.api<{ error: Json }>('GET', q("color eq 'red'"));
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 'invalidRequest', target: '$filter' });
    expect(String(unknown.json.error.message)).toContain("'color'");
    const syntax = await client.api<{ error: Json }>('GET', q("status eq 'New' and (type eq 'Shared'"));
    expect(syntax.status).toBe(400);
    expect(String(syntax.json.error.message)).toContain("')'");
    const orderBy = await client.api<{ error: Json }>('GET', `${REFERRALS}?$orderby=shoeSize desc`);
    expect(orderBy.status).toBe(400);
    expect(orderBy.json.error.target).toBe('$orderby');
    const select = await client.api<{ error: Json }>('GET', `${REFERRALS}?$select=id,shoeSize`);
    expect(select.status).toBe(400);
    const top = await client.api<{ error: Json }>('GET', `${REFERRALS}?$top=-1`);
    expect(top.status).toBe(400);
    const token = await client.api<{ error: Json }>('GET', `${REFERRALS}?$skiptoken=garbage`);
    expect(token.status).toBe(400);
    expect(token.json.error.target).toBe('$skiptoken');
  });

  it('orders by dates and scalar fields, ascending and descending, with a stable id tie-break', async () => {
    await createOutgoing({ name: 'b', details: { ...DOC_CREATE_REQUEST.details, dealValue: 300 } });
    await createOutgoing({ name: 'a', details: { ...DOC_CREATE_REQUEST.details, dealValue: 100 } });
    await createOutgoing({ name: 'c', details: { ...DOC_CREATE_REQUEST.details, dealValue: 300 } });
    expect(await names(`${REFERRALS}?$orderby=createdDateTime desc`)).toEqual(['c', 'a', 'b']);
    expect(await names(`${REFERRALS}?$orderby=createdDateTime asc`)).toEqual(['b', 'a', 'c']);
    expect(await names(`${REFERRALS}?$orderby=name`)).toEqual(['a', 'b', 'c']);
    expect(await names(`${REFERRALS}?$orderby=updatedDateTime desc`)).toEqual(['c', 'a', 'b']);

    const byValue = (await list(`${REFERRALS}?$orderby=details/dealValue desc`)).value;
    expect(byValue.map((r) => r.name)[2]).toBe('a');
    const tied = byValue.slice(0, 2).map((r) => String(r.id));
    expect(tied).toEqual([...tied].sort());
  });

  it('supports $top, $skip, $select and $count', async () => {
    for (const name of ['r1', 'r2', 'r3', 'r4', 'r5']) await createOutgoing({ name });
    const page = await list(`${REFERRALS}?$top=2&$skip=1&$count=true&$select=id,name,status`);
    expect(page['@odata.count']).toBe(5);
    expect(page.value.map((r) => r.name)).toEqual(['r2', 'r3']);
    expect(Object.keys(page.value[0] ?? {})).toEqual(['id', 'name', 'status']);
    expect(page['@odata.context']).toBe(`${client.url}/v1.0/engagements/$metadata#Referrals(id,name,status)`);
    expect(page['@odata.nextLink']).toBeDefined();

    const next = await list(page['@odata.nextLink'] ?? '');
    expect(next.value.map((r) => r.name)).toEqual(['r4', 'r5']);
    expect(next['@odata.nextLink']).toBeUndefined();

    const noCount = await list(`${REFERRALS}?$top=10`);
    expect(noCount['@odata.count']).toBeUndefined();
    expect(noCount.value).toHaveLength(5);
    expect(noCount['@odata.nextLink']).toBeUndefined();
    expect(Object.keys(await list(`${REFERRALS}?$count=false`))).toEqual(['@odata.context', 'value']);
  });

  it('pages 250 referrals by nextLink without duplicates or misses, even with inserts between pages', async () => {
    const seeded = await client.control<{ created: number; ids: string[] }>('POST', '/referrals/seed', { count: 250, events: false });
    expect(seeded.json.created).toBe(250);

    const first = await list(`${REFERRALS}?$count=true`);
    expect(first.value).toHaveLength(100);
    expect(first['@odata.count']).toBe(250);
    const nextLink = first['@odata.nextLink'] ?? '';
    expect(nextLink.startsWith(`${client.url}${REFERRALS}?`)).toBe(true);
    expect(nextLink).toContain('$count=true');
    expect(nextLink).toContain('$skiptoken=');

    const seen = first.value.map((r) => String(r.id));
    // Concurrent writers: new referrals arrive between page requests.
    const inserted = await client.control<{ ids: string[] }>('POST', '/referrals/seed', { count: 7, events: false });
    let link: string | undefined = nextLink;
    let pages = 1;
    while (link) {
      const page = await list(link);
      seen.push(...page.value.map((r) => String(r.id)));
      link = page['@odata.nextLink'];
      pages += 1;
      if (pages === 2) await client.control('POST', '/referrals/seed', { count: 3, events: false });
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of [...seeded.json.ids, ...inserted.json.ids]) expect(seen).toContain(id);
    expect(seen.length).toBe(260);
    expect(pages).toBe(3);
  });

  it('pages in descending order too, and keeps the filter in the nextLink', async () => {
    await client.control('POST', '/referrals/seed', { count: 12, events: false, overrides: { customerProfile: { address: { country: 'DE' } } } });
    await client.control('POST', '/referrals/seed', { count: 5, events: false, overrides: { customerProfile: { address: { country: 'FR' } } } });
    const seen: string[] = [];
    let link: string | undefined = `${q("customerProfile/address/country eq 'DE'")}&$orderby=createdDateTime desc&$top=5`;
    const timestamps: string[] = [];
    while (link) {
      const page: ListBody = await list(link);
      expect(page.value.length).toBeLessThanOrEqual(5);
      seen.push(...page.value.map((r) => String(r.id)));
      timestamps.push(...page.value.map((r) => String(r.createdDateTime)));
      link = page['@odata.nextLink'];
    }
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    expect([...timestamps].sort().reverse()).toEqual(timestamps);
  });

  it("lists the partner's own referrals, and Microsoft's side only when scoped to the engagement", async () => {
    const incoming = await client.createIncoming({ microsoftSide: true });
    const plain = await list(REFERRALS);
    expect(plain.value.map((r) => r.organizationId)).toEqual([incoming.organizationId]);

    const related = await list(String((incoming.links as { relatedReferrals: { uri: string } }).relatedReferrals.uri));
    expect(related.value.map((r) => r.organizationId).sort()).toEqual([String(incoming.organizationId), 'msft'].sort());
    const microsoft = related.value.find((r) => r.organizationId === 'msft');
    expect(microsoft).toMatchObject({ organizationName: 'Microsoft', direction: 'Outgoing', status: 'Active', substatus: 'Accepted' });
  });

  it('lists every version of a referral as it is now: a change shows in the next listing and its filter', async () => {
    const created = await createOutgoing({ name: 'Before' });
    expect(await names(q("name eq 'Before'"))).toEqual(['Before']);
    const patched = await client.api<Json>('PATCH', `${REFERRALS}/${String(created.id)}`, [{ op: 'replace', path: '/name', value: 'After' }], { 'if-match': String(created.eTag) });
    expect(patched.status, patched.text).toBe(204);
    expect(await names(q("name eq 'Before'"))).toEqual([]);
    const listed = await list(q("name eq 'After'"));
    expect(listed.value.map((r) => [r.name, r.eTag])).toEqual([['After', patched.headers.get('etag')]]);
  });
});
