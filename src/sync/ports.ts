import type { FieldChange } from '../partner-center/json-patch.ts';
import type { Referral, ReferralCreate } from '../partner-center/model.ts';
import type { CoSellReferral, ReferralListQuery, ReferralPage, VersionedReferral } from '../partner-center/referrals-client.ts';
import type { Inbox, JobQueue, KeyedLocks, SyncState } from '../store/types.ts';

/**
 * The part of the store one pair's sync uses: its link, intent, audit and conflict rows, the CRM notifications that
 * date its changes, and the queue (to hand a foreign referral's change to the partner's own referral).
 */
export interface SyncStorePort {
  readonly sync: Pick<
    SyncState,
    | 'getLink'
    | 'findLinkByCrm'
    | 'commit'
    | 'commitMany'
    | 'recordIntents'
    | 'getIntent'
    | 'createKey'
    | 'pcFieldWrites'
    | 'appendAudit'
    | 'audit'
    | 'conflicts'
    | 'getWatermark'
    | 'setWatermark'
    | 'labelDeal'
    | 'isPaused'
    | 'pausedBy'
    | 'pausePair'
    | 'resumePair'
  >;
  readonly inbox: Pick<Inbox, 'list'>;
  readonly jobs: Pick<JobQueue, 'enqueue'>;
  /** Locks shared by every instance on the store (see Store.locks); absent (a test's fake): in-process ones. */
  readonly locks?: KeyedLocks;
}

/** The Partner Center referral calls the sync makes. */
export interface ReferralsPort {
  get(id: string): Promise<VersionedReferral>;
  create(body: ReferralCreate, options: { requestId?: string }): Promise<Referral>;
  /** A co-sell deal: the partner's Shared referral and Microsoft's connected referral ("Create a referral"). */
  createCoSell(body: ReferralCreate, options: { requestId: string }): Promise<CoSellReferral>;
  /** Microsoft's referral in the engagement of `referral`: the one there, or a new connected one. */
  connectMicrosoft(referral: Referral): Promise<Referral>;
  /** With `returnRepresentation`, the answer may carry the new version (a service that ignores Prefer answers none). */
  patch(id: string, changes: readonly FieldChange[], options: { ifMatch?: string; returnRepresentation?: boolean }): Promise<{ eTag?: string; referral?: Referral }>;
  listPage(query: ReferralListQuery): Promise<ReferralPage>;
}
