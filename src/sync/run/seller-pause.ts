import type { CrmKind, CrmRecord } from '../../crm/connector.ts';
import type { Link, PauseHolder } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import { WELL_KNOWN, type ConnectionSetup } from '../connection.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { showPauseInCrm } from '../pause-status.ts';
import type { SyncStorePort } from '../ports.ts';

/** How the Audit line names the CRM where the seller flipped the switch. */
const CRM_NAMES: Record<CrmKind, string> = { dynamics: 'Dynamics', salesforce: 'Salesforce' };

/**
 * "Sync with Partner Center" on a linked record, as Microsoft's connector documents it (Microsoft Learn, "Co-sell
 * connector for Dynamics 365 CRM overview": the field decides whether the opportunity syncs): No pauses the pair in both
 * directions, held by the seller; Yes lifts that hold and, when no operator holds the pair too, queues a normal sync
 * (both records read, three-way merge against the base left at the pause). Only a No made after the link counts: a
 * record whose base already says No was linked that way, and pausing it now would surprise everyone.
 *
 * Returns whether the pair is paused once the record has been seen: the caller skips the merge then.
 */
export async function followSyncSwitch(input: {
  store: SyncStorePort;
  connection: ConnectionSetup;
  link: Link;
  record: CrmRecord;
  mapping: EntityMapping;
  logger: Logger;
}): Promise<boolean> {
  const { store, link, connection } = input;
  const { sync } = store;
  const name = connection.connector.name;
  const flag = input.mapping.crmToCanonical(input.record.values)[WELL_KNOWN.syncEnabled];
  const holder: PauseHolder = { by: 'seller', crm: CRM_NAMES[connection.connector.kind] };
  // Read, then write: this runs in the pair's own job, and pausePair / resumePair each decide atomically in the store.
  const sellerHolds = (await sync.pausedBy(name, link.referralId)).includes('seller');
  const turnedOff = flag === false && link.base?.[WELL_KNOWN.syncEnabled] !== false;
  let changed: 'paused' | 'resumed' | null = null;
  if (turnedOff && !sellerHolds && (await sync.pausePair(name, link.referralId, holder))) changed = 'paused';
  else if (flag !== false && sellerHolds && (await sync.resumePair(name, link.referralId, holder))) changed = 'resumed';
  const paused = await sync.isPaused(name, link.referralId);
  // The record's Sync Status follows only a change the pair's state actually made (an operator's hold keeps "Paused").
  if (changed !== null && (changed === 'paused' || !paused)) {
    await showPauseInCrm({ connector: connection.connector, sync, connection: name, referralId: link.referralId, paused }).catch((error: unknown) => {
      input.logger.warn({ connection: name, referralId: link.referralId, err: error }, "the CRM's Sync Status could not show the seller's pause or resume");
    });
  }
  return paused;
}
