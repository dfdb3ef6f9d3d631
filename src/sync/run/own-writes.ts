import type { Referral } from '../../partner-center/model.ts';
import { respondBy } from '../../partner-center/response-deadline.ts';
import { isSyncedCoSell } from '../plan/deal-solutions.ts';
import { parseWebhookEvent } from '../../partner-center/webhook-event.ts';
import { parseInstant } from '../../util/instant.ts';
import type { InboxEvent } from '../../store/types.ts';

/*
 * The echo of our own Partner Center write, recognised without reading the referral again (issue 12).
 *
 * Our PATCH of a referral (the backfill's "CRM ID" write) raises a `referral-updated` webhook, whose job used to GET
 * the referral only to find the version we had just written and committed: one Partner Center call per referral. When
 * the PATCH answers the new version (Prefer: return=representation), we know its eTag and its updatedDateTime U. A
 * webhook's ResourceChangeUtcDate is when the change it announces happened, so an event at or before U announces a
 * change that version already holds. The job's pair is then settled without a GET when
 *   - the link's committed pcEtag is that version's eTag (the write was committed, nothing else was since), and
 *   - every Partner Center notification about the referral received since (just before) we sent the PATCH is a
 *     `referral-updated` whose change time is not after U.
 * A Microsoft edit after our write changes the referral after U, so its webhook carries a later time and the job reads
 * as before. Anything unknown (no record of our write: another instance wrote, or this process restarted; a related-
 * referral event; a notification we cannot parse; more notifications than one page) also falls back to the read.
 */

/** Writes remembered at most (oldest dropped first): bounds memory during a backfill of tens of thousands. */
export const OWN_WRITES_MAX_ENTRIES = 20_000;
/**
 * Of those, the newest this many also keep the whole referral, which stands in for a read (`answerIsCurrent`); older
 * ones keep only what settling the echo needs. A backfill's echoes arrive within seconds of its writes, while 20,000
 * whole referrals held tens of MB of the service's heap at 10,000 referrals.
 */
export const OWN_WRITES_FULL_ENTRIES = 1_000;
/**
 * Notifications received this long before our PATCH was sent are inspected too: covers clock skew between the
 * instances of a cluster (the one that received a webhook and the one that wrote). Older rows only make the check
 * stricter, never looser: their changes happened before our write.
 */
export const OWN_WRITE_CLOCK_MARGIN_MS = 60_000;
/** Notifications read per check; when all of them are recent, some may be missing, and the job reads instead. */
export const OWN_WRITE_INBOX_PAGE = 20;

export interface OwnWrite {
  /** The referral as our PATCH answered it: for the newest {@link OWN_WRITES_FULL_ENTRIES} writes only. */
  referral?: Referral;
  /** The written version's deal label (the pair's name, customer and answer deadline), for settling its echo. */
  label: { name: string | null; customer: string | null; respondBy: string | null };
  /** Whether the written version's Microsoft Solutions sync (see deal-solutions.ts). */
  syncedCoSell: boolean;
  eTag: string;
  /** Ticks of the version's updatedDateTime (see instant.ts). */
  updatedAt: bigint;
  /** Local ms since the epoch when the PATCH was sent. */
  sentAt: number;
}

export class OwnReferralWrites {
  private readonly entries = new Map<string, OwnWrite>();
  /** Keys of the entries still holding their referral, oldest first. */
  private readonly withReferral = new Set<string>();

  constructor(
    private readonly maxEntries = OWN_WRITES_MAX_ENTRIES,
    private readonly fullEntries = OWN_WRITES_FULL_ENTRIES,
  ) {}

  /** Remembers the version our PATCH (sent at `sentAt`) produced, when its answer carried the referral. */
  record(id: string, sentAt: number, answer: { eTag?: string; referral?: Referral }): void {
    const key = id.toLowerCase();
    this.forget(key);
    const { referral } = answer;
    const stamp = referral?.updatedDateTime;
    const updatedAt = typeof stamp === 'string' ? parseInstant(stamp) : undefined;
    if (!referral || answer.eTag === undefined || updatedAt === undefined) return;
    const label = { name: referral.name ?? null, customer: referral.customerProfile?.name ?? null, respondBy: respondBy(referral) };
    this.entries.set(key, { referral, label, syncedCoSell: isSyncedCoSell(referral), eTag: answer.eTag, updatedAt, sentAt });
    this.withReferral.add(key);
    for (const oldest of this.withReferral) {
      if (this.withReferral.size <= this.fullEntries) break;
      this.withReferral.delete(oldest);
      const entry = this.entries.get(oldest);
      if (entry) this.entries.set(oldest, { ...entry, referral: undefined });
    }
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.forget(oldest);
    }
  }

  /** A write of ours whose answer is unknown (or failed): nothing about the referral may be assumed. */
  forget(id: string): void {
    const key = id.toLowerCase();
    this.entries.delete(key);
    this.withReferral.delete(key);
  }

  get(id: string): OwnWrite | undefined {
    return this.entries.get(id.toLowerCase());
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Whether `notifications` (newest first, the referral's Partner Center inbox rows, one page of `pageSize`) announce
 * nothing newer than `write`: see the comment at the top. Only `referral-updated` rows pass: the settled check this
 * serves must not skip a related-referral event (Microsoft's side changed) or anything else it cannot date.
 */
export function onlyEchoes(write: OwnWrite, notifications: readonly InboxEvent[], pageSize: number): boolean {
  return announcesNothingAfter(write, notifications, pageSize, (name) => name === 'referral-updated');
}

/**
 * Whether `write`'s answer is the referral as it is now, as far as its notifications tell: every one received since
 * (just before) the write announces a change at or before the written version, whatever its kind. A referral-created
 * or related-referral event of the pair's first minutes dates an older change; Microsoft's own referral, which a
 * related-referral event is about, is read separately (PairSync's snapshot), never taken from this answer.
 */
export function answerIsCurrent(write: OwnWrite, notifications: readonly InboxEvent[], pageSize: number): boolean {
  return announcesNothingAfter(write, notifications, pageSize, () => true);
}

function announcesNothingAfter(write: OwnWrite, notifications: readonly InboxEvent[], pageSize: number, kind: (eventName: string) => boolean): boolean {
  if (notifications.length === 0) return false; // the job was not caused by a notification we can see
  const since = write.sentAt - OWN_WRITE_CLOCK_MARGIN_MS;
  const oldest = notifications[notifications.length - 1];
  if (notifications.length >= pageSize && oldest && !(Date.parse(oldest.receivedAt) < since)) return false;
  return notifications.every((row) => {
    if (Date.parse(row.receivedAt) < since) return true;
    const parsed = parseWebhookEvent(row.payload);
    if (!parsed.ok || !kind(parsed.event.eventName.toLowerCase())) return false;
    const changedAt = parseInstant(parsed.event.resourceChangeUtcDate);
    return changedAt !== undefined && changedAt <= write.updatedAt;
  });
}
