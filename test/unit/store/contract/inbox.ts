import { expect } from 'vitest';
import type { NewInboxEvent } from '../../../../src/store/types.ts';
import type { ContractCase } from './harness.ts';

export const event = (n: number, overrides: Partial<NewInboxEvent> = {}): NewInboxEvent => ({
  source: 'partner-center',
  dedupKey: `key-${n}`,
  eventName: 'referral-updated',
  resourceId: `ref-${n}`,
  payload: `{"n":${n}}`,
  ...overrides,
});

const STREAM = 'salesforce:cdc:/data/OpportunityChangeEvent';

export const inboxCases: ContractCase[] = [
  {
    name: 'inbox: concurrent appends are deduplicated by (source, dedup key) and count deliveries',
    async run({ store }) {
      const results = await Promise.all([event(1), event(2), event(1), event(3)].map((e) => store.inbox.append(e)));
      expect(results.map((r) => r.duplicate).filter(Boolean)).toHaveLength(1);
      const ids = new Set(results.map((r) => r.id));
      expect(ids.size).toBe(3);
      expect(await store.inbox.append(event(2))).toEqual({ id: results[1]?.id, duplicate: true });
      expect(await store.inbox.count()).toBe(3);
      const listed = await store.inbox.list({ limit: 10 });
      expect(listed.map((e) => e.dedupKey).sort()).toEqual(['key-1', 'key-2', 'key-3']);
      expect(listed.find((e) => e.dedupKey === 'key-1')?.deliveries).toBe(2);
      expect(listed.find((e) => e.dedupKey === 'key-2')?.deliveries).toBe(2);
      expect(listed.find((e) => e.dedupKey === 'key-3')).toMatchObject({ deliveries: 1, eventName: 'referral-updated', resourceId: 'ref-3', payload: '{"n":3}', receivedAt: expect.any(String) });
      // The same key from another source is another event.
      expect((await store.inbox.append(event(1, { source: 'dynamics' }))).duplicate).toBe(false);
      expect(await store.inbox.count('partner-center')).toBe(3);
      expect(await store.inbox.count('dynamics')).toBe(1);
    },
  },
  {
    name: "inbox: an event's jobs are enqueued with it (not again for a redelivery); its watermark commits with it, also for a redelivery",
    async run(t) {
      const { store } = t;
      const jobs = [{ connection: 'dynamics', cause: 'event' as const, referralId: 'ref-1', microsoftSide: false }];
      await store.inbox.append(event(1, { source: 'salesforce', jobs, watermark: { source: STREAM, value: '41' } }));
      expect(await t.pendingJobs()).toEqual([expect.objectContaining({ connection: 'dynamics', referralId: 'ref-1', cause: 'event', microsoftSide: false })]);
      expect(await store.sync.getWatermark(STREAM)).toBe('41');
      const again = await store.inbox.append(event(1, { source: 'salesforce', jobs: [{ ...jobs[0]!, microsoftSide: true }], watermark: { source: STREAM, value: '42' } }));
      expect(again.duplicate).toBe(true);
      expect(await store.sync.getWatermark(STREAM)).toBe('42');
      // The redelivery enqueued nothing: the pending job still does not read Microsoft's side.
      expect(await t.pendingJobs()).toEqual([expect.objectContaining({ referralId: 'ref-1', microsoftSide: false })]);
      expect(Object.keys((await store.inbox.list({ limit: 1 }))[0] ?? {})).not.toContain('watermark');
    },
  },
  {
    name: 'inbox: an append whose jobs cannot be enqueued commits nothing (no event, no watermark)',
    async run(t) {
      const { store } = t;
      const broken = event(9, { jobs: [{ connection: 'dynamics', cause: 'event' }], watermark: { source: STREAM, value: '7' } });
      await expect(store.inbox.append(broken)).rejects.toThrow(/referral id or a CRM record/);
      expect(await store.inbox.count()).toBe(0);
      expect(await store.sync.getWatermark(STREAM)).toBeNull();
      expect(await t.pendingJobs()).toEqual([]);
    },
  },
  {
    name: 'inbox: pages newest first with beforeId and filters by source and resource',
    async run({ store }) {
      for (let i = 1; i <= 5; i++) await store.inbox.append(event(i));
      await store.inbox.append(event(6, { source: 'dynamics' }));
      const page1 = await store.inbox.list({ limit: 2, source: 'partner-center' });
      const page2 = await store.inbox.list({ limit: 2, source: 'partner-center', beforeId: page1[1]?.id });
      expect([...page1, ...page2].map((e) => e.resourceId)).toEqual(['ref-5', 'ref-4', 'ref-3', 'ref-2']);
      expect(await store.inbox.list({ limit: 10, resourceId: 'ref-3' })).toHaveLength(1);
      expect((await store.inbox.list({ limit: 1 }))[0]?.resourceId).toBe('ref-6');
    },
  },
];
