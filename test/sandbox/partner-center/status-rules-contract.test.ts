import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clone, DOC_CREATE_REQUEST } from '../helpers/doc-samples.ts';
import { startSandbox, type Json, type SandboxClient } from '../helpers/sandbox-client.ts';
import { sleep, waitFor } from '../helpers/wait.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

const REFERRALS = '/v1.0/engagements/referrals';
const ALL_REFERRAL_EVENTS = ['referral-created', 'referral-updated', 'related-referral-created', 'related-referral-updated'];

interface ErrorBody {
  error: { code: string; message: string; target?: string };
}

function expectDocumentedError(result: { status: number; json: unknown }, target?: string): ErrorBody['error'] {
  expect(result.status).toBe(400);
  expect(Object.keys(result.json as Json)).toEqual(['error']);
  const { error } = result.json as ErrorBody;
  expect(error.code).toBe('invalidRequest');
  expect(error.message).not.toBe('');
  if (target !== undefined) expect(error.target).toBe(target);
  return error;
}

describe('Partner Center sandbox — status rules, expiry, sales stages, newer fields', () => {
  let client: SandboxClient;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    client = await startSandbox({ delivery: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 40, timeoutMs: 500 } });
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await client.sandbox.close();
    await receiver.stop();
  });
  beforeEach(async () => {
    await client.reset();
    receiver.reset();
  });

  const path = (referral: Json): string => `${REFERRALS}/${String(referral.id)}`;
  const patch = (referral: Json, operations: Json[]) => client.api<Json>('PATCH', path(referral), operations, { prefer: 'return=representation' });
  const read = async (referral: Json): Promise<Json> => (await client.api<Json>('GET', path(referral))).json;

  describe('an incoming referral not yet accepted', () => {
    it('can only be accepted or declined: other edits are refused and change nothing', async () => {
      const incoming = await client.createIncoming({ microsoftSide: false });
      const edit = await patch(incoming, [{ op: 'replace', path: '/details/notes', value: 'edited before accepting' }]);
      expect(expectDocumentedError(edit, 'status').message).toContain('can only be accepted');
      const won = await patch(incoming, [{ op: 'replace', path: '/status', value: 'Closed' }, { op: 'replace', path: '/substatus', value: 'Won' }]);
      expectDocumentedError(won, 'status');
      expect(await read(incoming)).toMatchObject({ status: 'New', substatus: 'Pending', eTag: incoming.eTag });

      const accepted = await patch(incoming, [
        { op: 'replace', path: '/status', value: 'Active' },
        { op: 'replace', path: '/substatus', value: 'Accepted' },
      ]);
      expect(accepted.json).toMatchObject({ status: 'Active', substatus: 'Accepted' });
      expect((await patch(incoming, [{ op: 'replace', path: '/details/notes', value: 'now it may change' }])).status).toBe(200);
    });

    it('declining needs a statusReason', async () => {
      const incoming = await client.createIncoming({ microsoftSide: false });
      const decline = [{ op: 'replace', path: '/status', value: 'Closed' }, { op: 'replace', path: '/substatus', value: 'Declined' }];
      expectDocumentedError(await patch(incoming, decline), 'statusReason');
      expectDocumentedError(await patch(incoming, [...decline, { op: 'replace', path: '/statusReason', value: '  ' }]), 'statusReason');
      const declined = await patch(incoming, [...decline, { op: 'replace', path: '/statusReason', value: 'No capacity this quarter' }]);
      expect(declined.json).toMatchObject({ status: 'Closed', substatus: 'Declined', statusReason: 'No capacity this quarter' });
    });
  });

  describe('terminal states (Won, Lost, Declined, Expired)', () => {
    it.each(['Won', 'Lost', 'Declined'])('Closed/%s is read-only for the partner (PATCH and PUT) and for a Microsoft seller', async (substatus) => {
      const created = (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
      const closed = await patch(created, [
        { op: 'replace', path: '/status', value: 'Closed' },
        { op: 'replace', path: '/substatus', value: substatus },
        { op: 'replace', path: '/statusReason', value: 'Closed by the test' },
      ]);
      expect(closed.status).toBe(200);
      expectDocumentedError(await patch(created, [{ op: 'replace', path: '/details/notes', value: 'late' }]), 'status');
      const put = await client.api('PUT', path(created), { ...closed.json, name: 'renamed' }, { 'if-match': String(closed.json.eTag) });
      expectDocumentedError(put, 'status');
      expectDocumentedError(await client.control('PATCH', `/referrals/${String(created.id)}`, { details: { notes: 'Microsoft, late' } }), 'status');
      expect((await read(created)).eTag).toBe(closed.json.eTag);
    });
  });

  describe('expiry after 14 days without an answer', () => {
    it('moves the sandbox clock, expires unanswered invitations and raises the documented events', async () => {
      await client.register(receiver.url, ALL_REFERRAL_EVENTS);
      const waiting = await client.createIncoming({ microsoftSide: false });
      const answered = await client.createIncoming({ microsoftSide: false });
      await patch(answered, [{ op: 'replace', path: '/status', value: 'Active' }, { op: 'replace', path: '/substatus', value: 'Accepted' }]);
      const partnerDeal = (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
      const microsoft = (await client.api<Json>('POST', REFERRALS, { ...clone(DOC_CREATE_REQUEST), engagementId: partnerDeal.engagementId, target: [{ type: 'BusinessProfileLocation', id: 'msft' }] })).json;
      await waitFor(() => receiver.requests.length >= 5 && true, 5_000, 'creation events');
      await sleep(50);
      receiver.reset();

      const early = await client.control<Json>('POST', '/clock', { advanceDays: 13.9 });
      expect(early.json.expired).toEqual([]);
      expect((await read(waiting)).status).toBe('New');

      const late = await client.control<{ expired: string[]; offsetDays: number }>('POST', '/clock', { advanceDays: 0.2 });
      expect(late.json.expired.sort()).toEqual([String(waiting.id), String(microsoft.id)].sort());
      expect(late.json.offsetDays).toBeCloseTo(14.1, 5);
      expect(await read(waiting)).toMatchObject({ status: 'Closed', substatus: 'Expired' });
      expect(await read(answered)).toMatchObject({ status: 'Active', substatus: 'Accepted' });
      expect((await client.control<Json>('GET', `/microsoft/engagements/${String(partnerDeal.engagementId)}`)).json).toMatchObject({ status: 'Closed', substatus: 'Expired' });

      await waitFor(() => receiver.requests.length >= 2 && true, 5_000, 'expiry events');
      await sleep(50);
      const uri = (id: unknown): string => `${client.url}/engagements/v1/referrals/${String(id)}`;
      expect(receiver.events().map((e) => [e.EventName, e.ResourceUri]).sort()).toEqual(
        [['referral-updated', uri(waiting.id)], ['related-referral-updated', uri(partnerDeal.id)]].sort(),
      );
      const expiredWrite = await patch(waiting, [{ op: 'replace', path: '/status', value: 'Active' }]);
      expectDocumentedError(expiredWrite, 'status');
    });

    it('refuses a clock that would go backwards or a body that is not { advanceDays }', async () => {
      for (const body of [{ advanceDays: -1 }, { advanceDays: 0 }, { days: 3 }, {}]) {
        expectDocumentedError(await client.control('POST', '/clock', body));
      }
    });
  });

  describe('sales stages', () => {
    it('stores the documented stages in any of their three spellings and rejects others', async () => {
      const created = (await client.api<Json>('POST', REFERRALS, { ...DOC_CREATE_REQUEST, salesStage: 'qualified' })).json;
      expect(created.salesStage).toBe('Qualified');
      for (const stage of ['Developed', 'Proposed', 'Negotiated', 'Won', 'Develop', 'Close', '40', '100']) {
        const result = await patch(created, [{ op: 'replace', path: '/salesStage', value: stage }]);
        expect(result.json.salesStage).toBe(stage);
      }
      const bad = await patch(created, [{ op: 'replace', path: '/salesStage', value: 'Almost there' }]);
      expect(expectDocumentedError(bad, 'salesStage').message).toContain('sales stage');
      expectDocumentedError(await client.api('POST', REFERRALS, { ...DOC_CREATE_REQUEST, salesStage: '55' }), 'salesStage');
    });
  });

  describe('newer and unknown fields', () => {
    it('accepts and round-trips PartnerRole, SolutionArea, SolutionPlay, marketplace fields and unknown extras', async () => {
      const body = {
        ...clone(DOC_CREATE_REQUEST),
        PartnerRole: 'Deployment services',
        solutionArea: { id: 'AI Business Solutions' },
        SolutionPlay: ['Copilot and AI Agents'],
        referralSource: 'AzureMarketplace',
        callToAction: 'GetItNow',
        marketplacePurchaseIntent: { intent: 'Purchase', offerId: 'contoso.offer' },
        details: { ...(clone(DOC_CREATE_REQUEST).details as Json), futureDetail: 7 },
      };
      const created = await client.api<Json>('POST', REFERRALS, body);
      expect(created.status).toBe(200);
      const read1 = await read(created.json);
      expect(read1).toMatchObject({
        partnerRole: 'Deployment services',
        solutionArea: { id: 'AI Business Solutions' },
        solutionPlay: ['Copilot and AI Agents'],
        referralSource: 'AzureMarketplace',
        callToAction: 'GetItNow',
        marketplacePurchaseIntent: { intent: 'Purchase', offerId: 'contoso.offer' },
        details: { futureDetail: 7 },
      });
      expect(read1.PartnerRole).toBeUndefined();
      const patched = await patch(created.json, [{ op: 'replace', path: '/marketplacePurchaseIntent/intent', value: 'Trial' }]);
      expect(patched.json.marketplacePurchaseIntent).toEqual({ intent: 'Trial', offerId: 'contoso.offer' });
      const put = await client.api<Json>('PUT', path(created.json), { ...read1, '@odata.context': 'x', solutionPlay: ['Migrate and Modernize'] }, { 'if-match': String(patched.json.eTag) });
      // PUT replaces the whole referral: the body came from the read before the PATCH.
      expect(put.json).toMatchObject({ solutionPlay: ['Migrate and Modernize'], marketplacePurchaseIntent: { intent: 'Purchase' } });
      expect(put.json['@odata.context']).toBeUndefined();
    });
  });

  describe('partner-to-partner engagements and both related-referral ResourceUri variants', () => {
    it.each([
      ['partner', 'the partner\'s referral'],
      ['changed', 'the other partner\'s referral'],
    ] as const)('relatedResourceUri=%s names %s', async (shape, _named) => {
      await client.register(receiver.url, ALL_REFERRAL_EVENTS);
      expect((await client.control('PUT', '/webhooks/shape', { relatedResourceUri: shape })).status).toBe(200);
      const mine = await client.createIncoming({ microsoftSide: false, otherPartner: { organizationId: 'fabrikam-partner', organizationName: 'Fabrikam Services' } });
      await waitFor(() => receiver.requests.length >= 2 && true, 5_000, 'creation events');
      await sleep(50);
      const all = (await client.control<{ value: Json[] }>('GET', '/referrals')).json.value;
      const other = all.find((r) => r.organizationId === 'fabrikam-partner');
      expect(other).toMatchObject({ engagementId: mine.engagementId, organizationName: 'Fabrikam Services' });
      receiver.reset();
      await client.control('PATCH', `/referrals/${String(other?.id)}`, { details: { notes: 'other partner notes' } });
      await waitFor(() => receiver.requests.length >= 1 && true, 5_000, 'related event');
      await sleep(50);
      const named = shape === 'partner' ? mine.id : other?.id;
      expect(receiver.events().map((e) => [e.EventName, e.ResourceUri])).toEqual([['related-referral-updated', `${client.url}/engagements/v1/referrals/${String(named)}`]]);
      await client.control('PUT', '/webhooks/shape', { relatedResourceUri: 'partner' });
    });
  });
});
