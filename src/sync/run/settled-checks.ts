import type { CrmRecord } from '../../crm/connector.ts';
import type { Link } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { SOLUTIONS_BASE } from '../plan/deal-solutions.ts';
import type { SyncStorePort } from '../ports.ts';
import { peopleCheckOf, peopleUnsynced } from './contacts.ts';
import { OWN_WRITE_INBOX_PAGE, onlyEchoes, type OwnReferralWrites } from './own-writes.ts';
import type { SyncRun } from './sync-run.ts';

/*
 * Whether a job finds its pair settled, typically at the echo of our own write: a settled pair costs no merge, no
 * write and no commit, and the echo of our own Partner Center write not even a read (see own-writes.ts).
 */

export interface SettledChecksDeps {
  store: SyncStorePort;
  logger: Logger;
  ownWrites: OwnReferralWrites;
}

/** A linked pair as a job found it: the referral's version, and whether its deal solutions sync (`syncsSolutions`). */
export interface SettledInput {
  run: SyncRun;
  link: Link;
  mapping: EntityMapping;
  eTag: string | undefined;
  coSell: boolean;
}

export class SettledChecks {
  constructor(private readonly deps: SettledChecksDeps) {}

  /**
   * Neither side changed since our last commit (typically the echo of our own write): the merge would find nothing.
   * A write intent left behind means the last sync never committed: always merge then. Microsoft's referral may have
   * changed without either record changing (related-referral-*): then it has to be read.
   */
  async isSettled(input: SettledInput & { record: CrmRecord }): Promise<boolean> {
    const { link, record } = input;
    return link.crmVersion !== null && link.crmVersion === record.version && (await this.isReferralSettled(input));
  }

  /**
   * The referral is the version we last committed and nothing of ours is pending: for a job about the referral alone,
   * nothing to do (a change of the CRM record has a notification, and the reconciler's CRM listing, of its own).
   */
  async isReferralSettled(input: SettledInput): Promise<boolean> {
    const { run, link } = input;
    const { sync } = this.deps.store;
    return (
      !(run.job.microsoftSide && input.mapping.readsMicrosoftReferral) &&
      // The reconciler's periodic re-read of open co-sell pairs is also what finds a change to the deal's solutions
      // alone (their rows are not the opportunity's, so its version does not move and no notification names it).
      !(run.job.microsoftSide && run.job.cause === 'reconcile' && input.coSell) &&
      // A co-sell pair whose solutions were never synced (just accepted, or linked before they were): sync them now.
      !(input.coSell && link.base?.[SOLUTIONS_BASE] === undefined) &&
      link.syncState === 'ok' &&
      link.pcEtag !== null &&
      link.pcEtag === input.eTag &&
      // The store last: its reads are asynchronous, and the checks above settle most jobs without them.
      !(await sync.getIntent(link.connection, link.referralId, link.crmEntity)) &&
      // An operator's resolution of a held conflict waits to be written even though neither record changed.
      !(await sync.conflicts(link.connection)).some((c) => c.referralId === link.referralId && c.resolution) &&
      // A contact role or team member changed (its own row: the opportunity's version did not move), or the periodic pass.
      !(input.mapping.syncContactsAndTeam === true && (await peopleUnsynced({ ...peopleCheckOf(run, this.deps.store.inbox), link })))
    );
  }

  /**
   * A notification job whose events announce nothing newer than our own committed write (see own-writes.ts): the pair
   * is settled without reading the referral, the echo of the backfill's "CRM ID" write costing no Partner Center call.
   */
  async settledByOwnWrite(run: SyncRun, link: Link, mapping: EntityMapping): Promise<boolean> {
    const own = this.deps.ownWrites.get(link.referralId);
    if (run.job.cause !== 'event' || !own || own.eTag !== link.pcEtag) return false;
    const coSell = run.connector.solutions !== undefined && link.crmEntity === 'opportunity' && own.syncedCoSell;
    if (!(await this.isReferralSettled({ run, link, mapping, eTag: own.eTag, coSell }))) return false;
    const notifications = await this.deps.store.inbox.list({ limit: OWN_WRITE_INBOX_PAGE, source: 'partner-center', resourceId: link.referralId });
    if (!onlyEchoes(own, notifications, OWN_WRITE_INBOX_PAGE)) return false;
    await this.deps.store.sync.labelDeal({ connection: run.name, referralId: link.referralId, crmEntity: null, crmId: null, ...own.label });
    this.deps.logger.debug({ connection: run.name, referralId: link.referralId, job: run.job.key }, 'echo of our own Partner Center write: pair settled without a read');
    return true;
  }
}
