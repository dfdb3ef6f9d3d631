import type { CrmConnector, CrmRecord } from '../../crm/connector.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { Link } from '../../store/types.ts';
import { awaitsAnswer } from '../plan/co-sell-decision.ts';
import { CRM_MATCHES_BASE } from '../plan/crm-mirror.ts';
import type { SyncStorePort } from '../ports.ts';

/*
 * Optimistic CRM writes on the hot path (issue 12). A Partner Center change of a linked pair used to cost a CRM read
 * before the CRM write, only to find the record as our last commit left it. When the link's stored version is current
 * as far as we know, the CRM side is taken to be the base (what we last committed) and the write goes out with
 * If-Match: <stored version>; a 412 makes the run read both sides and plan again (PairSync.syncWithReplans). Current as
 * far as we know:
 *   - the last commit marked its base as the record's values at that version (CRM_MATCHES_BASE: nothing held back,
 *     no held conflict, nothing the record holds beyond the base);
 *   - no write intent left behind, no held conflict (an operator's resolution waits), the link not in error;
 *   - no notification about the record since (just before) that commit except the echoes of our own writes;
 *   - an opportunity (a lead may have been converted: only a read tells) and a referral that does not wait for the
 *     seller's answer (the answer is on the record).
 * Only where conditional writes compare exact versions (Dataverse's ETag, `isOwnNotification`): Salesforce's
 * If-Unmodified-Since has whole seconds, so its connector reads the record's version before any such write anyway and
 * a blind write would save nothing.
 */

/**
 * Notifications received this long before the commit count too: one may announce an edit made after that sync read the
 * record (a sync reads and commits within seconds), or come from an instance whose clock is a little behind. Too short
 * costs no correctness, only a refused write (412) and the read after it.
 */
export const CRM_NOTIFICATION_MARGIN_MS = 15_000;
/** Notifications read per check; when all of them are recent, some may be missing, and the record is read instead. */
export const CRM_NOTIFICATION_PAGE = 20;

/**
 * The linked record as our last commit left it, standing in for a read; undefined when it has to be read. Its values
 * are empty: the plan takes the CRM side from the base (`PairSnapshot.crmAssumed`).
 */
export async function assumedCrmRecord(input: {
  store: SyncStorePort;
  connector: Pick<CrmConnector, 'kind' | 'isOwnNotification'>;
  link: Link;
  referral: Referral;
}): Promise<CrmRecord | undefined> {
  const { store, connector, link, referral } = input;
  const ownNotification = connector.isOwnNotification?.bind(connector);
  if (!ownNotification || link.crmEntity !== 'opportunity' || link.crmVersion === null || link.syncState !== 'ok') return undefined;
  if (link.base?.[CRM_MATCHES_BASE] !== true || awaitsAnswer(referral)) return undefined;
  if (await store.sync.getIntent(link.connection, link.referralId, link.crmEntity)) return undefined;
  if ((await store.sync.conflicts(link.connection)).some((c) => c.referralId === link.referralId)) return undefined;
  const since = Date.parse(link.updatedAt) - CRM_NOTIFICATION_MARGIN_MS;
  if (Number.isNaN(since)) return undefined;
  const rows = await store.inbox.list({ limit: CRM_NOTIFICATION_PAGE, source: connector.kind, resourceId: link.crmId });
  const recent = rows.filter((row) => !(Date.parse(row.receivedAt) < since));
  if (recent.length >= CRM_NOTIFICATION_PAGE) return undefined;
  for (const row of recent) if (!(await ownNotification(row.payload))) return undefined;
  return { ref: { entity: link.crmEntity, id: link.crmId }, version: link.crmVersion, modifiedAt: link.updatedAt, modifiedByUs: true, values: {} };
}
