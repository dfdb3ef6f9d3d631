import type { CrmConnector, CrmEntityName } from '../crm/connector.ts';
import type { SyncState } from '../store/types.ts';
import { AUDIT_COLUMN_ENTRIES, auditLines } from './audit-lines.ts';

/**
 * Shows an operator's pause of a pair, or its end, in the CRM record's Sync Status and Audit columns, so a seller sees
 * why their edits stop reaching Partner Center. On resume the status goes back to what the pair was (Synced, Failed,
 * Conflict); the sync the resume queued writes it again if anything changes. Nothing happens for a pair without a
 * link, and a connector whose status field does not offer "Paused" leaves it as it is (see SyncStatusUpdate.paused).
 */
export async function showPauseInCrm(input: {
  connector: Pick<CrmConnector, 'writeSyncStatus'>;
  sync: Pick<SyncState, 'getLink' | 'conflicts' | 'audit'>;
  connection: string;
  referralId: string;
  paused: boolean;
}): Promise<void> {
  const { sync, connection, referralId } = input;
  const link = await sync.getLink(connection, referralId);
  if (!link) return;
  const held = (await sync.conflicts(connection)).some((c) => c.referralId === referralId);
  // The pause or resume itself is already the newest entry of the pair's history.
  const lines = auditLines([], await sync.audit({ connection, referralId, limit: AUDIT_COLUMN_ENTRIES }));
  const status = input.paused ? { ok: true, paused: true } : { ok: link.syncState === 'ok' && !held, conflict: held };
  await input.connector.writeSyncStatus({ entity: link.crmEntity as CrmEntityName, id: link.crmId }, { ...status, auditLines: lines });
}
