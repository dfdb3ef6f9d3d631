import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSink, CrmRecordRef } from '../../../../src/crm/connector.ts';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import type { SalesforceConnector } from '../../../../src/crm/salesforce/salesforce-connector.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { sellerOpportunity, startHarness, waitFor, type Harness, type Row } from './helpers.ts';

const OPPORTUNITY_KEY = 'salesforce:cdc:/data/OpportunityChangeEvent';
const LEAD_KEY = 'salesforce:cdc:/data/LeadChangeEvent';

interface Recorded {
  refs: CrmRecordRef[];
  key: string;
  cursor: string;
}

/** The engine's side of the stream, in memory: cursors persist across stream restarts like the store's would. */
class MemorySink implements ChangeSink {
  readonly cursors = new Map<string, string>();
  readonly recorded: Recorded[] = [];
  readonly reconciles: string[] = [];
  failures = 0;

  async cursor(key: string): Promise<string | null> {
    return this.cursors.get(key) ?? null;
  }

  async record(refs: readonly CrmRecordRef[], key: string, cursor: string): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('store unavailable');
    }
    this.recorded.push({ refs: [...refs], key, cursor });
    this.cursors.set(key, cursor);
  }

  requestReconcile(reason: string): void {
    this.reconciles.push(reason);
  }

  refsFor(id: string): Recorded[] {
    return this.recorded.filter((entry) => entry.refs.some((ref) => ref.id === id));
  }
}

describe('Change Data Capture stream', () => {
  let h: Harness;
  let connector: SalesforceConnector;
  const stops: Array<() => Promise<void>> = [];

  const start = async (sink: ChangeSink): Promise<() => Promise<void>> => {
    const stop = await connector.startChangeStream(sink);
    stops.push(stop);
    return stop;
  };
  const seller = async (sobject: string, body: Row): Promise<string> => String((await h.control<Row>('POST', `/_sandbox/records/${sobject}`, body)).body.Id);
  const sellerEdit = async (sobject: string, id: string, body: Row): Promise<void> => {
    expect((await h.control('PATCH', `/_sandbox/records/${sobject}/${id}`, body)).status).toBe(200);
  };
  const latestReplayId = async (): Promise<number> => (await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events')).body.latestReplayId;

  beforeAll(async () => {
    h = await startHarness({ streamingLongPollMs: 1_000 });
    await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    connector = await h.connect({}, { sameSecondSettleMs: 0, streamBackoff: { baseMs: 50, maxMs: 200 } });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await h.control('DELETE', '/_sandbox/faults');
  });
  afterAll(async () => h.close());

  it("delivers a seller's edit as refs with the event's replay id, on the opportunity and lead channels", async () => {
    const sink = new MemorySink();
    await start(sink);
    const id = await seller('Opportunity', sellerOpportunity());
    await sellerEdit('Opportunity', id, { Amount: 61_000 });
    const lead = await seller('Lead', { LastName: 'Streamed', Company: 'Stream Co', Status: 'Open - Not Contacted' });

    await waitFor(() => sink.refsFor(id).length >= 2 && sink.refsFor(lead).length >= 1, 5_000, 'the three change events');
    expect(sink.refsFor(id).map((entry) => entry.key)).toEqual([OPPORTUNITY_KEY, OPPORTUNITY_KEY]);
    expect(sink.refsFor(id)[0]?.refs).toEqual([{ entity: 'opportunity', id }]);
    expect(sink.refsFor(lead)).toEqual([{ refs: [{ entity: 'lead', id: lead }], key: LEAD_KEY, cursor: String(await latestReplayId()) }]);
    const cursors = sink.recorded.filter((entry) => entry.key === OPPORTUNITY_KEY).map((entry) => Number(entry.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    expect(sink.reconciles).toEqual([]);
  });

  it('advances the replay id for our own (client-tagged) writes without enqueueing anything', async () => {
    const id = await seller('Opportunity', sellerOpportunity());
    const sink = new MemorySink();
    await start(sink);
    const record = await connector.read({ entity: 'opportunity', id }, [{ name: 'Amount' }]);
    await connector.update({ entity: 'opportunity', id }, { Amount: 5 }, record?.version ?? null, { ok: true, auditLines: ['synced'] });
    const replayId = String(await latestReplayId());
    await waitFor(() => sink.cursors.get(OPPORTUNITY_KEY) === replayId, 5_000, 'our own event');
    expect(sink.recorded).toEqual([{ refs: [], key: OPPORTUNITY_KEY, cursor: replayId }]);
  });

  it('resumes from the persisted replay id after a stop and gets the change made while stopped, nothing older', async () => {
    const sink = new MemorySink();
    const stop = await start(sink);
    const id = await seller('Opportunity', sellerOpportunity());
    await waitFor(() => sink.refsFor(id).length === 1, 5_000, 'the create event');
    const persisted = sink.cursors.get(OPPORTUNITY_KEY);
    await stop();
    await waitFor(async () => (await h.control<{ subscribers: number }>('GET', '/_sandbox/cdc/events')).body.subscribers === 0, 5_000, 'the disconnect');

    await sellerEdit('Opportunity', id, { Description: 'changed while nobody listened' });
    const missed = String(await latestReplayId());
    sink.recorded.length = 0;
    await start(sink);
    await waitFor(() => sink.cursors.get(OPPORTUNITY_KEY) === missed, 5_000, 'the missed event');
    expect(sink.recorded).toEqual([{ refs: [{ entity: 'opportunity', id }], key: OPPORTUNITY_KEY, cursor: missed }]);
    expect(Number(missed)).toBeGreaterThan(Number(persisted));
  });

  it('requests a reconcile for gap and overflow events, still enqueueing the records a gap names', async () => {
    const sink = new MemorySink();
    await start(sink);
    const id = await seller('Opportunity', sellerOpportunity());
    await waitFor(() => sink.refsFor(id).length === 1, 5_000, 'the create event');
    expect((await h.control('POST', '/_sandbox/cdc/gap', { entity: 'Opportunity', changeType: 'GAP_UPDATE', recordIds: [id] })).status).toBe(201);
    expect((await h.control('POST', '/_sandbox/cdc/gap', { entity: 'Opportunity', changeType: 'GAP_OVERFLOW' })).status).toBe(201);
    const overflow = String(await latestReplayId());
    await waitFor(() => sink.cursors.get(OPPORTUNITY_KEY) === overflow, 5_000, 'the overflow event');
    expect(sink.reconciles).toEqual(['Salesforce CDC GAP_UPDATE on /data/OpportunityChangeEvent', 'Salesforce CDC GAP_OVERFLOW on /data/OpportunityChangeEvent']);
    expect(sink.refsFor(id)).toHaveLength(2);
    expect(sink.recorded.at(-1)).toEqual({ refs: [], key: OPPORTUNITY_KEY, cursor: overflow });
  });

  it('replaces a replay id Salesforce no longer retains with -1 and asks for a reconcile', async () => {
    const sink = new MemorySink();
    sink.cursors.set(OPPORTUNITY_KEY, '99999999');
    await start(sink);
    expect(sink.reconciles).toEqual(['Salesforce CDC replay id 99999999 on /data/OpportunityChangeEvent is no longer available']);
    const id = await seller('Opportunity', sellerOpportunity());
    await waitFor(() => sink.refsFor(id).length === 1, 5_000, 'a new event after resubscribing');
  });

  it('resubscribes from the last committed replay id when recording fails, so the event is not lost', async () => {
    const sink = new MemorySink();
    await start(sink);
    sink.failures = 1;
    const id = await seller('Opportunity', sellerOpportunity());
    await waitFor(() => sink.refsFor(id).length === 1, 5_000, 'the redelivered event');
    expect(sink.cursors.get(OPPORTUNITY_KEY)).toBe(String(await latestReplayId()));
  });

  it('re-authenticates and resubscribes when the session expires under a live subscription', async () => {
    const sink = new MemorySink();
    await start(sink);
    const before = await seller('Opportunity', sellerOpportunity());
    await waitFor(() => sink.refsFor(before).length === 1, 5_000, 'the first event');
    h.calls.length = 0;
    expect((await h.control('DELETE', '/_sandbox/tokens')).status).toBe(200);
    await waitFor(() => h.calls.some((call) => call.route === 'oauth2/token' && call.status === 200), 8_000, 'a new grant');
    const after = await seller('Opportunity', sellerOpportunity());
    await waitFor(() => sink.refsFor(after).length === 1, 8_000, 'an event on the new session');
    expect(sink.refsFor(before)).toHaveLength(1);
  });

  it('is a no-op when notifications come as outbound messages', async () => {
    const outbound = await h.connect({ notifications: 'outbound-messages', organizationId: h.sandbox.organizationId, outboundMessageSecret: 'env:COSELL_SF_OUTBOUND_SECRET' });
    const sink = new MemorySink();
    const stop = await outbound.startChangeStream(sink);
    await seller('Opportunity', sellerOpportunity());
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sink.recorded).toEqual([]);
    await stop();
  });
});
