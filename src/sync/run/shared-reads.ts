import type { VersionedReferral } from '../../partner-center/referrals-client.ts';
import type { ReferralsPort } from '../ports.ts';
import type { OwnReferralWrites } from './own-writes.ts';

/*
 * One Partner Center referral read shared by the jobs of every connection about the same referral. Each write of a
 * referral (our own "CRM ID" write included) raises one `referral-updated` webhook, which queues one job per connection;
 * with two CRMs each job read the same referral again. A read that *started* after a job was enqueued sees every change
 * the job's events announced (Partner Center had made the change before it sent the webhook, and the webhook arrived
 * before the enqueue), so that job may use it instead of reading again. A read that started earlier, or at the same
 * millisecond, is never shared with it: the job reads for itself.
 */

/** How long a finished read stays shareable: the jobs one webhook queues run within moments of each other. */
export const SHARED_READ_TTL_MS = 5_000;
/** Entries kept at most (oldest dropped first): bounds memory during a backfill's burst of echoes. */
export const SHARED_READ_MAX_ENTRIES = 2_000;

interface Entry {
  startedAt: number;
  result: Promise<VersionedReferral>;
}

export interface SharedReadsOptions {
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class SharedReferralReads {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly read: (id: string) => Promise<VersionedReferral>,
    options: SharedReadsOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? SHARED_READ_TTL_MS;
    this.maxEntries = options.maxEntries ?? SHARED_READ_MAX_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  /**
   * The referral as a read started strictly after `notBefore` (ms since the epoch) saw it: a shared one in flight or
   * just finished, else a new read. Without `notBefore` the read is new (and shareable with later jobs).
   */
  get(id: string, notBefore: number | undefined): Promise<VersionedReferral> {
    const key = id.toLowerCase();
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry && notBefore !== undefined && entry.startedAt > notBefore && now - entry.startedAt <= this.ttlMs) return entry.result;
    const fresh: Entry = { startedAt: now, result: this.read(id) };
    this.entries.delete(key);
    this.entries.set(key, fresh);
    // A failed read is not shared: the next job tries again (its error goes to its own retry policy).
    fresh.result.catch(() => {
      if (this.entries.get(key) === fresh) this.entries.delete(key);
    });
    this.prune(now);
    return fresh.result;
  }

  /** Our own write changed the referral: a read from before it is never handed out again. */
  forget(id: string): void {
    this.entries.delete(id.toLowerCase());
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      // Insertion order is start order: stop at the first entry still young enough, unless over the cap.
      if (now - entry.startedAt <= this.ttlMs && this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

/**
 * `port` whose writes make `reads` forget the referral they changed (whatever the write's outcome), and `own` remember
 * the version a write answered (see own-writes.ts), or forget it when the write failed.
 */
export function forgettingWrites(port: ReferralsPort, reads: SharedReferralReads, own?: OwnReferralWrites): ReferralsPort {
  return {
    get: (id) => port.get(id),
    create: (body, options) => port.create(body, options),
    createCoSell: (body, options) => port.createCoSell(body, options),
    connectMicrosoft: (referral) => port.connectMicrosoft(referral),
    listPage: (query) => port.listPage(query),
    patch: async (id, changes, options) => {
      const sentAt = Date.now();
      own?.forget(id);
      try {
        const answer = await port.patch(id, changes, options);
        own?.record(id, sentAt, answer);
        return answer;
      } finally {
        reads.forget(id);
      }
    },
  };
}
