import { createHash } from 'node:crypto';
import type { CrmRecordRef } from '../../crm/connector.ts';
import type { DealTeamUser } from '../../crm/deal-team.ts';
import type { FieldChange } from '../../partner-center/json-patch.ts';
import type { Member, Referral } from '../../partner-center/model.ts';
import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import { recordAudit, type AuditStamp } from './audit-entries.ts';

/*
 * The partner team, both ways: the referral's `team` (the partner's people on the deal) ⇄ the opportunity's owner and
 * team members, matched to CRM users by e-mail (case-insensitive). A three-way merge of two sets against the set both
 * sides last agreed on (the pair's base):
 * - a member added in Partner Center is added to the opportunity's team when a CRM user has that e-mail; otherwise it
 *   is audited once (remembered in the base) and no user is created;
 * - the owner or a team member added in the CRM is added to the referral's team;
 * - a removal on either side is audited once, never propagated (people on a deal are access, not data to delete).
 */

export const TEAM_BASE = '@team';
export const TEAM_UNKNOWN_BASE = '@teamUnknown';
export const TEAM_REMOVED_BASE = '@teamRemoved';
/** The referral's partner team as this sync left it (see `referralTeamChanged`). */
export const TEAM_DIGEST_BASE = '@teamDigest';
/** When the sync that merged it began reading the CRM's team: a notification received later may be news. */
export const TEAM_READ_AT_BASE = '@teamReadAt';
const BASE_KEYS = [TEAM_BASE, TEAM_UNKNOWN_BASE, TEAM_REMOVED_BASE, TEAM_DIGEST_BASE, TEAM_READ_AT_BASE];

export interface DealTeamInput {
  stamp: AuditStamp;
  referralId: string;
  referral: Referral;
  ref: CrmRecordRef;
  /** The opportunity's owner and team members. */
  crm: readonly DealTeamUser[];
  /** CRM users found for the referral's members missing from the opportunity. */
  users: readonly DealTeamUser[];
  base: CanonicalRecord | undefined;
  /** When the CRM's team was read (kept in the base, see TEAM_READ_AT_BASE). */
  readAt?: string | undefined;
}

export interface DealTeamPlan {
  /** E-mails of CRM users to add to the opportunity's team. */
  addToCrm: string[];
  toPc: FieldChange | null;
  nextBase: CanonicalRecord;
  audit: AuditEntry[];
}

const key = (email: string): string => email.trim().toLowerCase();
const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== '';
const list = (value: unknown): Set<string> => new Set(Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').map(key) : []);

/** The referral's partner team members with an e-mail, as keys. */
export function referralTeamEmails(referral: Referral): string[] {
  return (referral.team ?? []).map((m) => m.email).filter(present).map(key);
}

/** A digest of a partner team as the merge sees it: its members' e-mails. */
export function teamDigest(members: readonly Member[]): string {
  const emails = [...new Set(members.map((m) => m.email).filter(present).map(key))].sort();
  return createHash('sha256').update(JSON.stringify(emails)).digest('base64url');
}

/** Whether the referral's partner team differs from what the pair's last merge of it left (or was never merged). */
export function referralTeamChanged(referral: Referral, base: CanonicalRecord | undefined): boolean {
  return base?.[TEAM_DIGEST_BASE] !== teamDigest(referral.team ?? []);
}

/** A sync that did not read the team changes nothing of it: its base keys stay as they were. */
export function keptDealTeam(base: CanonicalRecord): DealTeamPlan {
  const nextBase: CanonicalRecord = {};
  for (const k of BASE_KEYS) if (Object.hasOwn(base, k)) nextBase[k] = base[k] ?? null;
  return { addToCrm: [], toPc: null, nextBase, audit: [] };
}

export function planDealTeamSync(input: DealTeamInput): DealTeamPlan {
  const pc = new Set(referralTeamEmails(input.referral));
  const crm = new Map(input.crm.filter((u) => present(u.email)).map((u) => [key(u.email), u]));
  const users = new Set(input.users.filter((u) => present(u.email)).map((u) => key(u.email)));
  const base = list(input.base?.[TEAM_BASE]);
  const unknownBefore = list(input.base?.[TEAM_UNKNOWN_BASE]);
  const removedBefore = list(input.base?.[TEAM_REMOVED_BASE]);
  const audit: AuditEntry[] = [];
  const note = (direction: AuditEntry['direction'], outcome: AuditEntry['outcome'], message: string) =>
    audit.push(recordAudit(input.stamp, { referralId: input.referralId, ref: input.ref, direction, outcome, message }));

  const agreed = new Set<string>();
  const unknown = new Set<string>();
  const removed = new Set<string>();
  const addToCrm: string[] = [];
  const addToPc: DealTeamUser[] = [];
  for (const email of pc) {
    if (crm.has(email)) agreed.add(email);
    else if (base.has(email)) {
      if (!removedBefore.has(email)) note('to-pc', 'skipped', `partner team member ${email} is no longer on the opportunity's team; kept on the referral`);
      removed.add(email);
      agreed.add(email);
    } else if (users.has(email)) {
      addToCrm.push(email);
      agreed.add(email);
      note('to-crm', 'written', `partner team member ${email} added to the opportunity's team`);
    } else {
      if (!unknownBefore.has(email)) note('to-crm', 'skipped', `partner team member ${email} has no CRM user with that e-mail; not added (users are never created)`);
      unknown.add(email);
    }
  }
  for (const [email, user] of crm) {
    if (pc.has(email)) continue;
    if (base.has(email)) {
      if (!removedBefore.has(email)) note('to-crm', 'skipped', `partner team member ${email} was removed from the referral; kept on the opportunity`);
      removed.add(email);
      agreed.add(email);
    } else {
      addToPc.push(user);
      agreed.add(email);
      note('to-pc', 'written', `${email} added to the referral's partner team`);
    }
  }
  const pcAfter = addToPc.length > 0 ? [...(input.referral.team ?? []), ...addToPc.map(member)] : (input.referral.team ?? []);
  return {
    addToCrm,
    toPc: addToPc.length > 0 ? { path: ['team'], value: pcAfter } : null,
    nextBase: { [TEAM_BASE]: [...agreed].sort(), [TEAM_UNKNOWN_BASE]: [...unknown].sort(), [TEAM_REMOVED_BASE]: [...removed].sort(), [TEAM_DIGEST_BASE]: teamDigest(pcAfter), ...(input.readAt !== undefined ? { [TEAM_READ_AT_BASE]: input.readAt } : {}) },
    audit,
  };
}

function member(user: DealTeamUser): Member {
  return { email: user.email, ...(user.firstName ? { firstName: user.firstName } : {}), ...(user.lastName ? { lastName: user.lastName } : {}) };
}
