import type { Client } from 'faye';
import { StreamingExtension } from 'jsforce/api/streaming';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../../src/sandbox/salesforce/index.ts';
import { API_VERSION, CLIENT_TAG, opportunity, startHarness, waitFor, type SalesforceHarness } from './helpers.ts';

interface ChangeEventMessage {
  schema: string;
  event: { replayId: number };
  payload: {
    ChangeEventHeader: {
      entityName: string;
      recordIds: string[];
      changeType: string;
      changeOrigin: string;
      transactionKey: string;
      sequenceNumber: number;
      commitTimestamp: number;
      commitNumber: number;
      commitUser: string;
      changedFields: string[];
      nulledFields: string[];
      diffFields: string[];
    };
    [field: string]: unknown;
  };
}

const CHANNEL = '/data/OpportunityChangeEvent';

describe('Change Data Capture over CometD, through jsforce streaming', () => {
  let h: SalesforceHarness;
  const clients: Client[] = [];

  /** A faye client from jsforce with the Replay extension, like a subscriber resuming from a stored replay id. */
  const replayClient = (channel: string, replayId: number): Client => {
    const client = h.conn.streaming.createClient([new StreamingExtension.Replay(channel, replayId)]);
    clients.push(client);
    return client;
  };

  const disconnect = (client: Client): void => {
    (client as unknown as { disconnect(): void }).disconnect();
  };

  beforeAll(async () => {
    h = await startHarness({ streamingLongPollMs: 10_000 });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) disconnect(client);
    for (const client of Object.values(h.conn.streaming._fayeClients)) disconnect(client);
    h.conn.streaming._fayeClients = {};
  });
  afterAll(async () => h.close());

  it("delivers a seller's update on /data/OpportunityChangeEvent with changedFields and only the changed values", async () => {
    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity());
    const received: ChangeEventMessage[] = [];
    const subscription = h.conn.streaming.channel(CHANNEL).subscribe((message: ChangeEventMessage) => received.push(message));
    await subscription;
    const patched = await h.control('PATCH', `/_sandbox/records/Opportunity/${id}`, { Amount: 61_000, StageName: 'Closed Won', Description: 'Signed' });
    expect(patched.status).toBe(200);
    const [event] = await waitFor(() => received.length > 0 && received, 5_000, 'the change event');
    expect(event?.payload.ChangeEventHeader).toMatchObject({
      entityName: 'Opportunity',
      recordIds: [id],
      changeType: 'UPDATE',
      changeOrigin: `com/salesforce/api/soap/${API_VERSION};client=SfdcInternalAPI/`,
      commitUser: SANDBOX_USERS.seller.id,
      sequenceNumber: 1,
      nulledFields: [],
    });
    expect([...(event?.payload.ChangeEventHeader.changedFields ?? [])].sort()).toEqual(
      ['Amount', 'Description', 'ForecastCategory', 'ForecastCategoryName', 'IsClosed', 'IsWon', 'LastModifiedById', 'LastModifiedDate', 'Probability', 'StageName'].sort(),
    );
    expect(event?.payload).toMatchObject({ Amount: 61_000, StageName: 'Closed Won', IsWon: true, Description: 'Signed' });
    expect(event?.payload.Name).toBeUndefined();
    expect(String(event?.payload.LastModifiedDate)).toMatch(/Z$/);
    expect(event?.event.replayId).toBeGreaterThan(0);
    expect(event?.schema).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('tags our own API writes with the Sforce-Call-Options client in changeOrigin, and sends CREATE and DELETE events', async () => {
    const received: ChangeEventMessage[] = [];
    await h.conn.streaming.channel(CHANNEL).subscribe((message: ChangeEventMessage) => received.push(message));
    const tagged = h.connection({ callOptions: { client: CLIENT_TAG } });
    const { id = '' } = await tagged.sobject('Opportunity').create(opportunity({ Name: 'Tagged' }));
    await tagged.sobject('Opportunity').update({ Id: id, Amount: 1 });
    await tagged.sobject('Opportunity').destroy(id);
    await waitFor(() => received.length >= 3, 5_000, 'three change events');
    const headers = received.map((message) => message.payload.ChangeEventHeader);
    expect(headers.map((header) => header.changeType)).toEqual(['CREATE', 'UPDATE', 'DELETE']);
    expect(new Set(headers.map((header) => header.changeOrigin))).toEqual(new Set([`com/salesforce/api/rest/${API_VERSION};client=${CLIENT_TAG}`]));
    expect(headers.every((header) => header.commitUser === SANDBOX_USERS.integration.id)).toBe(true);
    expect(received[0]?.payload).toMatchObject({ Name: 'Tagged', StageName: 'Prospecting', CloseDate: '2026-12-31', OwnerId: SANDBOX_USERS.integration.id });
    expect(Object.keys(received[2]?.payload ?? {})).toEqual(['ChangeEventHeader']);
    expect(received.map((message) => message.event.replayId)).toEqual([...received.map((message) => message.event.replayId)].sort((a, b) => a - b));
  });

  it('resumes from a stored replay id after a disconnect and gets exactly the events in between', async () => {
    const first: ChangeEventMessage[] = [];
    const client = replayClient(CHANNEL, -1);
    await client.subscribe(CHANNEL, (message: ChangeEventMessage) => first.push(message));
    expect((await h.control('POST', '/_sandbox/records/Opportunity', opportunity({ Name: 'Resume me' }))).status).toBe(201);
    await waitFor(() => first.length === 1, 5_000, 'the create event');
    const stored = first[0]?.event.replayId ?? 0;
    const recordId = first[0]?.payload.ChangeEventHeader.recordIds[0] ?? '';
    disconnect(client);
    await waitFor(async () => (await h.control<{ subscribers: number }>('GET', '/_sandbox/cdc/events')).body.subscribers === 0, 5_000, 'the disconnect');

    await h.control('PATCH', `/_sandbox/records/Opportunity/${recordId}`, { Amount: 1 });
    await h.control('PATCH', `/_sandbox/records/Opportunity/${recordId}`, { Amount: 2 });

    const resumed: ChangeEventMessage[] = [];
    const again = replayClient(CHANNEL, stored);
    await again.subscribe(CHANNEL, (message: ChangeEventMessage) => resumed.push(message));
    await waitFor(() => resumed.length >= 2, 5_000, 'the missed events');
    expect(resumed.map((message) => message.event.replayId)).toEqual([stored + 1, stored + 2]);
    expect(resumed.map((message) => message.payload.Amount)).toEqual([1, 2]);
  });

  it('replays everything retained with -2 and refuses a replay id outside the retention window', async () => {
    const all: ChangeEventMessage[] = [];
    const client = replayClient(CHANNEL, -2);
    await client.subscribe(CHANNEL, (message: ChangeEventMessage) => all.push(message));
    const log = await h.control<{ value: Array<{ replayId: number; entityName: string }> }>('GET', '/_sandbox/cdc/events');
    const expected = log.body.value.filter((event) => event.entityName === 'Opportunity').map((event) => event.replayId);
    await waitFor(() => all.length >= expected.length, 5_000, 'the retained events');
    expect(all.map((message) => message.event.replayId)).toEqual(expected);

    const future = replayClient(CHANNEL, 9_999_999);
    const failure = await future.subscribe(CHANNEL, () => undefined).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String((failure as { message?: string }).message)).toContain('The replayId {9999999} you provided was invalid');
  });

  it('delivers injected gap and overflow events, and every entity on /data/ChangeEvents', async () => {
    const received: ChangeEventMessage[] = [];
    await h.conn.streaming.channel('/data/ChangeEvents').subscribe((message: ChangeEventMessage) => received.push(message));
    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity({ Name: 'Gap target' }));
    await h.control('POST', '/_sandbox/cdc/gap', { entity: 'Opportunity', changeType: 'GAP_UPDATE', recordIds: [id] });
    await h.control('POST', '/_sandbox/cdc/gap', { entity: 'Lead', changeType: 'GAP_OVERFLOW' });
    await h.conn.sobject('Account').create({ Name: 'Streamed account', BillingCity: 'Oslo' });
    await waitFor(() => received.length >= 4, 5_000, 'four events');
    expect(received.map((message) => [message.payload.ChangeEventHeader.entityName, message.payload.ChangeEventHeader.changeType])).toEqual([
      ['Opportunity', 'CREATE'],
      ['Opportunity', 'GAP_UPDATE'],
      ['Lead', 'GAP_OVERFLOW'],
      ['Account', 'CREATE'],
    ]);
    expect(received[1]?.payload.ChangeEventHeader.recordIds).toEqual([id]);
    expect(Object.keys(received[1]?.payload ?? {})).toEqual(['ChangeEventHeader']);
    expect(received[3]?.payload.BillingAddress).toEqual({ Street: null, City: 'Oslo', State: null, PostalCode: null, Country: null });
  });

  it('denies the handshake for an invalid session in the shape jsforce AuthFailure expects', async () => {
    const failures: unknown[] = [];
    const bad = h.connection({ accessToken: 'expired-token' });
    const client = bad.streaming.createClient([new StreamingExtension.AuthFailure((message: unknown) => failures.push(message))]);
    clients.push(client);
    // faye's Subscription is a thenable that never settles here: the refusal arrives through AuthFailure instead.
    void client.subscribe(CHANNEL, () => undefined);
    await waitFor(() => failures.length > 0, 5_000, 'the auth failure');
    expect(failures[0]).toMatchObject({ channel: '/meta/handshake', successful: false, error: '403::Handshake denied', ext: { sfdc: { failureReason: '401::Authentication invalid' } } });
  });
});

describe('change event retention', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness({ cdcRetention: { maxEvents: 3 }, streamingLongPollMs: 10_000 });
  });
  afterAll(async () => h.close());

  it('refuses to resume from a replay id that has aged out, but accepts the last one before the retained window', async () => {
    for (let index = 0; index < 5; index += 1) await h.conn.sobject('Account').create({ Name: `Retained ${index}` });
    const log = await h.control<{ latestReplayId: number; value: Array<{ replayId: number }> }>('GET', '/_sandbox/cdc/events');
    expect(log.body.value.map((event) => event.replayId)).toEqual([3, 4, 5]);
    const subscribe = async (replayId: number): Promise<unknown> => {
      const client = h.conn.streaming.createClient([new StreamingExtension.Replay('/data/AccountChangeEvent', replayId)]);
      try {
        return await client.subscribe('/data/AccountChangeEvent', () => undefined).then(
          () => 'subscribed',
          (error: unknown) => error,
        );
      } finally {
        (client as unknown as { disconnect(): void }).disconnect();
      }
    };
    expect(String(((await subscribe(1)) as { message?: string }).message)).toContain('The replayId {1} you provided was invalid');
    expect(await subscribe(2)).toBe('subscribed');
  });
});
