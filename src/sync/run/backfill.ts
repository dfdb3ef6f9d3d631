import type { BulkCreateResult, CreatedCustomerRecord, CrmConnector, CrmEntityName } from '../../crm/connector.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { DealLabel, Job, KeyedLocks, SyncCommit } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { Logger } from '../../util/logger.ts';
import { respondBy } from '../../partner-center/response-deadline.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { recordAudit } from '../plan/audit-entries.ts';
import { baseOfWritten, crmCreateValues, entityFor } from '../plan/create-plans.ts';
import { customerFromReferral } from '../plan/crm-canonical.ts';
import { customerCreatedMessage, unfilledLookupLines } from '../plan/customer-creates.ts';
import { referralCrmIdChange } from '../plan/reconcile-plan.ts';
import type { ReferralsPort, SyncStorePort } from '../ports.ts';
import { mappingFor, type ConnectionSetup } from '../connection.ts';
import { customerKey } from './customers.ts';
import { CrmIdWriteGate } from './crm-id-write-gate.ts';

type BulkConnector = CrmConnector & Required<Pick<CrmConnector, 'createManyForReferrals' | 'ensureCustomers'>>;

function canBulkCreate(connector: CrmConnector): connector is BulkConnector {
  return connector.createManyForReferrals !== undefined && connector.ensureCustomers !== undefined;
}

/**
 * Partner Center has no batch write: the "CRM ID" writes of all backfills under way go out this many at a time. With
 * 50 ms per call, 16 in flight linked 10,000 referrals in 60 s and 32 in 46 s (`npm run bench:backfill`); Partner
 * Center publishes no limit to stay under, and the gate halves the window at its first 429 (see crm-id-write-gate.ts).
 */
export const DEFAULT_CRM_ID_WRITES_IN_FLIGHT = 32;

interface Unlinked {
  referral: Referral;
  id: string;
}

interface Group {
  entity: CrmEntityName;
  mapping: EntityMapping;
  referrals: Unlinked[];
}

export interface BackfillResult {
  /** Referrals created (or found) and linked, with nothing left for a job. */
  linked: Set<string>;
  /** The input with every referral this backfill wrote replaced by its new version (new eTag, "CRM ID" set). */
  referrals: Referral[];
}

interface Created {
  unlinked: Unlinked;
  canonical: CanonicalRecord | undefined;
  result: BulkCreateResult & { ref: NonNullable<BulkCreateResult['ref']> };
  /** Customer records made for this referral, for the audit. */
  customers: readonly CreatedCustomerRecord[];
}

/**
 * First-run backfill through a connector's bulk API: unlinked referrals that belong in the CRM are created in batches
 * (customers first) and linked at once, so thousands of existing referrals cost a few calls per 200 instead of several
 * per referral. The referrals come from the reconciler's listing, so reading them costs no Partner Center call; the
 * connection that owns the referral's "CRM ID" writes it, as the one-at-a-time path does (one PATCH per referral:
 * Partner Center has no batch write), so the next pass finds every pair settled. Microsoft's side of co-sell deals is
 * filled by the pair's next sync.
 */
export class Backfill {
  /** Shared by the batches a reconcile pass runs side by side (see `Reconciler`), so the ceiling holds for all of them. */
  private readonly writes: CrmIdWriteGate;

  constructor(
    private readonly deps: {
      store: SyncStorePort;
      referrals: ReferralsPort;
      customerLock: KeyedLocks;
      logger: Logger;
      connectionNames: () => Iterable<string>;
      /** Ceiling of "CRM ID" writes in flight (sync.backfillWritesInFlight). */
      writesInFlight?: number;
    },
  ) {
    this.writes = new CrmIdWriteGate(deps.writesInFlight ?? DEFAULT_CRM_ID_WRITES_IN_FLIGHT);
  }

  /**
   * `before`: when another connection's backfill of the same batch runs side by side and may write the referrals'
   * "CRM ID" (the one owning it, earlier in registry order), the referrals as it leaves them. This one creates its
   * records meanwhile and waits for them only to link: its links then hold the versions that write produced, so the
   * notifications it raises find every pair settled.
   */
  async run(connection: ConnectionSetup | undefined, referrals: readonly Referral[], cause: Job['cause'], before?: Promise<readonly Referral[]>): Promise<BackfillResult> {
    const connector = connection?.connector;
    const latest = async (): Promise<readonly Referral[]> => (before ? await before : referrals);
    if (!connection || !connector || !canBulkCreate(connector)) return { linked: new Set<string>(), referrals: [...(await latest())] };
    const linked = new Set<string>();
    const written = new Map<string, Referral>();
    let versions: Promise<ReadonlyMap<string, Referral>> | undefined;
    const newest = () => (versions ??= latest().then((list) => new Map(list.map((referral) => [referral.id, referral]))));
    for (const group of await this.groups(connection, referrals)) {
      for (const [id, referral] of await this.createGroup(connection, connector, { ...group, cause, newest })) {
        linked.add(id);
        if (referral) written.set(id, referral);
      }
    }
    return { linked, referrals: (await latest()).map((referral) => written.get(referral.id) ?? referral) };
  }

  private async groups(connection: ConnectionSetup, referrals: readonly Referral[]): Promise<Group[]> {
    const byEntity = new Map<CrmEntityName, Unlinked[]>();
    for (const referral of referrals) {
      if (typeof referral.id !== 'string' || (await this.deps.store.sync.getLink(connection.connector.name, referral.id))) continue;
      if (await this.mayHaveRecord(connection.connector.name, referral)) continue;
      const entity = entityFor(referral, connection);
      if (entity) byEntity.set(entity, [...(byEntity.get(entity) ?? []), { referral, id: referral.id }]);
    }
    return [...byEntity].map(([entity, group]) => ({ entity, mapping: mappingFor(connection, entity), referrals: group }));
  }

  /**
   * A referral whose "CRM ID" no link of ours explains may already have its record in this CRM: a deal made from the
   * CRM whose link commit a crash lost, or a deal Microsoft's connector linked before us. Creating by referral id
   * would give it a second record; the one-at-a-time path looks the record up (and recovers a create's intent) first.
   */
  private async mayHaveRecord(connectionName: string, referral: Referral): Promise<boolean> {
    const crmId = referral.externalReferenceId;
    if (typeof crmId !== 'string' || crmId.trim() === '') return false;
    for (const other of this.deps.connectionNames()) {
      if (other === connectionName) continue;
      const link = await this.deps.store.sync.getLink(other, referral.id);
      if (link && link.crmId.toLowerCase() === crmId.trim().toLowerCase()) return false;
    }
    return true;
  }

  /** Creates one entity's records; answers each linked referral id with its new version when "CRM ID" was written. */
  private async createGroup(
    connection: ConnectionSetup,
    connector: BulkConnector,
    group: Group & { cause: Job['cause']; newest: () => Promise<ReadonlyMap<string, Referral>> },
  ): Promise<Map<string, Referral | undefined>> {
    const { store, customerLock } = this.deps;
    const { entity, mapping, referrals, cause, newest } = group;
    const profiles = referrals.map((r) => customerFromReferral(r.referral));
    const customers = await customerLock.run(
      profiles.map((profile) => customerKey(connector, profile)),
      () => connector.ensureCustomers(profiles),
    );
    const canonical: CanonicalRecord[] = referrals.map((r) => crmCreateValues(mapping, mapping.referralToCanonical(r.referral, null), r.id));
    await store.sync.recordIntents(referrals.map((r, i) => ({ connection: connector.name, referralId: r.id, crmEntity: entity, base: canonical[i] ?? {}, toCrm: {}, toPc: {} })));
    const results = await connector.createManyForReferrals(
      entity,
      referrals.map((r, i) => ({
        referralId: r.id,
        values: mapping.canonicalToCrm(canonical[i] ?? {}),
        customer: customers[i],
        status: { ok: true, auditLines: [`${new Date().toISOString()} created from Partner Center referral ${r.id} (backfill)`, ...unfilledLookupLines(customers[i]?.created ?? [])] },
      })),
    );
    // Linked (and "CRM ID" written) against the newest version: another connection's write may have replaced the listed one.
    const latest = await newest();
    const created: Created[] = [];
    results.forEach((result, i) => {
      const unlinked = referrals[i];
      if (!unlinked || result.outcome !== 'created' || !result.ref) return;
      const current = { ...unlinked, referral: latest.get(unlinked.id) ?? unlinked.referral };
      created.push({ unlinked: current, canonical: canonical[i], result: { ...result, ref: result.ref }, customers: customers[i]?.created ?? [] });
    });
    const versions = await Promise.all(created.map((item) => this.writeCrmId(connection, item)));
    const linked = new Map<string, Referral | undefined>();
    const commits: SyncCommit[] = [];
    for (const [i, item] of created.entries()) {
      const version = versions[i];
      if (version === null) continue; // the "CRM ID" write failed: linked, but the pair's job writes it
      commits.push(this.linkCommit({ connection: connector.name, entity, mapping, cause }, item, version));
      linked.set(item.unlinked.id, version?.referral);
    }
    // One transaction for the batch instead of one per pair. A crash before it leaves records and "CRM ID"s without
    // links: the next pass finds those referrals' "CRM ID" unexplained and leaves them to their jobs, which find the
    // record by referral id rather than create a second one (see mayHaveRecord).
    await store.sync.commitMany(commits);
    return linked;
  }

  /**
   * The referral's "CRM ID", when this connection owns it: If-Match the listed version, so a referral changed since the
   * listing is left to its job (which reads it) rather than overwritten. Answers the new version, undefined when
   * nothing was to be written, null when the write failed.
   */
  private async writeCrmId(connection: ConnectionSetup, item: Created): Promise<{ referral: Referral; eTag: string | undefined } | undefined | null> {
    const { referral } = item.unlinked;
    const change = referralCrmIdChange({ ownsReferralCrmId: connection.policy.ownsReferralCrmId, referral, record: { ref: item.result.ref } });
    if (!change) return undefined;
    try {
      const eTag = typeof referral.eTag === 'string' ? referral.eTag : undefined;
      // The new version in the answer (no extra call) lets the webhook our write raises be settled without a read
      // (see own-writes.ts).
      const written = await this.writes.run(() => this.deps.referrals.patch(referral.id, [change], { ...(eTag ? { ifMatch: eTag } : {}), returnRepresentation: true }));
      return { referral: { ...referral, externalReferenceId: item.result.ref.id, ...(written.eTag ? { eTag: written.eTag } : {}) }, eTag: written.eTag };
    } catch (error) {
      this.deps.logger.warn({ referralId: referral.id, error: error instanceof Error ? error.message : String(error) }, 'backfill: writing the CRM id to the referral failed; its sync job will');
      return null;
    }
  }

  /**
   * Written "CRM ID" or not, Partner Center notifies a change of the referral (ours, or the other connection's), and
   * the job it raises labels the deal with what it read: labelled here, in the commit, that job's label changes
   * nothing and costs no write of its own.
   */
  private label(connection: string, referral: Referral): DealLabel {
    return { connection, referralId: referral.id, crmEntity: null, crmId: null, name: referral.name ?? null, customer: referral.customerProfile?.name ?? null, respondBy: respondBy(referral) };
  }

  private linkCommit(
    group: { connection: string; entity: CrmEntityName; mapping: EntityMapping; cause: Job['cause'] },
    item: Created,
    written: { referral: Referral; eTag: string | undefined } | undefined,
  ): SyncCommit {
    const { referral, id } = item.unlinked;
    const listed = typeof referral.eTag === 'string' ? referral.eTag : null;
    const stamp = { connection: group.connection, cause: group.cause };
    // No read back: the version is what the create answered, where the CRM answers one (else the next sync fills it in).
    return {
      link: {
        connection: group.connection,
        referralId: id,
        crmEntity: group.entity,
        crmId: item.result.ref.id,
        base: baseOfWritten(group.mapping, item.canonical),
        pcEtag: written ? (written.eTag ?? null) : listed,
        crmVersion: item.result.version ?? null,
        syncState: 'ok',
        lastError: null,
      },
      audit: [
        ...item.customers.map((ref) => recordAudit(stamp, { referralId: id, ref, outcome: 'created', message: customerCreatedMessage(ref) })),
        recordAudit(stamp, { referralId: id, ref: item.result.ref, direction: 'to-crm', outcome: 'created', message: `${group.entity} created from referral (backfill)` }),
      ],
      holdConflicts: [],
      releaseConflicts: [],
      label: this.label(group.connection, referral),
    };
  }
}
