import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clone, DOC_CREATE_REQUEST } from '../helpers/doc-samples.ts';
import { startSandbox, type Json, type SandboxClient } from '../helpers/sandbox-client.ts';

const REFERRALS = '/v1.0/engagements/referrals';
const OWNED = 'SOL-34104-EBB';
const NOT_CO_SELL_READY = 'SOL-90001-DRF';

interface ErrorBody {
  error: { code: string; message: string; target?: string; details?: Array<{ code: string; target: string; message: string }> };
}

/** The documented create sample as a partner's co-sell deal naming one of its own solutions the documented way. */
function coSellDeal(solutions: Json[] = [{ type: 'Name', id: OWNED, name: 'Cloud Migration Factory' }], target: Json[] | undefined = undefined): Json {
  const body = clone(DOC_CREATE_REQUEST) as Json;
  ((body.details as Json).requirements as Json).solutions = solutions;
  if (target === undefined) delete body.target;
  else body.target = target;
  return body;
}

/** Partner Center's documented error body ("Partner Center REST error codes"): `{ error: { code, message, target? } }`. */
function expectDocumentedError(result: { status: number; json: unknown }, status: number, code: string, target?: string): ErrorBody['error'] {
  expect(result.status).toBe(status);
  const { error } = result.json as ErrorBody;
  expect(Object.keys(result.json as Json)).toEqual(['error']);
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.message.length).toBeLessThanOrEqual(1024);
  if (target !== undefined) expect(error.target).toBe(target);
  return error;
}

describe('Partner Center sandbox — co-sell contract (strict by default)', () => {
  let client: SandboxClient;

  beforeAll(async () => {
    client = await startSandbox({ organization: { id: '11111111-2222-3333-4444-555555555555', name: 'Sandbox Partner' } });
  });
  afterAll(() => client.sandbox.close());
  beforeEach(() => client.reset());

  describe('the partner solutions catalogue', () => {
    it('is seeded with ids, names and co-sell readiness, and can be replaced', async () => {
      const seeded = await client.control<{ count: number; value: Json[] }>('GET', '/solutions');
      expect(seeded.status).toBe(200);
      expect(seeded.json.value).toContainEqual({ id: OWNED, name: 'Cloud Migration Factory', coSellReady: true, solutionType: 'IP' });
      expect(seeded.json.value.some((s) => s.coSellReady === false)).toBe(true);

      try {
        const replaced = await client.control('PUT', '/solutions', { value: [{ id: 'SOL-1-NEW', name: 'New one', coSellReady: true }] });
        expect(replaced.status).toBe(200);
        const rejected = await client.api('POST', REFERRALS, coSellDeal());
        expectDocumentedError(rejected, 400, 'invalidRequest');
        expect(await client.api('POST', REFERRALS, coSellDeal([{ type: 'Name', id: 'sol-1-new' }]))).toMatchObject({ status: 200 });
      } finally {
        await client.control('PUT', '/solutions', { value: seeded.json.value });
      }
    });

    it('refuses a malformed catalogue and keeps the old one', async () => {
      const bad = await client.control('PUT', '/solutions', { value: [{ id: 'X', name: 'no readiness' }] });
      expectDocumentedError(bad, 400, 'invalidRequest');
      const dup = await client.control('PUT', '/solutions', { value: [{ id: 'A', name: 'a', coSellReady: true }, { id: 'a', name: 'b', coSellReady: true }] });
      expectDocumentedError(dup, 400, 'invalidRequest', 'value');
      expect((await client.control<{ count: number }>('GET', '/solutions')).json.count).toBe(6);
    });
  });

  describe('creating a co-sell (Shared) referral', () => {
    it('accepts the documented create sample: its SolutionProfile target names a solution the partner owns', async () => {
      const result = await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST);
      expect(result.status).toBe(200);
      expect(result.json).toMatchObject({ type: 'Shared', status: 'Active', substatus: 'Accepted', target: [{ type: 'SolutionProfile', id: OWNED }] });
    });

    it('accepts a Name solution the partner owns in details.requirements.solutions', async () => {
      const result = await client.api<Json>('POST', REFERRALS, coSellDeal());
      expect(result.status).toBe(200);
      expect(((result.json.details as Json).requirements as Json).solutions).toEqual([{ type: 'Name', id: OWNED, name: 'Cloud Migration Factory' }]);
    });

    it('answers "Solution ID is required" without any solution of the partner, and creates nothing', async () => {
      for (const body of [coSellDeal([]), coSellDeal([{ type: 'Category', id: 'Dynamics365forFieldService' }])]) {
        const error = expectDocumentedError(await client.api('POST', REFERRALS, body), 400, 'invalidRequest', 'details.requirements.solutions');
        expect(error.message).toContain('Solution ID is required');
      }
      const listed = await client.api<{ value: Json[] }>('GET', REFERRALS);
      expect(listed.json.value).toEqual([]);
    });

    it('rejects a solution id the partner does not own, naming the offending entry', async () => {
      const error = expectDocumentedError(
        await client.api('POST', REFERRALS, coSellDeal([{ type: 'Name', id: OWNED }, { type: 'Name', id: 'SOL-00000-ZZZ' }])),
        400,
        'invalidRequest',
      );
      expect(error.details?.map((d) => d.target)).toEqual(['details.requirements.solutions[1].id']);
      expect(error.message).toContain('SOL-00000-ZZZ');
    });

    it('rejects a SolutionProfile target that is not the partner\'s, and a None target', async () => {
      const foreign = expectDocumentedError(await client.api('POST', REFERRALS, coSellDeal(undefined, [{ type: 'SolutionProfile', id: 'SOL-NOT-MINE' }])), 400, 'invalidRequest');
      expect(foreign.details?.map((d) => d.target)).toContain('target[0].id');
      const none = expectDocumentedError(await client.api('POST', REFERRALS, coSellDeal(undefined, [{ type: 'None', id: 'x' }])), 400, 'invalidRequest');
      expect(none.details?.map((d) => d.target)).toContain('target[0].type');
    });

    it('does not count a solution that is not co-sell ready', async () => {
      const error = expectDocumentedError(await client.api('POST', REFERRALS, coSellDeal([{ type: 'Name', id: NOT_CO_SELL_READY }])), 400, 'invalidRequest');
      expect(error.message).toContain('Solution ID is required');
    });

    it('requires a customer contact when Microsoft help is requested, and refuses a private co-sell deal', async () => {
      const body = coSellDeal();
      (body.customerProfile as Json).team = [];
      body.inviteContext = { assistanceRequestCode: 'ProofOfConceptOrDemo' };
      (body.consent as Json).consentToShareReferralWithMicrosoftSellers = false;
      const error = expectDocumentedError(await client.api('POST', REFERRALS, body), 400, 'invalidRequest');
      expect(error.details?.map((d) => d.target).sort()).toEqual(['consent.consentToShareReferralWithMicrosoftSellers', 'customerProfile.team']);
    });

    it('leaves Independent (private / partner-led) deals without solutions alone', async () => {
      const body = coSellDeal([]);
      body.type = 'Independent';
      (body.consent as Json).consentToShareReferralWithMicrosoftSellers = false;
      expect((await client.api('POST', REFERRALS, body)).status).toBe(200);
    });

    it('with strictCoSell: false accepts a Shared referral without solution or target', async () => {
      const lenient = await startSandbox({ strictCoSell: false });
      try {
        expect((await lenient.api('POST', REFERRALS, coSellDeal([]))).status).toBe(200);
      } finally {
        await lenient.sandbox.close();
      }
    });
  });

  describe('the connected Microsoft referral ("Creating a shared (co-sell) referral via API")', () => {
    async function shareWithMicrosoft(): Promise<{ partner: Json; microsoft: Json }> {
      const partner = (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
      const second = await client.api<Json>('POST', REFERRALS, {
        ...coSellDeal(),
        engagementId: partner.engagementId,
        target: [{ type: 'BusinessProfileLocation', id: 'msft' }],
      });
      expect(second.status).toBe(200);
      return { partner, microsoft: second.json };
    }

    it('joins the engagement as Microsoft\'s referral, waiting for a Microsoft seller for 14 days', async () => {
      const { partner, microsoft } = await shareWithMicrosoft();
      expect(microsoft).toMatchObject({ engagementId: partner.engagementId, organizationId: 'msft', status: 'New', substatus: 'Pending', direction: 'Incoming', target: [{ type: 'BusinessProfileLocation', id: 'msft' }] });
      const days = (Date.parse(String(microsoft.expirationDateTime)) - Date.parse(String(microsoft.createdDateTime))) / 86_400_000;
      expect(days).toBeCloseTo(14, 3);
      const related = await client.api<{ value: Json[] }>('GET', `${REFERRALS}?$filter=${encodeURIComponent(`engagementId eq '${String(partner.engagementId)}'`)}`);
      expect(related.json.value.map((r) => r.id).sort()).toEqual([partner.id, microsoft.id].sort());
      const seen = await client.control<Json>('GET', `/microsoft/engagements/${String(partner.engagementId)}`);
      expect(seen.json.id).toBe(microsoft.id);
    });

    it('without it no Microsoft seller sees the deal', async () => {
      const partner = (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
      const error = expectDocumentedError(await client.control('POST', `/microsoft/engagements/${String(partner.engagementId)}/accept`, {}), 404, 'itemNotFound');
      expect(error.message).toContain('no connected Microsoft referral');
    });

    it('needs the engagement of a partner co-sell referral, once, and only Microsoft as target', async () => {
      const connect = (body: Json) => client.api('POST', REFERRALS, { ...coSellDeal(), target: [{ type: 'BusinessProfileLocation', id: 'msft' }], ...body });
      expectDocumentedError(await connect({}), 400, 'invalidRequest', 'engagementId');
      expectDocumentedError(await connect({ engagementId: '00000000-0000-0000-0000-000000000000' }), 400, 'invalidRequest', 'engagementId');
      const independent = coSellDeal([]);
      independent.type = 'Independent';
      const privateDeal = (await client.api<Json>('POST', REFERRALS, independent)).json;
      expectDocumentedError(await connect({ engagementId: privateDeal.engagementId }), 400, 'invalidRequest', 'engagementId');
      const { partner } = await shareWithMicrosoft();
      const twice = expectDocumentedError(await connect({ engagementId: partner.engagementId }), 400, 'invalidRequest', 'engagementId');
      expect(twice.message).toContain("already has Microsoft's referral");
      const extra = await connect({ engagementId: partner.engagementId, target: [{ type: 'BusinessProfileLocation', id: 'msft' }, { type: 'SolutionProfile', id: OWNED }] });
      expectDocumentedError(extra, 400, 'invalidRequest');
    });

    it('is not writable by the partner', async () => {
      const { microsoft } = await shareWithMicrosoft();
      const result = await client.api('PATCH', `${REFERRALS}/${String(microsoft.id)}`, [{ op: 'replace', path: '/details/notes', value: 'x' }]);
      expectDocumentedError(result, 403, 'accessDenied');
    });

    it('lets a test act as the Microsoft seller: accept (with MSX id on both sides), or decline with a reason', async () => {
      const { partner, microsoft } = await shareWithMicrosoft();
      const accepted = await client.control<Json>('POST', `/microsoft/engagements/${String(partner.engagementId)}/accept`, {
        microsoftMsxId: '7-ABCDEF123',
        seller: { firstName: 'Megan', lastName: 'Bowen', email: 'megan.bowen@microsoft.com' },
      });
      expect(accepted.status).toBe(200);
      expect(accepted.json).toMatchObject({ id: microsoft.id, status: 'Active', substatus: 'Accepted', trackingInfo: { microsoftMsxId: '7-ABCDEF123' }, team: [{ email: 'megan.bowen@microsoft.com' }] });
      const mine = await client.api<Json>('GET', `${REFERRALS}/${String(partner.id)}`);
      expect(mine.json.trackingInfo).toEqual({ microsoftMsxId: '7-ABCDEF123' });

      const updated = await client.control<Json>('PATCH', `/microsoft/engagements/${String(partner.engagementId)}`, { details: { notes: 'Microsoft seller notes' }, salesStage: 'Qualified' });
      expect(updated.json).toMatchObject({ salesStage: 'Qualified', details: { notes: 'Microsoft seller notes' } });

      const other = await shareWithMicrosoft();
      const noReason = await client.control('POST', `/microsoft/engagements/${String(other.partner.engagementId)}/decline`, {});
      expectDocumentedError(noReason, 400, 'invalidRequest', 'statusReason');
      const declined = await client.control<Json>('POST', `/microsoft/engagements/${String(other.partner.engagementId)}/decline`, { statusReason: 'Customer not in a covered segment' });
      expect(declined.json).toMatchObject({ status: 'Closed', substatus: 'Declined', statusReason: 'Customer not in a covered segment' });
      const again = await client.control('POST', `/microsoft/engagements/${String(other.partner.engagementId)}/accept`, {});
      expectDocumentedError(again, 400, 'invalidRequest', 'status');
    });
  });

  describe('upgrading and downgrading visibility', () => {
    it('upgrades a private deal to co-sell only with a solution, and never back', async () => {
      const body = coSellDeal([]);
      body.type = 'Independent';
      (body.consent as Json).consentToShareReferralWithMicrosoftSellers = false;
      const created = (await client.api<Json>('POST', REFERRALS, body)).json;
      const path = `${REFERRALS}/${String(created.id)}`;
      const bare = await client.api('PATCH', path, [{ op: 'replace', path: '/type', value: 'Shared' }, { op: 'replace', path: '/consent/consentToShareReferralWithMicrosoftSellers', value: true }]);
      expect(expectDocumentedError(bare, 400, 'invalidRequest').message).toContain('Solution ID is required');
      const upgraded = await client.api<Json>('PATCH', path, [
        { op: 'replace', path: '/type', value: 'Shared' },
        { op: 'replace', path: '/consent/consentToShareReferralWithMicrosoftSellers', value: true },
        { op: 'replace', path: '/details/requirements/solutions', value: [{ type: 'Name', id: OWNED }] },
      ], { prefer: 'return=representation' });
      expect(upgraded.json).toMatchObject({ type: 'Shared', consent: { consentToShareReferralWithMicrosoftSellers: true } });

      const hide = await client.api('PATCH', path, [{ op: 'replace', path: '/consent/consentToShareReferralWithMicrosoftSellers', value: false }]);
      expectDocumentedError(hide, 400, 'invalidRequest', 'consent.consentToShareReferralWithMicrosoftSellers');
      const independent = await client.api('PATCH', path, [{ op: 'replace', path: '/type', value: 'Independent' }]);
      expectDocumentedError(independent, 400, 'invalidRequest', 'type');
      const dropSolutions = await client.api('PATCH', path, [{ op: 'replace', path: '/details/requirements/solutions', value: [] }]);
      expect(expectDocumentedError(dropSolutions, 400, 'invalidRequest').message).toContain('Solution ID is required');
      const after = await client.api<Json>('GET', path);
      expect(after.json).toMatchObject({ type: 'Shared', consent: { consentToShareReferralWithMicrosoftSellers: true } });
    });
  });
});
