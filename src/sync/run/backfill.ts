import type { CrmConnector, CrmEntityName } from '../../crm/connector.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { Job } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { KeyedLock } from '../../util/keyed-lock.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { recordAudit } from '../plan/audit-entries.ts';
import { baseOfWritten, crmCreateValues, entityFor } from '../plan/create-plans.ts';
import { customerFromReferral } from '../plan/crm-canonical.ts';
import type { SyncStorePort } from '../ports.ts';
import { mappingFor, type ConnectionSetup } from '../connection.ts';
import { customerKey } from './customers.ts';

type BulkConnector = CrmConnector & Required<Pick<CrmConnector, 'createManyForReferrals' | 'ensureCustomers'>>;

function canBulkCreate(connector: CrmConnector): connector is BulkConnector {
  return connector.createManyForReferrals !== undefined && connector.ensureCustomers !== undefined;
}

interface Unlinked {
  referral: Referral;
  id: string;
}

interface Group {
  entity: CrmEntityName;
  mapping: EntityMapping;
  referrals: Unlinked[];
}

/**
 * First-run backfill through a connector's bulk API: unlinked referrals that belong in the CRM are created in batches
 * (customers first) and linked at once, so thousands of existing referrals cost a few calls per 200 instead of several
 * per referral. The referrals come from the reconciler's listing, so this costs no Partner Center reads; Microsoft's
 * side of co-sell deals is filled by the pair's next sync.
 */
export class Backfill {
  constructor(private readonly deps: { store: SyncStorePort; customerLock: KeyedLock }) {}

  /** Returns the referrals it linked; everything else is left to normal jobs. */
  async run(connection: ConnectionSetup | undefined, referrals: readonly Referral[], cause: Job['cause']): Promise<Set<string>> {
    const connector = connection?.connector;
    const linked = new Set<string>();
    if (!connection || !connector || !canBulkCreate(connector)) return linked;
    for (const group of this.groups(connection, referrals)) {
      for (const id of await this.createGroup(connector, group, cause)) linked.add(id);
    }
    return linked;
  }

  private groups(connection: ConnectionSetup, referrals: readonly Referral[]): Group[] {
    const byEntity = new Map<CrmEntityName, Unlinked[]>();
    for (const referral of referrals) {
      if (typeof referral.id !== 'string' || this.deps.store.sync.getLink(connection.connector.name, referral.id)) continue;
      const entity = entityFor(referral, connection);
      if (entity) byEntity.set(entity, [...(byEntity.get(entity) ?? []), { referral, id: referral.id }]);
    }
    return [...byEntity].map(([entity, group]) => ({ entity, mapping: mappingFor(connection, entity), referrals: group }));
  }

  private async createGroup(connector: BulkConnector, group: Group, cause: Job['cause']): Promise<string[]> {
    const { store, customerLock } = this.deps;
    const { entity, mapping, referrals } = group;
    const profiles = referrals.map((r) => customerFromReferral(r.referral));
    const customers = await customerLock.runAll(
      profiles.map((profile) => customerKey(connector, profile)),
      () => connector.ensureCustomers(profiles),
    );
    const canonical: CanonicalRecord[] = referrals.map((r) => crmCreateValues(mapping, mapping.referralToCanonical(r.referral, null), r.id));
    store.sync.recordIntents(referrals.map((r, i) => ({ connection: connector.name, referralId: r.id, crmEntity: entity, base: canonical[i] ?? {}, toCrm: {}, toPc: {} })));
    const results = await connector.createManyForReferrals(
      entity,
      referrals.map((r, i) => ({
        referralId: r.id,
        values: mapping.canonicalToCrm(canonical[i] ?? {}),
        customer: customers[i],
        status: { ok: true, auditLines: [`${new Date().toISOString()} created from Partner Center referral ${r.id} (backfill)`] },
      })),
    );
    const stamp = { connection: connector.name, cause };
    const linked: string[] = [];
    results.forEach((result, i) => {
      const unlinked = referrals[i];
      if (!unlinked || result.outcome !== 'created' || !result.ref) return;
      const { referral, id } = unlinked;
      // No read back, no version yet: the next sync of the pair fills them in.
      store.sync.commit({
        link: { connection: connector.name, referralId: id, crmEntity: entity, crmId: result.ref.id, base: baseOfWritten(mapping, canonical[i]), pcEtag: typeof referral.eTag === 'string' ? referral.eTag : null, crmVersion: null, syncState: 'ok', lastError: null },
        audit: [recordAudit(stamp, { referralId: id, ref: result.ref, direction: 'to-crm', outcome: 'created', message: `${entity} created from referral (backfill)` })],
        holdConflicts: [],
        releaseConflicts: [],
      });
      linked.push(id);
    });
    return linked;
  }
}
