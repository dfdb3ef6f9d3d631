import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../../src/sandbox/dataverse/index.ts';
import { dataverseAs } from '../../support/dataverse-identities.ts';
import { sleep, startHarness, waitFor, WebhookReceiver, type SandboxHarness } from './helpers.ts';

interface KeyValue<T = unknown> {
  key: string;
  value: T;
}
interface WireEntity {
  Attributes: KeyValue[];
  Id: string;
  LogicalName: string;
}
interface ExecutionContext {
  MessageName: string;
  PrimaryEntityName: string;
  PrimaryEntityId: string;
  UserId: string;
  InitiatingUserId: string;
  CorrelationId: string;
  Depth: number;
  Stage: number;
  Mode: number;
  OperationCreatedOn: string;
  InputParameters: Array<KeyValue<WireEntity>>;
  PostEntityImages: Array<KeyValue<WireEntity>>;
  PreEntityImages: Array<KeyValue<WireEntity>>;
  OwningExtension: { Id: string; LogicalName: string };
}
interface Delivery {
  status: string;
  attempts: Array<{ statusCode: number | null }>;
}

const attribute = (entity: WireEntity | undefined, key: string): unknown => entity?.Attributes.find((pair) => pair.key === key)?.value;

let h: SandboxHarness;
let receiver: WebhookReceiver;

/**
 * What `cosell setup dynamics` does (Dataverse "Register a webhook"): look up message + filter ids, create the
 * endpoint, the step and a post-image.
 */
async function registerStep(message: 'Create' | 'Update' | 'Win', endpointId: string, options: { filteringattributes?: string; image?: boolean } = {}): Promise<string> {
  const messages = await h.api.retrieveMultiple<{ sdkmessageid: string }>({ collection: 'sdkmessages', select: ['sdkmessageid'], filter: `name eq '${message}'` });
  const messageId = messages.value[0]?.sdkmessageid ?? '';
  const filters = await h.api.retrieveMultiple<{ sdkmessagefilterid: string }>({
    collection: 'sdkmessagefilters',
    select: ['sdkmessagefilterid'],
    filter: `primaryobjecttypecode eq 'opportunity' and _sdkmessageid_value eq ${messageId}`,
  });
  const stepId: string = await h.api.create({
    collection: 'sdkmessageprocessingsteps',
    data: {
      name: `cosell-sync: ${message} of opportunity`,
      mode: 1,
      stage: 40,
      rank: 1,
      supporteddeployment: 0,
      asyncautodelete: false,
      ...(options.filteringattributes ? { filteringattributes: options.filteringattributes } : {}),
      'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
      'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
      'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filters.value[0]?.sdkmessagefilterid ?? ''})`,
    },
  });
  if (options.image) {
    await h.api.create({
      collection: 'sdkmessageprocessingstepimages',
      data: { name: 'PostImage', entityalias: 'PostImage', imagetype: 1, messagepropertyname: 'Target', attributes: 'name,estimatedvalue,statecode', 'sdkmessageprocessingstepid@odata.bind': `/sdkmessageprocessingsteps(${stepId})` },
    });
  }
  return stepId;
}

async function createEndpoint(authtype: number, authvalue: string): Promise<string> {
  return h.api.create({ collection: 'serviceendpoints', data: { name: `cosell-sync ${authtype}`, url: receiver.url, contract: 8, authtype, authvalue, messageformat: 2 } });
}

async function deliveries(): Promise<Delivery[]> {
  return (await h.control<{ value: Delivery[] }>('GET', '/_sandbox/webhooks/deliveries')).body.value;
}

beforeAll(async () => {
  h = await startHarness({ webhookRetryDelayMs: 20 });
  receiver = await new WebhookReceiver().start();
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});
beforeEach(async () => {
  await h.control('DELETE', '/_sandbox/data');
  await h.control('DELETE', '/_sandbox/webhooks/deliveries');
  receiver.received.length = 0;
  receiver.respond = () => 200;
});

describe('webhook delivery (RemoteExecutionContext)', () => {
  it('posts the documented context with the HttpHeader auth, images and the acting user', async () => {
    const endpointId = await createEndpoint(5, '<settings><setting name="x-cosell-secret" value="s3cret" /></settings>');
    const createStep = await registerStep('Create', endpointId);
    await registerStep('Update', endpointId, { image: true });

    // 1. The sync service (application user) creates a row.
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'Hooked', estimatedvalue: 900, estimatedclosedate: '2026-12-31' } });
    const created = await waitFor(() => receiver.received[0], 5_000, 'the Create webhook');
    const createContext = created.json as unknown as ExecutionContext;
    expect(created.headers['x-cosell-secret']).toBe('s3cret');
    expect(created.headers['x-ms-dynamics-entity-name']).toBe('opportunity');
    expect(created.headers['x-ms-dynamics-request-name']).toBe('Create');
    expect(created.headers['x-ms-correlation-request-id']).toBe(createContext.CorrelationId);
    expect(createContext).toMatchObject({ MessageName: 'Create', PrimaryEntityName: 'opportunity', PrimaryEntityId: id, Stage: 40, Mode: 1, Depth: 1 });
    expect(createContext.OwningExtension).toMatchObject({ Id: createStep, LogicalName: 'sdkmessageprocessingstep' });
    expect(createContext.UserId).toBe(SANDBOX_USERS.application.id);
    expect(createContext.InitiatingUserId).toBe(SANDBOX_USERS.application.id);
    const target = createContext.InputParameters.find((pair) => pair.key === 'Target')?.value;
    expect(attribute(target, 'name')).toBe('Hooked');
    expect(attribute(target, 'estimatedvalue')).toMatchObject({ Value: 900 });
    // WCF JSON: dates as \/Date(ms)\/ with escaped slashes on the wire.
    expect(created.rawBody).toMatch(/"OperationCreatedOn":"\\\/Date\(\d+\+0000\)\\\/"/);
    expect(attribute(target, 'estimatedclosedate')).toBe(`/Date(${Date.UTC(2026, 11, 31)})/`);

    // 2. A seller changes the name in the CRM (control API): the context names the seller, and carries the post-image.
    await h.control('PATCH', `/_sandbox/records/opportunities/${id}`, { name: 'Renamed by seller' });
    const updated = await waitFor(() => receiver.received[1], 5_000, 'the Update webhook');
    const updateContext = updated.json as unknown as ExecutionContext;
    expect(updateContext.MessageName).toBe('Update');
    expect(updateContext.UserId).toBe(SANDBOX_USERS.seller.id);
    expect(updateContext.InitiatingUserId).toBe(SANDBOX_USERS.seller.id);
    const updateTarget = updateContext.InputParameters[0]?.value;
    expect(attribute(updateTarget, 'name')).toBe('Renamed by seller');
    expect(attribute(updateTarget, 'estimatedvalue')).toBeUndefined();
    expect(attribute(updateTarget, 'modifiedby')).toMatchObject({ Id: SANDBOX_USERS.seller.id, LogicalName: 'systemuser' });
    const postImage = updateContext.PostEntityImages.find((pair) => pair.key === 'PostImage')?.value;
    expect(attribute(postImage, 'name')).toBe('Renamed by seller');
    expect(attribute(postImage, 'estimatedvalue')).toMatchObject({ Value: 900 });
    expect(attribute(postImage, 'statecode')).toMatchObject({ Value: 0 });
    expect(updateContext.PostEntityImages.map((pair) => pair.key)).toContain('AsynchronousStepPrimaryName');
  });

  it('names whoever holds the token: a signed-in seller or another integration, each its own user', async () => {
    const endpointId = await createEndpoint(5, '<settings><setting name="x-cosell-secret" value="who" /></settings>');
    await registerStep('Update', endpointId);
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'Whose edit' } });
    const seller = await dataverseAs(h.sandbox.url, { seller: SANDBOX_USERS.seller.domainname });
    await seller.update({ collection: 'opportunities', key: id, data: { name: 'Edited by Alex in Outlook' } });
    const bySeller = (await waitFor(() => receiver.received[0], 5_000, 'the seller’s Update webhook')).json as unknown as ExecutionContext;
    expect(bySeller).toMatchObject({ UserId: SANDBOX_USERS.seller.id, InitiatingUserId: SANDBOX_USERS.seller.id, Depth: 1 });
    const other = await dataverseAs(h.sandbox.url, { clientId: SANDBOX_USERS.otherIntegration.applicationid ?? '' });
    await other.update({ collection: 'opportunities', key: id, data: { name: 'Scored by marketing' } });
    const byOther = (await waitFor(() => receiver.received[1], 5_000, 'the integration’s Update webhook')).json as unknown as ExecutionContext;
    expect(byOther).toMatchObject({ UserId: SANDBOX_USERS.otherIntegration.id, InitiatingUserId: SANDBOX_USERS.otherIntegration.id });
  });

  it('honours filteringattributes: only updates that send a listed column fire', async () => {
    const endpointId = await createEndpoint(4, 'function-key');
    await registerStep('Update', endpointId, { filteringattributes: 'estimatedvalue,statecode' });
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'Filtered' } });
    await h.api.update({ collection: 'opportunities', key: id, data: { description: 'not a filtering attribute' } });
    await sleep(150);
    expect(receiver.received).toHaveLength(0);
    await h.api.update({ collection: 'opportunities', key: id, data: { estimatedvalue: 42 } });
    const received = await waitFor(() => receiver.received[0], 5_000, 'the filtered Update webhook');
    // WebhookKey auth travels as ?code=.
    expect(new URL(received.url, 'http://x').searchParams.get('code')).toBe('function-key');
    expect(receiver.received).toHaveLength(1);
  });

  it('retries once after a 503, and records a failed System Job after a 500 without retrying', async () => {
    const endpointId = await createEndpoint(6, '<settings><setting name="token" value="q" /></settings>');
    await registerStep('Create', endpointId);
    receiver.respond = (index) => (index === 0 ? 503 : 200);
    await h.api.create({ collection: 'opportunities', data: { name: 'Retried' } });
    const delivered = await waitFor(() => receiver.received[1], 5_000, 'the retried delivery');
    expect(new URL(delivered.url, 'http://x').searchParams.get('token')).toBe('q');
    const log = await waitForDeliveries((items) => items[0]?.status === 'delivered');
    expect(log[0]?.attempts.map((attempt) => attempt.statusCode)).toEqual([503, 200]);

    receiver.received.length = 0;
    receiver.respond = () => 500;
    const failedId: string = await h.api.create({ collection: 'opportunities', data: { name: 'Failed' } });
    const failedLog = await waitForDeliveries((items) => items.some((item) => item.status === 'failed'));
    expect(failedLog.find((item) => item.status === 'failed')?.attempts).toHaveLength(1);
    const jobs = await h.api.retrieveMultiple<{ statuscode: number; _regardingobjectid_value: string }>({ collection: 'asyncoperations', filter: 'statuscode eq 31' });
    expect(jobs.value.map((job) => job._regardingobjectid_value)).toEqual([failedId]);
  });

  it('passes the tag parameter as a shared variable, and drops deliveries under an injected delivery fault', async () => {
    const endpointId = await createEndpoint(5, '<settings><setting name="x-cosell-secret" value="t" /></settings>');
    await registerStep('Create', endpointId);
    await h.api.create({ collection: 'opportunities', data: { name: 'Tagged' }, tag: 'cosell-sync' });
    const tagged = await waitFor(() => receiver.received[0], 5_000, 'the tagged webhook');
    expect(tagged.json.SharedVariables).toEqual([{ key: 'tag', value: 'cosell-sync' }]);

    await h.control('POST', '/_sandbox/faults', { delivery: { dropRate: 1 } });
    try {
      await h.api.create({ collection: 'opportunities', data: { name: 'Dropped' } });
      const log = await waitForDeliveries((items) => items.some((item) => item.status === 'dropped'));
      expect(log.filter((item) => item.status === 'dropped')).toHaveLength(1);
      await sleep(100);
      expect(receiver.received).toHaveLength(1);
    } finally {
      await h.control('DELETE', '/_sandbox/faults');
    }
  });

  it('announces WinOpportunity as a Win message on opportunity', async () => {
    const endpointId = await createEndpoint(5, '<settings><setting name="x-cosell-secret" value="w" /></settings>');
    await registerStep('Win', endpointId);
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'To win' } });
    await h.api.callAction({ actionName: 'WinOpportunity', action: { Status: 3, OpportunityClose: { subject: 'won', 'opportunityid@odata.bind': `/opportunities(${id})` } } });
    const win = await waitFor(() => receiver.received[0], 5_000, 'the Win webhook');
    const context = win.json as unknown as ExecutionContext;
    expect(context).toMatchObject({ MessageName: 'Win', PrimaryEntityName: 'opportunity', PrimaryEntityId: id });
    expect(context.InputParameters.map((pair) => pair.key)).toEqual(['OpportunityClose', 'Status']);
  });
});

async function waitForDeliveries(done: (items: Delivery[]) => boolean): Promise<Delivery[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const items = await deliveries();
    if (done(items)) return items;
    if (Date.now() > deadline) throw new Error(`deliveries did not settle: ${JSON.stringify(items)}`);
    await sleep(20);
  }
}
