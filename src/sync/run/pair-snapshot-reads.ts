import type { CrmRecord } from '../../crm/connector.ts';
import { solutionKey } from '../../crm/solutions.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { AuditEntry, Link } from '../../store/types.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { crmChangedAt, crmFieldChangedAt, needsArrivalTime } from '../plan/change-times.ts';
import { wantsCoSellUpgrade } from '../plan/co-sell-upgrade.ts';
import { crmSideFromBase } from '../plan/crm-mirror.ts';
import { isSyncedCoSell, needsCatalogue } from '../plan/deal-solutions.ts';
import type { PairSnapshot } from '../plan/reconcile-plan.ts';
import type { SyncStorePort } from '../ports.ts';
import { peopleCheckOf, peopleToRead, readDealContacts } from './contacts.ts';
import type { EngagementReader } from './engagement.ts';
import type { ReadReferral, SyncRun } from './sync-run.ts';
import { readDealTeam } from './team.ts';

/** Both records of a pair, ready to merge. */
export interface Pair {
  read: ReadReferral;
  record: CrmRecord;
  mapping: EntityMapping;
  link: Link | null;
  /** The side the pair started from: authoritative on a first link. */
  origin: 'pc' | 'crm';
  /** Rows of earlier steps of this run, committed with the pair. */
  audit?: AuditEntry[];
  /** `record` was not read but taken as the last commit left it (see run/blind-crm-write.ts). */
  assumed?: boolean;
}

/** Whether this pair's deal solutions sync (deal-solutions.ts): an open co-sell opportunity in a CRM with the catalogue. */
export function syncsSolutions(run: SyncRun, entity: string, referral: Referral): boolean {
  return run.connector.solutions !== undefined && entity === 'opportunity' && isSyncedCoSell(referral);
}

/** Everything `planReconcile` decides on besides the two records: the store's rows and the reads only some pairs need. */
export class PairSnapshotReads {
  constructor(private readonly deps: { store: SyncStorePort; engagements: EngagementReader }) {}

  async snapshot(run: SyncRun, pair: Pair): Promise<PairSnapshot> {
    const { sync } = this.deps.store;
    const { read, record, mapping, link } = pair;
    // A linked pair's Microsoft-side fields keep their base unless the notification could concern Microsoft's referral.
    const microsoftReferral = link && !run.job.microsoftSide ? undefined : await this.deps.engagements.microsoftSide(read.referral, mapping);
    const people = mapping.syncContactsAndTeam ? await peopleToRead({ ...peopleCheckOf(run, this.deps.store.inbox), link, referral: read.referral }) : { contacts: false, team: false };
    return {
      stamp: run.stamp,
      ownsReferralCrmId: run.connection.policy.ownsReferralCrmId,
      referral: read.referral,
      referralId: read.id,
      eTag: read.eTag,
      record,
      crmAssumed: pair.assumed === true,
      mapping,
      link,
      origin: pair.origin,
      microsoftReferral,
      intent: await sync.getIntent(run.name, read.id, record.ref.entity),
      pcFieldWrites: await sync.pcFieldWrites(read.id),
      crmChangedAt: await this.crmChangedAt(run, record),
      crmFieldChangedAt: link ? await this.crmFieldChangedAt(run, link, record, mapping) : {},
      held: (await sync.conflicts(run.name)).filter((c) => c.referralId === read.id),
      heldValue: run.connector.heldValue?.bind(run.connector),
      decision: run.connector.coSellDecisions?.decision(record) ?? null,
      dealSolutions: await this.dealSolutionsIfUpgrading(run, pair),
      coSellSolutions: await this.coSellSolutions(run, pair),
      ...(people.contacts || people.team ? { peopleReadAt: new Date().toISOString() } : {}),
      dealContacts: people.contacts ? await readDealContacts(run.connector, pair.record.ref, pair.link) : undefined,
      dealTeam: people.team ? await readDealTeam(run.connector, pair.record.ref, pair.link, read.referral) : undefined,
      audit: pair.audit ?? [],
    };
  }

  /** The deal's Microsoft Solutions when a private deal's seller asks for Microsoft's help; otherwise not read. */
  private async dealSolutionsIfUpgrading(run: SyncRun, pair: Pair): Promise<readonly string[] | null | undefined> {
    const crm = pair.assumed ? crmSideFromBase(pair.mapping, pair.link?.base) : pair.mapping.crmToCanonical(pair.record.values);
    if (pair.record.ref.entity !== 'opportunity' || !wantsCoSellUpgrade(pair.read.referral, crm)) return undefined;
    return run.connector.solutions ? run.connector.solutions.readDealSolutions(pair.record.ref) : null;
  }

  /**
   * A linked co-sell deal's Microsoft Solutions, synced both ways on every sync of the pair (deal-solutions.ts). Costs
   * one CRM read per sync of a co-sell pair, plus a catalogue read when Partner Center names ids neither side agreed on or the CRM lost an agreed one.
   * An unaccepted incoming referral takes only an answer and a closed one no edit: not read then.
   */
  private async coSellSolutions(run: SyncRun, pair: Pair): Promise<PairSnapshot['coSellSolutions']> {
    const { solutions } = run.connector;
    const { referral } = pair.read;
    if (!solutions || !pair.link || !syncsSolutions(run, pair.record.ref.entity, referral)) return undefined;
    const crm = await solutions.readDealSolutions(pair.record.ref);
    const catalogue = needsCatalogue(referral, crm, pair.link.base) ? new Set((await solutions.list()).map((s) => solutionKey(s.solutionId))) : undefined;
    return { crm, catalogue };
  }

  /** The record's time, refined by when its newest notification arrived (see `crmChangedAt`). */
  private async crmChangedAt(run: SyncRun, record: CrmRecord): Promise<string> {
    if (!needsArrivalTime(record)) return record.modifiedAt;
    const [latest] = await this.deps.store.inbox.list({ limit: 1, source: run.connector.kind, resourceId: record.ref.id });
    return crmChangedAt(record, latest?.receivedAt);
  }

  /** Per field, from the record's notifications since the last commit, where its vendor can read them (see `crmFieldChangedAt`). */
  private async crmFieldChangedAt(run: SyncRun, link: Link, record: CrmRecord, mapping: EntityMapping): Promise<Record<string, string>> {
    const changes = run.connection.notifiedChanges;
    if (!changes) return {};
    const notifications = await this.deps.store.inbox.list({ limit: 20, source: run.connector.kind, resourceId: record.ref.id });
    return crmFieldChangedAt({ since: link.updatedAt, mapping, notifications, changes });
  }
}
