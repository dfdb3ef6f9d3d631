import type { CoSellDecision, CrmRecord, CustomerContact } from '../../crm/connector.ts';
import type { DealTeamUser } from '../../crm/deal-team.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { AuditEntry, HeldConflict, Link, WriteIntent } from '../../store/types.ts';
import type { CanonicalValue } from '../../canonical-value.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import type { AuditStamp } from './audit-entries.ts';
import type { HeldValue } from './crm-canonical.ts';

/**
 * Everything one sync of a linked (or being linked) pair knows once both sides are read: plain data, no clients.
 * `microsoftReferral` is undefined when it was not read (a linked pair's Microsoft-side fields then keep their base).
 */
export interface PairSnapshot {
  stamp: AuditStamp;
  /** This connection writes the referral's "CRM ID" (externalReferenceId). */
  ownsReferralCrmId: boolean;
  referral: Referral;
  referralId: string;
  eTag: string | undefined;
  record: CrmRecord;
  /**
   * The record was not read: it is taken to be as the last commit left it (its values are the link's base, its version
   * the link's), and the CRM write's If-Match finds out otherwise (see run/blind-crm-write.ts).
   */
  crmAssumed?: boolean;
  mapping: EntityMapping;
  link: Link | null;
  /** The side that made the pair (authoritative on a first link without a base). */
  origin: 'pc' | 'crm';
  microsoftReferral: Referral | null | undefined;
  /** A write intent the pair's last sync left behind without committing. */
  intent: WriteIntent | null;
  /** Values our syncs wrote to Partner Center, with when the CRM edit they came from was made. */
  pcFieldWrites: Readonly<Record<string, { value: CanonicalValue; changedAt: string }>>;
  crmChangedAt: string;
  crmFieldChangedAt: Readonly<Record<string, string>>;
  /** This pair's held conflicts, with any operator's resolution waiting to be written. */
  held: readonly HeldConflict[];
  heldValue: HeldValue | undefined;
  /** The seller's answer in the CRM to an incoming co-sell referral (Accept / Decline with a reason), if any. */
  decision: CoSellDecision | null;
  /**
   * The deal's Microsoft Solutions (null: the CRM has no catalogue), read only when the plan needs them (a private
   * deal whose seller now asks for Microsoft's help); undefined when not read.
   */
  dealSolutions?: readonly string[] | null;
  /**
   * A linked co-sell deal's Microsoft Solutions as the CRM holds them, with the CRM catalogue's ids when Partner Center
   * names ids neither side agreed on (see deal-solutions.ts); undefined when not read (not a co-sell pair).
   */
  coSellSolutions?: { crm: readonly string[]; catalogue: ReadonlySet<string> | undefined };
  /** When this sync began reading the opportunity's people: notifications received later are looked at again (run/contacts.ts). */
  peopleReadAt?: string;
  /** A linked opportunity's customer contacts as the CRM holds them (see deal-contacts.ts); undefined when not read. */
  dealContacts?: readonly CustomerContact[];
  /** A linked opportunity's owner and team members, and the CRM users found for the referral's missing members (see deal-team.ts). */
  dealTeam?: { crm: readonly DealTeamUser[]; users: readonly DealTeamUser[] };
  /** Audit rows of earlier steps of the same run (a lead's promotion), committed with this one. */
  audit: readonly AuditEntry[];
}
