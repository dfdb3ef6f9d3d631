import { describe, expect, it } from 'vitest';
import type { VersionedReferral } from '../../../src/partner-center/referrals-client.ts';
import { SharedReferralReads } from '../../../src/sync/run/shared-reads.ts';

/** A read that answers the version it was asked at: `v<n>` counts the reads made. */
function reader() {
  const calls: string[] = [];
  const read = (id: string): Promise<VersionedReferral> => {
    calls.push(id);
    return Promise.resolve({ referral: { id } as VersionedReferral['referral'], eTag: `v${calls.length}` });
  };
  return { calls, read };
}

describe('SharedReferralReads', () => {
  it('shares a read that started after the job was enqueued, in flight or just finished', async () => {
    let now = 1_000;
    const r = reader();
    const reads = new SharedReferralReads(r.read, { now: () => now });
    const first = reads.get('REF-1', 999);
    now = 1_500;
    const second = reads.get('ref-1', 999);
    expect((await first).eTag).toBe('v1');
    expect((await second).eTag).toBe('v1');
    expect(r.calls).toEqual(['REF-1']);
  });

  it('never shares a read that started before or at the job’s enqueue time, nor with a job without one', async () => {
    let now = 1_000;
    const r = reader();
    const reads = new SharedReferralReads(r.read, { now: () => now });
    await reads.get('ref-1', 900);
    now = 1_001;
    expect((await reads.get('ref-1', 1_000)).eTag).toBe('v2'); // started at 1,000: not after the enqueue
    expect((await reads.get('ref-1', 1_001)).eTag).toBe('v3'); // started at 1,001: same millisecond
    expect((await reads.get('ref-1', undefined)).eTag).toBe('v4');
    expect(r.calls).toHaveLength(4);
  });

  it('forgets a read once our own write changed the referral, and drops old entries', async () => {
    let now = 1_000;
    const r = reader();
    const reads = new SharedReferralReads(r.read, { now: () => now, ttlMs: 100, maxEntries: 2 });
    await reads.get('ref-1', 0);
    reads.forget('REF-1');
    expect((await reads.get('ref-1', 0)).eTag).toBe('v2');
    now = 1_200;
    expect((await reads.get('ref-1', 0)).eTag).toBe('v3'); // older than the TTL
    await reads.get('ref-2', 0);
    await reads.get('ref-3', 0);
    expect(reads.size).toBe(2);
  });

  it('does not share a failed read', async () => {
    let fail = true;
    const reads = new SharedReferralReads((id) => (fail ? Promise.reject(new Error('503')) : Promise.resolve({ referral: { id } as VersionedReferral['referral'], eTag: 'ok' })));
    await expect(reads.get('ref-1', 0)).rejects.toThrow('503');
    fail = false;
    expect((await reads.get('ref-1', 0)).eTag).toBe('ok');
  });
});
