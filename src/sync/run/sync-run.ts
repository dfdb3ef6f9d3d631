import type { ColumnRequest, CrmConnector, CrmRecordRef } from '../../crm/connector.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { AuditEntry, Job } from '../../store/types.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { NonRetryableSyncError } from '../errors.ts';
import { recordAudit, type AuditStamp } from '../plan/audit-entries.ts';
import { mappingFor, type ConnectionSetup } from '../connection.ts';

/** What one run of a job knows from the start: the job and the connection it runs for. */
export class SyncRun {
  readonly connector: CrmConnector;
  readonly stamp: AuditStamp;
  /**
   * A write of this run met a newer version (412): from then on the run reads both sides, trusting neither the answer
   * of our own last write nor the stored version (see own-writes.ts, blind-crm-write.ts).
   */
  readsEverything = false;
  /** This run planned against a CRM record it did not read (see blind-crm-write.ts). */
  assumedCrm = false;

  constructor(
    readonly job: Job,
    readonly connection: ConnectionSetup,
  ) {
    this.connector = connection.connector;
    this.stamp = { connection: connection.connector.name, cause: job.cause };
  }

  get name(): string {
    return this.connector.name;
  }

  mapping(entity: string): EntityMapping {
    return mappingFor(this.connection, entity);
  }

  /** The columns to read for a mapping: its own plus where the seller answers an incoming co-sell referral. */
  async columns(mapping: EntityMapping): Promise<readonly ColumnRequest[]> {
    const decision = (await this.connector.coSellDecisions?.columns(mapping.entity)) ?? [];
    return decision.length === 0 ? mapping.columns : [...mapping.columns, ...decision];
  }

  /** An audit row of this run about a record as a whole. */
  note(entry: { referralId: string | null; ref: CrmRecordRef; direction?: AuditEntry['direction']; outcome: AuditEntry['outcome']; message: string }): AuditEntry {
    return recordAudit(this.stamp, entry);
  }
}

/** A referral as read, with its id known to be there and the version to send in If-Match. */
export interface ReadReferral {
  referral: Referral;
  id: string;
  eTag: string | undefined;
}

/** Narrows a referral read from Partner Center once, at the edge of the run: every referral it returns has an id. */
export function readReferral(referral: Referral, eTag: string | undefined): ReadReferral {
  if (typeof referral.id !== 'string' || referral.id === '') throw new NonRetryableSyncError('Partner Center returned a referral without an id');
  return { referral, id: referral.id, eTag };
}
