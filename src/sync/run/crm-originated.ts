import type { CrmRecord, CrmRecordRef } from '../../crm/connector.ts';
import type { ReferralCreate } from '../../partner-center/model.ts';
import type { PartnerOrganization } from '../engagement-sides.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { AUDIT_COLUMN_ENTRIES, auditLines } from '../audit-lines.ts';
import { WELL_KNOWN } from '../connection.ts';
import { referralDraftFor } from '../plan/create-plans.ts';
import type { ReferralsPort, SyncStorePort } from '../ports.ts';
import type { DraftProblem } from '../referral-body.ts';
import { sendReferral } from './co-sell.ts';
import type { EngagementReader } from './engagement.ts';
import { handToConvertedLead } from './lead-conversion.ts';
import type { PairReconciler } from './pair-reconcile.ts';
import { readReferral, type SyncRun } from './sync-run.ts';

export interface CrmOriginatedDeps {
  store: SyncStorePort;
  referrals: ReferralsPort;
  organization: PartnerOrganization;
  engagements: EngagementReader;
  reconciler: PairReconciler;
  /** The path of a job about a referral, for a record that turns out to have one (PairSync.syncFromReferral). */
  syncReferral: (run: SyncRun, referralId: string) => Promise<void>;
}

/** A job about an unlinked CRM record: the deal a seller made in the CRM, sent to Partner Center once it is valid. */
export class CrmOriginatedSync {
  constructor(private readonly deps: CrmOriginatedDeps) {}

  async sync(run: SyncRun, ref: CrmRecordRef): Promise<void> {
    if (ref.entity !== 'opportunity') return; // Microsoft's connector sends opportunities, not leads, to Partner Center
    const mapping = run.mapping(ref.entity);
    const record = await run.connector.read(ref, await run.columns(mapping));
    if (!record) return;
    // Unlinked and last written by us: that write was our own ✖ status, so nothing a seller did is waiting. Without
    // this, the echo of the status write would re-validate and write the status again, forever.
    if (record.modifiedByUs) return;
    const crm = mapping.crmToCanonical(record.values);
    if (crm[WELL_KNOWN.syncEnabled] !== true) return; // Sync with Partner Center = No: never sent

    if (await handToConvertedLead(this.deps, run, ref)) return; // a synced lead the seller converted: its pair follows
    const knownReferral = crm[WELL_KNOWN.referralId];
    if (typeof knownReferral === 'string' && knownReferral !== '') return this.deps.syncReferral(run, knownReferral);
    // A crash after creating the referral but before writing its id back: find it by our CRM id.
    const existing = await this.deps.engagements.findReferralByExternalId(record.ref.id);
    if (existing) return this.deps.syncReferral(run, existing);

    const customer = await run.connector.readCustomer(ref);
    const name = crm[WELL_KNOWN.name];
    await this.deps.store.sync.labelDeal({ connection: run.name, referralId: null, crmEntity: ref.entity, crmId: ref.id, name: typeof name === 'string' ? name : null, customer: customer?.name ?? null, respondBy: null });
    const solutionIds = run.connector.solutions ? await run.connector.solutions.readDealSolutions(ref) : null;
    const draft = referralDraftFor({ mapping, crm, crmId: record.ref.id, customer, solutionIds });
    if ('problems' in draft) return this.reportUnsendable(run, ref, draft.problems);
    await this.createInPartnerCenter(run, { record, mapping, body: draft.body });
  }

  /** Partner Center would refuse the deal: nothing is sent; the record gets ✖ and an Audit line per field to fix. */
  private async reportUnsendable(run: SyncRun, ref: CrmRecordRef, problems: readonly DraftProblem[]): Promise<void> {
    const failures = problems.map(({ field, reason }) =>
      run.note({ referralId: null, ref, direction: 'to-pc', outcome: 'failed', message: `not sent to Partner Center: ${field}: ${reason}` }),
    );
    const history = await this.deps.store.sync.audit({ connection: run.name, crmId: ref.id, limit: AUDIT_COLUMN_ENTRIES });
    await run.connector.writeSyncStatus(ref, { ok: false, auditLines: auditLines(failures, history) });
    await this.deps.store.sync.appendAudit(failures);
  }

  private async createInPartnerCenter(run: SyncRun, create: { record: CrmRecord; mapping: EntityMapping; body: ReferralCreate }): Promise<void> {
    const { record, mapping } = create;
    const { ref } = record;
    // Announced with its idempotency key before the POST: a crash before the link commits repeats the create with the
    // same MS-RequestId, which Partner Center answers with the referral the first attempt made. Finding it by "CRM ID"
    // (above) is not enough: with several CRMs, another connection's record may be the one that field names.
    const requestId = await this.deps.store.sync.createKey(run.name, ref.entity, ref.id);
    const created = readReferral(await sendReferral(this.deps.referrals, create.body, requestId), undefined);
    await this.deps.organization.learn(created.referral.organizationId);
    const coSell = create.body.type === 'Shared' ? ' (co-sell, shared with Microsoft)' : '';
    const audit = [run.note({ referralId: created.id, ref, direction: 'to-pc', outcome: 'created', message: `referral created from CRM record${coSell}` })];
    const fresh = await this.deps.referrals.get(created.id);
    const read = readReferral(fresh.referral, fresh.eTag);
    const pc = mapping.referralToCanonical(read.referral);
    const link = await this.deps.reconciler.linkCreated(run, { read, record, mapping, pc, origin: 'crm', audit });
    await this.deps.reconciler.reconcile(run, { read, record, mapping, link, origin: 'crm' });
  }
}
