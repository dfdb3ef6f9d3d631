import type { CrmConnector } from '../../crm/connector.ts';
import type { Job, Link, SyncCommit } from '../../store/types.ts';
import { AUDIT_COLUMN_ENTRIES, auditLines } from '../audit-lines.ts';
import type { ReconcilePlan } from '../plan/reconcile-plan.ts';
import type { ReferralsPort, SyncStorePort } from '../ports.ts';

export interface ApplierDeps {
  store: SyncStorePort;
  referrals: Pick<ReferralsPort, 'patch'>;
  connector: Pick<CrmConnector, 'update' | 'solutions' | 'dealContacts' | 'dealTeam'>;
}

/**
 * Carries out a pair's plan: the write intent is durable before the first write (so a crash cannot make our own
 * write look foreign), then the CRM record, then the referral (each with optimistic concurrency: a 412 goes back to
 * the caller, which re-reads and re-plans), and last link, base and audit in one store transaction. A sync that
 * writes nothing records no intent: there is no write of ours to mistake for a seller's.
 *
 * `completes`: the job whose run ends with this commit (the caller has nothing left to do afterwards); it completes in
 * the same transaction, one commit fewer per sync (see SyncCommit.completes).
 */
export async function applyReconcilePlan(deps: ApplierDeps, plan: ReconcilePlan, options: { completes?: Job | undefined } = {}): Promise<void> {
  const { store } = deps;
  const { link } = plan.commit;
  if (plan.intent) await store.sync.recordIntents([plan.intent]);
  let { crmVersion, pcEtag } = link;
  // The deal's solutions are rows of their own (related table / junction object): the record's version does not move.
  if (plan.dealSolutions && deps.connector.solutions) await deps.connector.solutions.writeDealSolutions(plan.dealSolutions.ref, plan.dealSolutions.solutionIds);
  // Contact roles / stakeholder connections are rows of their own too; each call is safe to repeat after a crash.
  const contacts = plan.dealContacts;
  if (contacts && deps.connector.dealContacts) {
    const api = deps.connector.dealContacts;
    if (contacts.plan.addToCrm.length > 0) await api.add(contacts.ref, contacts.plan.addToCrm);
    if (contacts.plan.editInCrm.length > 0) await api.edit(contacts.ref, contacts.plan.editInCrm);
    if (contacts.plan.removeFromCrm.length > 0) await api.remove(contacts.ref, contacts.plan.removeFromCrm);
  }
  if (plan.dealTeam && deps.connector.dealTeam) await deps.connector.dealTeam.add(plan.dealTeam.ref, plan.dealTeam.emails);
  if (plan.crmUpdate) {
    const update = plan.crmUpdate;
    const history = await store.sync.audit({ connection: link.connection, referralId: link.referralId, limit: AUDIT_COLUMN_ENTRIES });
    const status = { ...update.status, auditLines: auditLines(update.fresh, history) };
    crmVersion = (await deps.connector.update(update.ref, update.changes, update.ifVersion, status)).version;
  }
  if (plan.pcPatch) {
    const { referralId, changes, ifMatch } = plan.pcPatch;
    // The answer's representation (no extra call) lets the webhook our write raises be settled without a read, on
    // every connection (see own-writes.ts).
    const written = await deps.referrals.patch(referralId, changes, { ...(ifMatch ? { ifMatch } : {}), returnRepresentation: true });
    pcEtag = ('eTag' in written && typeof written.eTag === 'string' ? written.eTag : null) ?? null;
  }
  await store.sync.commit({ ...plan.commit, link: { ...link, pcEtag, crmVersion }, ...(options.completes ? { completes: options.completes } : {}) });
}

/** Commits a newly created pair's link and returns it as stored (with its times). */
export async function commitCreatedLink(store: SyncStorePort, commit: SyncCommit): Promise<Link> {
  await store.sync.commit(commit);
  const link = await store.sync.getLink(commit.link.connection, commit.link.referralId);
  if (!link) throw new Error(`the link of referral ${commit.link.referralId} was not stored`);
  return link;
}

/** The pair cannot be synced (a side is gone): its link says so, with an audit row, until a later sync succeeds. */
export async function recordLinkFailure(store: SyncStorePort, failure: { link: Link; cause: string; message: string }): Promise<void> {
  const { link, cause, message } = failure;
  await store.sync.commit({
    link: { ...link, syncState: 'error', lastError: message },
    audit: [
      {
        connection: link.connection,
        referralId: link.referralId,
        crmEntity: link.crmEntity,
        crmId: link.crmId,
        direction: 'none',
        field: null,
        oldValue: undefined,
        newValue: undefined,
        cause,
        outcome: 'failed',
        message,
      },
    ],
    holdConflicts: [],
    releaseConflicts: [],
  });
}
