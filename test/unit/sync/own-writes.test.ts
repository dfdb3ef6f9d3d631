import { describe, expect, it } from 'vitest';
import type { Referral } from '../../../src/partner-center/model.ts';
import type { InboxEvent } from '../../../src/store/types.ts';
import { answerIsCurrent, onlyEchoes, OwnReferralWrites, OWN_WRITE_INBOX_PAGE } from '../../../src/sync/run/own-writes.ts';

const SENT_AT = Date.parse('2026-01-01T12:00:00.000Z');
const WRITTEN_AT = '2026-01-01T12:00:00.1234567Z';

function ownWrite(): NonNullable<ReturnType<OwnReferralWrites['get']>> {
  const writes = new OwnReferralWrites();
  writes.record('REF-1', SENT_AT, { eTag: 'e2', referral: { id: 'ref-1', updatedDateTime: WRITTEN_AT } as Referral });
  const write = writes.get('ref-1');
  if (!write) throw new Error('not recorded');
  return write;
}

let nextId = 1;
function notification(changedAt: string, over: { eventName?: string; receivedAt?: number } = {}): InboxEvent {
  const payload = { EventName: over.eventName ?? 'referral-updated', ResourceUri: 'https://pc/engagements/v1/referrals/ref-1', ResourceName: 'referral', AuditUri: null, ResourceChangeUtcDate: changedAt };
  return { id: nextId++, source: 'partner-center', dedupKey: String(nextId), eventName: payload.EventName, resourceId: 'ref-1', payload: JSON.stringify(payload), receivedAt: new Date(over.receivedAt ?? SENT_AT + 500).toISOString(), deliveries: 1 };
}

describe('the echo of our own Partner Center write', () => {
  it('is recognised when every notification since the write announces a change no later than its version', () => {
    expect(onlyEchoes(ownWrite(), [notification('2026-01-01T12:00:00.1234567+00:00')], OWN_WRITE_INBOX_PAGE)).toBe(true);
    // Older notifications (before the PATCH was sent, beyond the clock margin) are not this write's concern.
    expect(onlyEchoes(ownWrite(), [notification('2026-01-01T12:00:00.1234567Z'), notification('2026-01-01T13:00:00Z', { receivedAt: SENT_AT - 3_600_000 })], OWN_WRITE_INBOX_PAGE)).toBe(true);
  });

  it('is not assumed for a change after our write, even within the same millisecond', () => {
    expect(onlyEchoes(ownWrite(), [notification('2026-01-01T12:00:00.1234568Z'), notification(WRITTEN_AT)], OWN_WRITE_INBOX_PAGE)).toBe(false);
    expect(onlyEchoes(ownWrite(), [notification('2026-01-01T12:00:05Z')], OWN_WRITE_INBOX_PAGE)).toBe(false);
  });

  it('is not assumed without a notification, for a related-referral event, an unreadable time, or a full page', () => {
    expect(onlyEchoes(ownWrite(), [], OWN_WRITE_INBOX_PAGE)).toBe(false);
    expect(onlyEchoes(ownWrite(), [notification(WRITTEN_AT, { eventName: 'related-referral-updated' })], OWN_WRITE_INBOX_PAGE)).toBe(false);
    expect(onlyEchoes(ownWrite(), [notification('yesterday')], OWN_WRITE_INBOX_PAGE)).toBe(false);
    expect(onlyEchoes(ownWrite(), [notification(WRITTEN_AT), notification(WRITTEN_AT)], 2)).toBe(false);
  });

  it('is forgotten when a later write answered no version, and bounded in memory', () => {
    const writes = new OwnReferralWrites(2);
    writes.record('ref-1', SENT_AT, { eTag: 'e2', referral: { id: 'ref-1', updatedDateTime: WRITTEN_AT } as Referral });
    writes.record('ref-1', SENT_AT + 1, { eTag: 'e3' });
    expect(writes.get('ref-1')).toBeUndefined();
    for (const id of ['a', 'b', 'c']) writes.record(id, SENT_AT, { eTag: 'e', referral: { id, updatedDateTime: WRITTEN_AT } as Referral });
    expect([writes.get('a'), writes.size]).toEqual([undefined, 2]);
  });

  it('keeps whole referrals only for the newest writes, and for older ones what settling their echo needs', () => {
    const writes = new OwnReferralWrites(10, 2);
    for (const id of ['a', 'b', 'c']) writes.record(id, SENT_AT, { eTag: `e-${id}`, referral: { id, name: `Deal ${id}`, updatedDateTime: WRITTEN_AT } as Referral });
    expect(writes.get('a')).toMatchObject({ eTag: 'e-a', label: { name: 'Deal a' }, syncedCoSell: false });
    expect(writes.get('a')?.referral).toBeUndefined();
    expect([writes.get('b')?.referral?.name, writes.get('c')?.referral?.name]).toEqual(['Deal b', 'Deal c']);
    // A newer write of an older referral holds its referral again, and pushes the next oldest out.
    writes.record('a', SENT_AT, { eTag: 'e-a2', referral: { id: 'a', name: 'Deal a2', updatedDateTime: WRITTEN_AT } as Referral });
    expect([writes.get('a')?.referral?.name, writes.get('b')?.referral, writes.size]).toEqual(['Deal a2', undefined, 3]);
  });

  it('stands in for a read on any connection when nothing newer is announced, whatever the older events were', () => {
    // A pair's first minute: its referral-created and related-referral events date changes before our write.
    const firstMinute = [notification(WRITTEN_AT), notification('2026-01-01T11:59:59Z', { eventName: 'related-referral-created' }), notification('2026-01-01T11:59:58Z', { eventName: 'referral-created' })];
    expect(answerIsCurrent(ownWrite(), firstMinute, OWN_WRITE_INBOX_PAGE)).toBe(true);
    expect(onlyEchoes(ownWrite(), firstMinute, OWN_WRITE_INBOX_PAGE)).toBe(false);
    expect(answerIsCurrent(ownWrite(), [notification('2026-01-01T12:00:00.2Z', { eventName: 'related-referral-updated' })], OWN_WRITE_INBOX_PAGE)).toBe(false);
    expect(answerIsCurrent(ownWrite(), [notification('2026-01-01T12:00:00.1234568Z')], OWN_WRITE_INBOX_PAGE)).toBe(false);
    expect(answerIsCurrent(ownWrite(), [], OWN_WRITE_INBOX_PAGE)).toBe(false);
  });
});
