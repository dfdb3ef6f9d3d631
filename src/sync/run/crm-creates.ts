import type { CrmEntityName } from '../../crm/connector.ts';
import type { AuditEntry, KeyedLocks } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { createdStatus, crmCreateValues } from '../plan/create-plans.ts';
import { customerFromReferral } from '../plan/crm-canonical.ts';
import { customerCreatedMessage, unfilledLookupLines } from '../plan/customer-creates.ts';
import { isEmpty } from '../plan/reconcile-plan.ts';
import type { SyncStorePort } from '../ports.ts';
import { customerKey } from './customers.ts';
import type { EngagementReader } from './engagement.ts';
import type { PairReconciler } from './pair-reconcile.ts';
import type { ReadReferral, SyncRun } from './sync-run.ts';

export interface CrmCreatesDeps {
  store: SyncStorePort;
  engagements: EngagementReader;
  /** Held around "create or get customer", so one customer account is created once (see `customerKey`). */
  customerLock: KeyedLocks;
  reconciler: PairReconciler;
}

/** The CRM record of a referral that has none yet: created, linked, then merged as any pair. */
export class CrmCreates {
  constructor(private readonly deps: CrmCreatesDeps) {}

  async create(run: SyncRun, create: { read: ReadReferral; entity: CrmEntityName; mapping: EntityMapping; audit?: AuditEntry[] }): Promise<void> {
    const { read, entity, mapping } = create;
    const { connector } = run;
    const pc = mapping.referralToCanonical(read.referral, await this.deps.engagements.microsoftSide(read.referral, mapping));
    const outbound = crmCreateValues(mapping, pc, read.id);
    const profile = customerFromReferral(read.referral);
    const customer = await this.deps.customerLock.run([customerKey(connector, profile)], () => connector.ensureCustomer(profile));
    await this.announceCreate(run, { referralId: read.id, entity, base: outbound });
    const status = createdStatus(read.id, new Date(), unfilledLookupLines(customer.created));
    const created = await connector.createForReferral(entity, read.id, mapping.canonicalToCrm(outbound), customer, mapping.columns, status);
    const audit: AuditEntry[] = [
      ...(create.audit ?? []),
      ...customer.created.map((ref) => run.note({ referralId: read.id, ref, outcome: 'created', message: customerCreatedMessage(ref) })),
    ];
    if (created.existed) {
      // An earlier attempt made the record (its answer was lost, or the process died) and a seller may have edited it
      // since: merged against what that attempt wrote (its create intent), so neither side's edit is overwritten.
      audit.push(run.note({ referralId: read.id, ref: created.ref, direction: 'none', outcome: 'linked', message: `found the ${entity} an earlier attempt created` }));
      await this.deps.reconciler.reconcile(run, { read, record: created, mapping, link: null, origin: 'pc', audit });
      return;
    }
    audit.push(run.note({ referralId: read.id, ref: created.ref, direction: 'to-crm', outcome: 'created', message: `${entity} created from referral` }));
    const link = await this.deps.reconciler.linkCreated(run, { read, record: created, mapping, pc, origin: 'pc', audit });
    await this.deps.reconciler.reconcile(run, { read, record: created, mapping, link, origin: 'pc' });
  }

  /**
   * The values a create sends, recorded before it: the base to merge against if the record turns out to exist when
   * the pair is next seen. An earlier attempt's announcement is kept: if any attempt created the record, it was the
   * first, with the first attempt's values.
   */
  private async announceCreate(run: SyncRun, create: { referralId: string; entity: CrmEntityName; base: CanonicalRecord }): Promise<void> {
    const { sync } = this.deps.store;
    // Read, then write: only this pair's job runs this (one job per pair, see `PairSync.exclusive`), so nothing comes
    // between.
    const earlier = await sync.getIntent(run.name, create.referralId, create.entity);
    if (earlier && isEmpty(earlier.toCrm) && isEmpty(earlier.toPc)) return;
    await sync.recordIntents([{ connection: run.name, referralId: create.referralId, crmEntity: create.entity, base: create.base, toCrm: {}, toPc: {} }]);
  }
}
