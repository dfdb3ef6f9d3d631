import type { AuditEntry, Link } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { Logger } from '../../util/logger.ts';
import { applyReconcilePlan, commitCreatedLink } from '../apply/applier.ts';
import type { EntityMapping, Merge } from '../entity-mapping.ts';
import { createdLinkCommit } from '../plan/create-plans.ts';
import { planReconcile, type PairSnapshot, type ReconcilePlan } from '../plan/reconcile-plan.ts';
import type { ReferralsPort, SyncStorePort } from '../ports.ts';
import { bornFrom, connectMicrosoftIfMissing, wantsMicrosoftConnected } from './co-sell.ts';
import type { Pair, PairSnapshotReads } from './pair-snapshot-reads.ts';
import type { SyncRun } from './sync-run.ts';

export interface PairReconcilerDeps {
  store: SyncStorePort;
  referrals: ReferralsPort;
  merge: Merge;
  logger: Logger;
  snapshots: PairSnapshotReads;
}

/** The merge and its writes, shared by every path of a job once both sides of its pair exist. */
export class PairReconciler {
  constructor(private readonly deps: PairReconcilerDeps) {}

  /** Reads what the plan needs, plans, applies. */
  async reconcile(run: SyncRun, pair: Pair, options: { last?: boolean } = {}): Promise<void> {
    const snapshot = await this.deps.snapshots.snapshot(run, pair);
    const plan = planReconcile(snapshot, this.deps.merge);
    const after = { snapshot, upgraded: plan.coSellUpgrade === true, mapping: pair.mapping };
    // The run's last step, with nothing to do after its commit: that commit completes the job too.
    const completes = options.last && !this.actsAfter(after) ? run.job : undefined;
    await applyReconcilePlan({ store: this.deps.store, referrals: this.deps.referrals, connector: run.connector }, plan, { completes });
    await this.connectMicrosoftAfter(run, after);
    logSync(this.deps.logger, run, plan.commit);
  }

  /** Links a pair the moment its second record exists, before any further call (see `createdLinkCommit`). */
  linkCreated(run: SyncRun, pair: Omit<Pair, 'link' | 'audit'> & { pc: CanonicalRecord; audit: AuditEntry[] }): Promise<Link> {
    const { read, record, mapping, pc, origin, audit } = pair;
    const heldValue = run.connector.heldValue?.bind(run.connector);
    return commitCreatedLink(this.deps.store, createdLinkCommit({ stamp: run.stamp, referralId: read.id, eTag: read.eTag, record, mapping, pc, origin, audit, heldValue }));
  }

  /**
   * The second call of the co-sell recipe for a deal made co-sell after its creation (see co-sell-upgrade.ts). It runs
   * as a job of its own that reads Microsoft's side, so a failed or interrupted call is retried by the worker: the
   * upgraded referral no longer asks for an upgrade, only that job knows Microsoft is missing. Any pass that read
   * Microsoft's side and found none for a co-sell deal made from this record connects it too (only the connection whose
   * record the deal came from: another CRM's first link must not race the creator's own second call).
   */
  private async connectMicrosoftAfter(run: SyncRun, after: { snapshot: PairSnapshot; upgraded: boolean; mapping: EntityMapping }): Promise<void> {
    const { snapshot } = after;
    if (after.upgraded && after.mapping.readsMicrosoftReferral) {
      await this.deps.store.jobs.enqueue([{ connection: run.name, cause: run.job.cause, referralId: snapshot.referralId, microsoftSide: true }]);
    } else if (after.upgraded) {
      await connectMicrosoftIfMissing(this.deps.referrals, (await this.deps.referrals.get(snapshot.referralId)).referral);
    } else if (this.actsAfter(after)) {
      await connectMicrosoftIfMissing(this.deps.referrals, snapshot.referral);
    }
  }

  /** Whether `connectMicrosoftAfter` has anything to do. */
  private actsAfter(after: { snapshot: PairSnapshot; upgraded: boolean }): boolean {
    const { snapshot } = after;
    return after.upgraded || (snapshot.microsoftReferral === null && wantsMicrosoftConnected(snapshot.referral) && bornFrom(snapshot.referral, snapshot.record.ref));
  }
}

/** One line per sync: the pair, the fields written each way and the outcome; at info only when it changed something. */
function logSync(logger: Logger, run: SyncRun, commit: ReconcilePlan['commit']): void {
  const fields = (direction: AuditEntry['direction']) =>
    commit.audit.filter((e) => e.direction === direction && e.field !== null && (e.outcome === 'written' || e.outcome === 'conflict')).map((e) => e.field);
  const toCrm = fields('to-crm');
  const toPc = fields('to-pc');
  const held = commit.holdConflicts.map((c) => c.field);
  const failed = commit.link.syncState === 'error';
  const outcome = failed ? 'failed' : held.length ? 'held' : toCrm.length || toPc.length ? 'written' : 'unchanged';
  const line = { connection: run.name, referralId: commit.link.referralId, crm: `${commit.link.crmEntity}:${commit.link.crmId}`, cause: run.job.cause, toCrm, toPc, held, outcome };
  if (outcome === 'unchanged') logger.debug(line, 'pair synced');
  else logger.info(line, 'pair synced');
}
