import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isMicrosoftSide, partnerSolutionSchema, referralSchema, type ReferralCreate } from '../../../src/partner-center/model.ts';
import {
  InvalidReferralError,
  MicrosoftConnectionError,
  ReferralsClient,
  SolutionsListUnavailableError,
} from '../../../src/partner-center/referrals-client.ts';
import { StaticTokenProvider } from '../../../src/http/tokens.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../../src/sandbox/partner-center/index.ts';
import { DOC_CREATE_REQUEST, DOC_CREATE_RESPONSE_JSON } from './doc-samples.ts';
import { startScriptedServer, type ScriptedServer } from './scripted-server.ts';

type Row = Record<string, unknown>;

/** The documented create sample as a CRM deal marked for co-sell with one Microsoft solution of the partner. */
function coSellBody(externalReferenceId = 'opp-1'): ReferralCreate {
  const body = structuredClone(DOC_CREATE_REQUEST);
  delete body.target;
  return {
    ...body,
    externalReferenceId,
    status: 'Active',
    substatus: 'Accepted',
    inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' },
    details: { ...body.details, requirements: { solutions: [{ type: 'Name', id: 'SOL-34104-EBB', name: 'Cloud Migration Factory' }] } },
  };
}

describe('ReferralsClient co-sell calls against the Partner Center sandbox (strict)', () => {
  let sandbox: PartnerCenterSandbox;
  let client: ReferralsClient;

  const control = async <T = Row>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${sandbox.url}/_sandbox${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return (await response.json()) as T;
  };
  const everything = async (): Promise<Row[]> => (await control<{ value: Row[] }>('GET', '/referrals')).value;

  beforeAll(async () => {
    sandbox = await startPartnerCenterSandbox({ port: 0 });
    client = new ReferralsClient({
      baseUrl: sandbox.url,
      tokenProvider: new StaticTokenProvider('t0ken'),
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      solutionsPath: '/_sandbox/solutions',
    });
  });
  afterAll(() => sandbox.close());
  beforeEach(async () => {
    await control('DELETE', '/referrals');
    await control('DELETE', '/faults');
  });

  it('creates the co-sell referral and its connected Microsoft referral in one engagement', async () => {
    const { referral, microsoft } = await client.createCoSell(coSellBody(), { requestId: 'crm:opportunity:opp-1' });
    expect(referral).toMatchObject({ type: 'Shared', status: 'Active', externalReferenceId: 'opp-1' });
    expect(referral.details?.requirements?.solutions).toEqual([{ type: 'Name', id: 'SOL-34104-EBB', name: 'Cloud Migration Factory' }]);
    expect(microsoft).toMatchObject({ engagementId: referral.engagementId, organizationId: 'msft', status: 'New', substatus: 'Pending' });
    expect(microsoft.target).toEqual([{ type: 'BusinessProfileLocation', id: 'msft' }]);
    const seen = await control('GET', `/microsoft/engagements/${String(referral.engagementId)}`);
    expect(seen.id).toBe(microsoft.id);
  });

  it('repeating the operation with the same request id creates nothing new', async () => {
    const first = await client.createCoSell(coSellBody(), { requestId: 'crm:opportunity:opp-2' });
    const again = await client.createCoSell(coSellBody(), { requestId: 'crm:opportunity:opp-2' });
    expect([again.referral.id, again.microsoft.id]).toEqual([first.referral.id, first.microsoft.id]);
    expect((await everything()).length).toBe(2);
  });

  it('recovers a crash between the two calls: the retry finds the first referral and connects Microsoft once', async () => {
    const orphan = await client.create(coSellBody('opp-3'), { requestId: 'crm:opportunity:opp-3' });
    expect((await everything()).length).toBe(1);
    const { referral, microsoft } = await client.createCoSell(coSellBody('opp-3'), { requestId: 'crm:opportunity:opp-3' });
    expect(referral.id).toBe(orphan.id);
    expect(microsoft.engagementId).toBe(orphan.engagementId);
    // connectMicrosoft on its own, without any key, finds Microsoft's side instead of adding another.
    expect((await client.connectMicrosoft(referral)).id).toBe(microsoft.id);
    expect((await everything()).length).toBe(2);
  });

  it('refuses a co-sell body without a Microsoft solution before sending anything', async () => {
    const body = coSellBody();
    body.details = { ...body.details, requirements: { solutions: [] } };
    await expect(client.createCoSell(body, { requestId: 'k' })).rejects.toThrow(/Solution ID is required/);
    await expect(client.createCoSell({ ...coSellBody(), type: 'Independent' }, { requestId: 'k' })).rejects.toBeInstanceOf(InvalidReferralError);
    expect(await everything()).toEqual([]);
  });

  it('surfaces the sandbox\'s documented error for a solution the partner does not own', async () => {
    const body = coSellBody();
    body.details = { ...body.details, requirements: { solutions: [{ type: 'Name', id: 'SOL-NOT-OURS' }] } };
    await expect(client.createCoSell(body, { requestId: 'k2' })).rejects.toMatchObject({ status: 400, code: 'invalidRequest' });
  });

  it('lists the partner\'s solutions, with co-sell readiness', async () => {
    const solutions = await client.listSolutions();
    expect(solutions).toContainEqual({ id: 'SOL-34104-EBB', name: 'Cloud Migration Factory', coSellReady: true, solutionType: 'IP' });
    expect(solutions.filter((s) => s.coSellReady === false).map((s) => s.id)).toEqual(['SOL-90001-DRF']);
    const unconfigured = new ReferralsClient({ baseUrl: sandbox.url, tokenProvider: new StaticTokenProvider('t') });
    await expect(unconfigured.listSolutions()).rejects.toBeInstanceOf(SolutionsListUnavailableError);
  });

  it('accepts, declines with a reason, and closes Won/Lost with a reason', async () => {
    const incoming = await control<Row>('POST', '/referrals/incoming', { microsoftSide: false });
    const accepted = await client.accept(String(incoming.id));
    expect(accepted.referral).toMatchObject({ status: 'Active', substatus: 'Accepted' });
    const won = await client.close(String(incoming.id), 'Won', 'Signed a three-year agreement', { ifMatch: accepted.eTag as string });
    expect(won.referral).toMatchObject({ status: 'Closed', substatus: 'Won', statusReason: 'Signed a three-year agreement' });

    const other = await control<Row>('POST', '/referrals/incoming', { microsoftSide: false });
    expect(() => client.decline(String(other.id), ' ')).toThrow(InvalidReferralError);
    const declined = await client.decline(String(other.id), 'Outside our region');
    expect(declined.referral).toMatchObject({ status: 'Closed', substatus: 'Declined', statusReason: 'Outside our region' });

    const { referral } = await client.createCoSell(coSellBody('opp-4'), { requestId: 'crm:opportunity:opp-4' });
    const lost = await client.close(referral.id, 'Lost', 'Customer chose a competitor');
    expect(lost.referral).toMatchObject({ substatus: 'Lost', statusReason: 'Customer chose a competitor' });
    await expect(client.close(referral.id, 'Won', undefined)).rejects.toMatchObject({ status: 400, code: 'invalidRequest' });
  });
});

describe('ReferralsClient.createCoSell when the second call fails', () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('throws MicrosoftConnectionError holding the created referral, and the retry reuses both request ids', async () => {
    const created: unknown = JSON.parse(DOC_CREATE_RESPONSE_JSON);
    const microsoft = { id: 'ms-1', engagementId: '37ef26aa-1d15-4533-9f93-a69bd33ab1e5', organizationId: 'msft', target: [{ type: 'BusinessProfileLocation', id: 'msft' }] };
    let lists = 0;
    server = await startScriptedServer((request) => {
      if (request.method === 'POST') {
        const body = JSON.parse(request.body) as Row;
        return { status: 200, body: Array.isArray(body.target) && (body.target[0] as Row).id === 'msft' ? microsoft : created };
      }
      lists += 1;
      return lists === 1 ? { status: 403, body: { error: { code: 'accessDenied', message: 'no' } } } : { status: 200, body: { value: [] } };
    });
    const client = new ReferralsClient({ baseUrl: server.url, tokenProvider: new StaticTokenProvider('t'), retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    const failure = await client.createCoSell(coSellBody(), { requestId: 'key-9' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MicrosoftConnectionError);
    expect((failure as MicrosoftConnectionError).referral.id).toBe('4111fffc-f9ee-4d53-bba6-569135228642');

    const done = await client.createCoSell(coSellBody(), { requestId: 'key-9' });
    expect(done.microsoft.id).toBe('ms-1');
    const posts = server.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.headers['ms-requestid'])).toEqual(['key-9', 'key-9', 'key-9:microsoft']);
    const connected = JSON.parse(posts[2]?.body ?? '{}') as Row;
    expect(connected).toMatchObject({ type: 'Shared', engagementId: '37ef26aa-1d15-4533-9f93-a69bd33ab1e5', target: [{ type: 'BusinessProfileLocation', id: 'msft' }] });
  });
});

describe('co-sell response schemas at the edge', () => {
  it('keep newer and unknown fields, and any sales stage spelling', () => {
    const parsed = referralSchema.parse({
      id: 'r1',
      salesStage: 'Negotiated',
      partnerRole: ['Deployment services'],
      solutionArea: { id: 'AI Business Solutions' },
      solutionPlay: 'Copilot and AI Agents',
      marketplacePurchaseIntent: { intent: 'Purchase' },
    });
    expect(parsed).toMatchObject({ salesStage: 'Negotiated', partnerRole: ['Deployment services'], marketplacePurchaseIntent: { intent: 'Purchase' } });
    expect(referralSchema.parse({ id: 'r2', salesStage: '100' }).salesStage).toBe('100');
    expect(partnerSolutionSchema.parse({ id: 'SOL-1', name: 'n', coSellReady: true, publisher: 'x' })).toEqual({ id: 'SOL-1', name: 'n', coSellReady: true, publisher: 'x' });
    expect(partnerSolutionSchema.safeParse({ name: 'no id' }).success).toBe(false);
  });

  it("recognises Microsoft's side by owner or by target, never another partner's", () => {
    expect(isMicrosoftSide({ organizationId: 'MSFT', target: [] })).toBe(true);
    expect(isMicrosoftSide({ organizationId: 'partner', target: [{ type: 'BusinessProfileLocation', id: 'msft' }] })).toBe(true);
    expect(isMicrosoftSide({ organizationId: 'other-partner', target: [{ type: 'SolutionProfile', id: 'msft' }] })).toBe(false);
  });
});
