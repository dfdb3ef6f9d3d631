import type { CrmRecord, CrmRecordRef } from '../../crm/connector.ts';
import type { AuditEntry, Link } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import { recordLinkFailure } from '../apply/applier.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import type { ReferralsPort, SyncStorePort } from '../ports.ts';
import { readReferral, type ReadReferral, type SyncRun } from './sync-run.ts';

/*
 * A seller converts a synced lead in the CRM (Salesforce convertLead, Dynamics QualifyLead with CreateOpportunity):
 * the CRM makes the opportunity, not the sync. The pair follows it — the link moves from the lead to that opportunity,
 * the referral is accepted (the seller took the lead on, as Microsoft's connector treats a converted lead) and the
 * opportunity is merged with the referral as any first link is. Nothing is created: neither a second opportunity
 * (the accepted referral would otherwise promote the lead into one of its own) nor a second referral (the new
 * opportunity's own change notification is handed to the lead's pair instead of being sent as a new deal).
 */

/** What the pair's sync does once both records are known: the normal first-link merge (PairReconciler.reconcile). */
export type ReconcileFirstLink = (pair: { read: ReadReferral; record: CrmRecord; mapping: EntityMapping; link: null; origin: 'pc'; audit: AuditEntry[] }) => Promise<void>;

export interface ConversionDeps {
  store: SyncStorePort;
  referrals: ReferralsPort;
  logger: Logger;
}

/**
 * Moves the pair of a converted lead (`lead.convertedTo` set) to the opportunity it became. Runs in the pair's own job,
 * so it is never concurrent with another sync of the referral. Safe to repeat: a crash after accepting leaves the lead
 * linked, and the next run finds the referral accepted and only merges.
 */
export async function followLeadConversion(
  deps: ConversionDeps,
  input: { run: SyncRun; read: ReadReferral; link: Link; lead: CrmRecord; reconcile: ReconcileFirstLink },
): Promise<void> {
  const { run, link, lead } = input;
  const target = lead.convertedTo;
  if (!target) return;
  const mapping = run.mapping('opportunity');
  const record = await run.connector.read(target, await run.columns(mapping));
  if (!record) {
    await recordLinkFailure(deps.store, { link, cause: run.job.cause, message: `lead converted by the seller → opportunity ${target.id}, which no longer exists in the CRM` });
    return;
  }
  // A seller may convert into an opportunity another referral already holds: linking it twice would merge two deals.
  const holder = await deps.store.sync.findLinkByCrm(run.name, 'opportunity', record.ref.id);
  if (holder && holder.referralId.toLowerCase() !== link.referralId.toLowerCase()) {
    await recordLinkFailure(deps.store, {
      link,
      cause: run.job.cause,
      message: `lead converted by the seller → opportunity ${record.ref.id}, which is already linked to referral ${holder.referralId}; the lead stays linked`,
    });
    return;
  }
  const audit: AuditEntry[] = [
    run.note({ referralId: link.referralId, ref: record.ref, direction: 'none', outcome: 'linked', message: `lead converted by the seller → opportunity ${record.ref.id}` }),
  ];
  let read = input.read;
  if (read.referral.status === 'New') {
    await deps.referrals.patch(
      read.id,
      [
        { path: ['status'], value: 'Active' },
        { path: ['substatus'], value: 'Accepted' },
      ],
      read.eTag ? { ifMatch: read.eTag } : {},
    );
    audit.push(run.note({ referralId: read.id, ref: record.ref, direction: 'to-pc', outcome: 'written', message: 'referral accepted: lead converted by the seller' }));
    const fresh = await deps.referrals.get(read.id);
    read = readReferral(fresh.referral, fresh.eTag);
  }
  deps.logger.info({ connection: run.name, referralId: read.id, lead: lead.ref.id, opportunity: record.ref.id }, 'lead converted by the seller: the pair follows the opportunity');
  await input.reconcile({ read, record, mapping, link: null, origin: 'pc', audit });
}

/**
 * An unlinked opportunity the seller made by converting a linked lead: its pair is the lead's, so the opportunity's
 * own change is handed to that pair's job (which follows the conversion) and never sent as a new deal. Returns whether
 * it was handed over. One CRM read per unlinked opportunity that would otherwise be sent to Partner Center.
 */
export async function handToConvertedLead(deps: Pick<ConversionDeps, 'store'>, run: SyncRun, opportunity: CrmRecordRef): Promise<boolean> {
  const lead = run.connector.convertedFrom ? await run.connector.convertedFrom(opportunity) : undefined;
  if (!lead) return false;
  const leadLink = await deps.store.sync.findLinkByCrm(run.name, 'lead', lead.id);
  if (!leadLink) return false;
  await deps.store.jobs.enqueue([{ connection: run.name, cause: run.job.cause, referralId: leadLink.referralId, crm: lead, microsoftSide: false }]);
  return true;
}
