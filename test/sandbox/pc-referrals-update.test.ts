import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOC_CREATE_REQUEST, DOC_ETAG_FORMAT } from './helpers/doc-samples.ts';
import { startSandbox, type Json, type SandboxClient } from './helpers/sandbox-client.ts';

const REFERRALS = '/v1.0/engagements/referrals';

interface ErrorBody {
  error: { code: string; message: string; target?: string };
}

describe('Partner Center sandbox — PATCH and PUT', () => {
  let client: SandboxClient;

  beforeAll(async () => {
    client = await startSandbox();
  });
  afterAll(() => client.sandbox.close());
  beforeEach(() => client.reset());

  async function createOutgoing(): Promise<Json> {
    return (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
  }

  async function get(id: unknown): Promise<Json> {
    return (await client.api<Json>('GET', `${REFERRALS}/${String(id)}`)).json;
  }

  function patch(id: unknown, operations: unknown, headers: Record<string, string> = {}) {
    return client.api<Json>('PATCH', `${REFERRALS}/${String(id)}`, operations, headers);
  }

  describe('PATCH', () => {
    it('applies the documented sample (replace + add /team/-) and answers 204 with a new ETag', async () => {
      const referral = await createOutgoing();
      const result = await patch(referral.id, [
        { op: 'replace', path: '/details/dealValue', value: '10000' },
        { op: 'add', path: '/team/-', value: { email: 'jane.doe@contoso.com', firstName: 'Jane', lastName: 'Doe', phoneNumber: '0000000001' } },
      ]);
      expect(result.status).toBe(204);
      expect(result.text).toBe('');
      const after = await get(referral.id);
      expect(result.headers.get('etag')).toBe(after.eTag);
      expect((after.details as Json).dealValue).toBe(10000);
      expect((after.team as Json[]).map((m) => m.email)).toEqual(['john.doe@microsoft.com', 'jane.doe@contoso.com']);
      expect(after.eTag).not.toBe(referral.eTag);
      expect(after.eTag).toMatch(DOC_ETAG_FORMAT);
      expect(String(after.updatedDateTime) > String(referral.updatedDateTime)).toBe(true);
      expect(after.createdDateTime).toBe(referral.createdDateTime);
    });

    it('accepts the application/json-patch+json media type', async () => {
      const referral = await createOutgoing();
      const result = await patch(referral.id, JSON.stringify([{ op: 'replace', path: '/name', value: 'patched' }]), { 'content-type': 'application/json-patch+json' });
      expect(result.status).toBe(204);
      expect((await get(referral.id)).name).toBe('patched');
    });

    it('returns the referral with Prefer: return=representation', async () => {
      const referral = await createOutgoing();
      const result = await patch(referral.id, [{ op: 'replace', path: '/details/notes', value: 'updated notes' }], { prefer: 'return=representation' });
      expect(result.status).toBe(200);
      expect((result.json.details as Json).notes).toBe('updated notes');
      expect(result.headers.get('etag')).toBe(result.json.eTag);
      expect(result.json).toEqual(await get(referral.id).then(({ ['@odata.context']: _c, ...rest }) => rest));
    });

    it('sets a field that was never set, and adds into nested objects', async () => {
      const referral = await createOutgoing();
      const result = await patch(referral.id, [
        { op: 'replace', path: '/externalReferenceId', value: 'CRM-7' },
        { op: 'add', path: '/customerProfile/address/region', value: 'Americas' },
        { op: 'add', path: '/team/0', value: { email: 'first@contoso.com' } },
      ], { prefer: 'return=representation' });
      expect(result.status).toBe(200);
      expect(result.json.externalReferenceId).toBe('CRM-7');
      expect(((result.json.customerProfile as Json).address as Json).region).toBe('Americas');
      expect((result.json.team as Json[])[0]?.email).toBe('first@contoso.com');
    });

    it('honours If-Match: the current eTag succeeds, a stale one is 412 preconditionFailed and changes nothing', async () => {
      const referral = await createOutgoing();
      const ok = await patch(referral.id, [{ op: 'replace', path: '/name', value: 'renamed' }], { 'if-match': String(referral.eTag) });
      expect(ok.status).toBe(204);
      const stale = await patch(referral.id, [{ op: 'replace', path: '/name', value: 'lost update' }], { 'if-match': String(referral.eTag) });
      expect(stale.status).toBe(412);
      expect((stale.json as unknown as ErrorBody).error.code).toBe('preconditionFailed');
      expect((await get(referral.id)).name).toBe('renamed');
      // The eTag without its quotes is the same tag; clients strip them more often than not.
      const fresh = await get(referral.id);
      const unquoted = await patch(referral.id, [{ op: 'replace', path: '/name', value: 'again' }], { 'if-match': String(fresh.eTag).replace(/"/g, '') });
      expect(unquoted.status).toBe(204);
    });

    it('follows the status transition table', async () => {
      const incoming = await client.createIncoming({ microsoftSide: false });
      expect(incoming).toMatchObject({ status: 'New', substatus: 'Pending', direction: 'Incoming', acceptedDateTime: null });

      const received = await patch(incoming.id, [{ op: 'replace', path: '/substatus', value: 'Received' }], { prefer: 'return=representation' });
      expect(received.json).toMatchObject({ status: 'New', substatus: 'Received' });

      const mismatched = await patch(incoming.id, [{ op: 'replace', path: '/status', value: 'Active' }]);
      expect(mismatched.status).toBe(400);
      expect((mismatched.json as unknown as ErrorBody).error.target).toBe('substatus');

      const accepted = await patch(incoming.id, [
        { op: 'replace', path: '/status', value: 'Active' },
        { op: 'replace', path: '/substatus', value: 'Accepted' },
      ], { prefer: 'return=representation' });
      expect(accepted.json).toMatchObject({ status: 'Active', substatus: 'Accepted', closedDateTime: null });
      expect(accepted.json.acceptedDateTime).toBe(accepted.json.updatedDateTime);

      const backToNew = await patch(incoming.id, [
        { op: 'replace', path: '/status', value: 'New' },
        { op: 'replace', path: '/substatus', value: 'Pending' },
      ]);
      expect(backToNew.status).toBe(400);
      expect((backToNew.json as unknown as ErrorBody).error.message).toContain("from 'Active' to 'New'");

      const won = await patch(incoming.id, [
        { op: 'replace', path: '/status', value: 'Closed' },
        { op: 'replace', path: '/substatus', value: 'Won' },
      ], { prefer: 'return=representation' });
      expect(won.json).toMatchObject({ status: 'Closed', substatus: 'Won' });
      expect(won.json.closedDateTime).toBe(won.json.updatedDateTime);
      expect(won.json.acceptedDateTime).toBe(accepted.json.acceptedDateTime);
    });

    it('rejects any edit of a closed referral', async () => {
      const referral = await createOutgoing();
      await patch(referral.id, [{ op: 'replace', path: '/status', value: 'Closed' }, { op: 'replace', path: '/substatus', value: 'Lost' }]);
      const before = await get(referral.id);
      const result = await patch(referral.id, [{ op: 'replace', path: '/details/notes', value: 'too late' }]);
      expect(result.status).toBe(400);
      expect((result.json as unknown as ErrorBody).error).toMatchObject({ code: 'invalidRequest', target: 'status' });
      expect((await get(referral.id)).eTag).toBe(before.eTag);
    });

    it.each([
      ['an unsupported op', [{ op: 'remove', path: '/details/notes' }], '[0].op'],
      ['a read-only field', [{ op: 'replace', path: '/id', value: 'x' }], 'id'],
      ['the engagement', [{ op: 'replace', path: '/engagementId', value: 'x' }], 'engagementId'],
      ['the eTag', [{ op: 'replace', path: '/eTag', value: 'x' }], 'eTag'],
      ['links', [{ op: 'add', path: '/links/self', value: {} }], 'links'],
      ['direction', [{ op: 'replace', path: '/direction', value: 'Incoming' }], 'direction'],
      ['an unknown property', [{ op: 'replace', path: '/shoeSize', value: 42 }], '[0].path'],
      ['a missing value', [{ op: 'replace', path: '/name' }], '[0].value'],
      ['an out-of-range index', [{ op: 'replace', path: '/team/9', value: {} }], '[0].path'],
      ['an invalid result', [{ op: 'replace', path: '/customerProfile/address/country', value: 'Narnia' }], 'customerProfile.address.country'],
    ])('rejects %s with 400 and leaves the referral unchanged', async (_label, operations, target) => {
      const referral = await createOutgoing();
      const result = await patch(referral.id, operations);
      expect(result.status).toBe(400);
      expect((result.json as unknown as ErrorBody).error).toMatchObject({ code: 'invalidRequest', target });
      expect((await get(referral.id)).eTag).toBe(referral.eTag);
    });

    it('rejects a body that is not a JSON Patch array', async () => {
      const referral = await createOutgoing();
      const result = await patch(referral.id, { name: 'merge-patch style' });
      expect(result.status).toBe(400);
      expect((result.json as unknown as ErrorBody).error.message).toContain('JSON Patch');
    });

    it("refuses to modify Microsoft's side of an engagement", async () => {
      await client.createIncoming({ microsoftSide: true });
      const all = await client.control<{ value: Json[] }>('GET', '/referrals');
      const microsoft = all.json.value.find((r) => r.organizationId === 'msft');
      const result = await patch(microsoft?.id, [{ op: 'replace', path: '/name', value: 'hijack' }]);
      expect(result.status).toBe(403);
      expect((result.json as unknown as ErrorBody).error.code).toBe('accessDenied');
    });
  });

  describe('PUT', () => {
    it('requires If-Match, with a clear message', async () => {
      const referral = await createOutgoing();
      const { links: _links, ...body } = referral;
      const result = await client.api<ErrorBody>('PUT', `${REFERRALS}/${String(referral.id)}`, body);
      expect(result.status).toBe(400);
      expect(result.json.error).toMatchObject({ code: 'invalidRequest', target: 'If-Match' });
      expect(result.json.error.message).toContain('If-Match');
    });

    it('replaces the referral with If-Match, ignores server fields and links, and 412s on a stale eTag', async () => {
      const referral = await createOutgoing();
      const body = { ...referral, name: 'put name', id: 'ignored', createdDateTime: '2000-01-01T00:00:00Z', links: { self: { uri: 'x' } } };
      const result = await client.api<Json>('PUT', `${REFERRALS}/${String(referral.id)}`, body, { 'if-match': String(referral.eTag) });
      expect(result.status).toBe(200);
      expect(result.json).toMatchObject({ id: referral.id, name: 'put name', createdDateTime: referral.createdDateTime });
      expect(result.json.eTag).not.toBe(referral.eTag);
      expect((result.json.links as Json).self).toEqual((referral.links as Json).self);

      const stale = await client.api<ErrorBody>('PUT', `${REFERRALS}/${String(referral.id)}`, body, { 'if-match': String(referral.eTag) });
      expect(stale.status).toBe(412);
      expect(stale.json.error.code).toBe('preconditionFailed');
    });

    it('validates the full body', async () => {
      const referral = await createOutgoing();
      const result = await client.api<ErrorBody>('PUT', `${REFERRALS}/${String(referral.id)}`, { name: 'only a name' }, { 'if-match': String(referral.eTag) });
      expect(result.status).toBe(400);
      expect(result.json.error.message).toContain('customerProfile');
    });
  });

  it('changes eTag and updatedDateTime on every write, strictly increasing even for back-to-back writes', async () => {
    const referral = await createOutgoing();
    const eTags = new Set<string>([String(referral.eTag)]);
    const timestamps: string[] = [String(referral.updatedDateTime)];
    const writes = Array.from({ length: 20 }, (_, i) => patch(referral.id, [{ op: 'replace', path: '/details/notes', value: `note ${i}` }], { prefer: 'return=representation' }));
    for (const result of await Promise.all(writes)) {
      expect(result.status).toBe(200);
      eTags.add(String(result.json.eTag));
      timestamps.push(String(result.json.updatedDateTime));
    }
    const put = await client.api<Json>('PUT', `${REFERRALS}/${String(referral.id)}`, { ...DOC_CREATE_REQUEST, status: 'Active', substatus: 'Accepted' }, { 'if-match': '*' });
    eTags.add(String(put.json.eTag));
    timestamps.push(String(put.json.updatedDateTime));
    const control = await client.control<Json>('PATCH', `/referrals/${String(referral.id)}`, { statusReason: 'Microsoft edit' });
    eTags.add(String(control.json.eTag));
    timestamps.push(String(control.json.updatedDateTime));

    expect(eTags.size).toBe(23);
    expect(new Set(timestamps).size).toBe(23);
    const sorted = [...timestamps].sort();
    expect(sorted[sorted.length - 1]).toBe(control.json.updatedDateTime);
    expect(sorted[0]).toBe(referral.updatedDateTime);
  });

  describe('control API changes made by Microsoft', () => {
    it('closes and expires referrals, deep-merges, validates enums and 404s unknown ids', async () => {
      const incoming = await client.createIncoming({ microsoftSide: false });
      const expired = await client.control<Json>('PATCH', `/referrals/${String(incoming.id)}`, { status: 'Closed', substatus: 'Expired', details: { notes: 'no response' } });
      expect(expired.status).toBe(200);
      expect(expired.json).toMatchObject({ status: 'Closed', substatus: 'Expired' });
      expect((expired.json.details as Json).notes).toBe('no response');
      expect((expired.json.details as Json).currency).toBe((incoming.details as Json).currency);

      const reopened = await client.control<ErrorBody>('PATCH', `/referrals/${String(incoming.id)}`, { status: 'Active' });
      expect(reopened.status).toBe(400);
      const badEnum = await client.control<ErrorBody>('PATCH', `/referrals/${String(incoming.id)}`, { substatus: 'Vanished' });
      expect(badEnum.status).toBe(400);
      expect(badEnum.json.error.target).toBe('substatus');
      const missing = await client.control<ErrorBody>('PATCH', '/referrals/nope', { name: 'x' });
      expect(missing.status).toBe(404);
      expect(missing.json.error.code).toBe('itemNotFound');
    });

    it('implies the substatus when only the status is given', async () => {
      const incoming = await client.createIncoming({ microsoftSide: false });
      const accepted = await client.control<Json>('PATCH', `/referrals/${String(incoming.id)}`, { status: 'Active' });
      expect(accepted.json).toMatchObject({ status: 'Active', substatus: 'Accepted' });
    });
  });
});
