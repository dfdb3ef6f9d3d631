import { createHash } from 'node:crypto';
import type { CrmRecordRef, CustomerContact } from '../../crm/connector.ts';
import type { FieldChange } from '../../partner-center/json-patch.ts';
import type { Member, Referral } from '../../partner-center/model.ts';
import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import { recordAudit, type AuditStamp } from './audit-entries.ts';

/*
 * A deal's customer contacts after creation, both ways: the referral's `customerProfile.team` (Member[]) ⇄ the CRM
 * opportunity's contacts (Salesforce OpportunityContactRole, Dynamics parentcontactid + stakeholder connections).
 * A three-way merge of two lists keyed by e-mail (case-insensitive) against the list both sides last agreed on, kept in
 * the pair's base:
 * - a contact added on one side is added on the other (the CRM connector reuses a contact row with that e-mail);
 * - an edit of a contact's name or phone travels to the other side (Partner Center's edit wins when both sides edited);
 * - a contact removed on one side is audited once and kept on the other, unless the mapping propagates removals;
 * - contacts without an e-mail cannot be matched across the sides: they are left alone.
 */

/**
 * Base keys: the contacts both sides agreed on (one JSON object per contact), those removed on one side only, and a
 * digest of the referral's contacts as this sync left them: a later sync whose referral has the same digest knows
 * Partner Center's contacts did not change, so it reads the CRM's only when a notification or the periodic pass says to.
 */
export const CONTACTS_BASE = '@contacts';
export const CONTACTS_REMOVED_BASE = '@contactsRemoved';
export const CONTACTS_DIGEST_BASE = '@contactsDigest';
/** When the sync that merged them began reading the CRM's contacts: a notification received later may be news. */
export const CONTACTS_READ_AT_BASE = '@contactsReadAt';
const BASE_KEYS = [CONTACTS_BASE, CONTACTS_REMOVED_BASE, CONTACTS_DIGEST_BASE, CONTACTS_READ_AT_BASE];

const FIELDS = ['firstName', 'lastName', 'phone'] as const;
type ContactField = (typeof FIELDS)[number];

export interface KeyedContact {
  email: string;
  firstName?: string | undefined;
  lastName?: string | undefined;
  phone?: string | undefined;
}

export interface DealContactsInput {
  stamp: AuditStamp;
  referralId: string;
  referral: Referral;
  ref: CrmRecordRef;
  /** The opportunity's contacts in the CRM. */
  crm: readonly CustomerContact[];
  base: CanonicalRecord | undefined;
  /** The mapping's choice: a removal on one side removes the contact on the other (default: audited only). */
  propagateRemovals: boolean;
  /** When the CRM's contacts were read (kept in the base, see CONTACTS_READ_AT_BASE). */
  readAt?: string | undefined;
}

export interface DealContactsPlan {
  /** Contacts to link to the opportunity (matched by e-mail in the CRM, else created). */
  addToCrm: KeyedContact[];
  /** Linked contacts whose name or phone changed in Partner Center. */
  editInCrm: KeyedContact[];
  /** E-mails to unlink from the opportunity (only when the mapping propagates removals). */
  removeFromCrm: string[];
  toPc: FieldChange | null;
  nextBase: CanonicalRecord;
  audit: AuditEntry[];
}

const key = (email: string): string => email.trim().toLowerCase();
const clean = (value: string | null | undefined): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

function keyed(contact: CustomerContact): KeyedContact | undefined {
  const email = clean(contact.email);
  if (!email) return undefined;
  return { email, firstName: clean(contact.firstName), lastName: clean(contact.lastName), phone: clean(contact.phone) };
}

function byEmail(contacts: readonly CustomerContact[]): Map<string, KeyedContact> {
  const out = new Map<string, KeyedContact>();
  for (const contact of contacts) {
    const k = keyed(contact);
    if (k && !out.has(key(k.email))) out.set(key(k.email), k);
  }
  return out;
}

/** The referral's customer contacts as CRM-neutral contacts. */
export function referralContacts(referral: Referral): CustomerContact[] {
  return (referral.customerProfile?.team ?? []).map((m) => ({ firstName: m.firstName ?? undefined, lastName: m.lastName ?? undefined, email: m.email ?? undefined, phone: m.phoneNumber ?? undefined }));
}

function decodeBase(value: unknown): Map<string, KeyedContact> {
  const out = new Map<string, KeyedContact>();
  if (!Array.isArray(value)) return out;
  for (const item of value) {
    if (typeof item !== 'string') continue;
    try {
      const parsed = JSON.parse(item) as Record<string, unknown>;
      const contact = keyed({ email: str(parsed.email), firstName: str(parsed.firstName), lastName: str(parsed.lastName), phone: str(parsed.phone) });
      if (contact) out.set(key(contact.email), contact);
    } catch {
      // A damaged entry is as good as none: the contact then counts as new on both sides, which adds nothing twice.
    }
  }
  return out;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const encode = (contact: KeyedContact): string => JSON.stringify({ email: contact.email, firstName: contact.firstName, lastName: contact.lastName, phone: contact.phone });
const removedList = (value: unknown): Set<string> => new Set(Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').map(key) : []);

/** Per field: Partner Center's value where it changed since the base (or where there is no base and it has one), else the CRM's. */
function mergeContact(pc: KeyedContact, crm: KeyedContact, base: KeyedContact | undefined): KeyedContact {
  const merged: KeyedContact = { email: pc.email };
  for (const field of FIELDS) {
    const pcChanged = base ? pc[field] !== base[field] : pc[field] !== undefined;
    merged[field as ContactField] = pcChanged ? pc[field] : crm[field];
  }
  return merged;
}

const sameContact = (a: KeyedContact, b: KeyedContact): boolean => FIELDS.every((field) => a[field] === b[field]);

/** What the merge builds up, side by side. */
interface Merging {
  pc: Map<string, KeyedContact>;
  crm: Map<string, KeyedContact>;
  base: Map<string, KeyedContact>;
  removedBefore: Set<string>;
  propagateRemovals: boolean;
  note: (direction: AuditEntry['direction'], outcome: AuditEntry['outcome'], message: string) => void;
  addToCrm: KeyedContact[];
  editInCrm: KeyedContact[];
  removeFromCrm: string[];
  agreed: Map<string, KeyedContact>;
  removed: Set<string>;
  /** Partner Center's list after the merge, in its order, then the CRM's additions. */
  pcNext: KeyedContact[];
  pcChanged: boolean;
}

/** A digest of the referral's customer contacts as the merge sees them: matched by e-mail, name and phone. */
export function contactsDigest(members: readonly Member[]): string {
  const contacts = [...byEmail(members.map((m) => ({ firstName: m.firstName ?? undefined, lastName: m.lastName ?? undefined, email: m.email ?? undefined, phone: m.phoneNumber ?? undefined }))).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, contact]) => encode({ ...contact, email: k }));
  return createHash('sha256').update(JSON.stringify(contacts)).digest('base64url');
}

/** Whether Partner Center's contacts differ from what the pair's last merge of them left (or were never merged). */
export function referralContactsChanged(referral: Referral, base: CanonicalRecord | undefined): boolean {
  return base?.[CONTACTS_DIGEST_BASE] !== contactsDigest(referral.customerProfile?.team ?? []);
}

/** A sync that did not read the contacts changes nothing of them: the agreed list stays in the base as it was. */
export function keptDealContacts(base: CanonicalRecord): DealContactsPlan {
  const nextBase: CanonicalRecord = {};
  for (const key of BASE_KEYS) if (Object.hasOwn(base, key)) nextBase[key] = base[key] ?? null;
  return { addToCrm: [], editInCrm: [], removeFromCrm: [], toPc: null, nextBase, audit: [] };
}

export function planDealContactsSync(input: DealContactsInput): DealContactsPlan {
  const audit: AuditEntry[] = [];
  const m: Merging = {
    pc: byEmail(referralContacts(input.referral)),
    crm: byEmail(input.crm),
    // A pair without a stored list (linked before this sync existed, or just created) removes nothing: only additions travel.
    base: decodeBase(input.base?.[CONTACTS_BASE]),
    removedBefore: removedList(input.base?.[CONTACTS_REMOVED_BASE]),
    propagateRemovals: input.propagateRemovals,
    note: (direction, outcome, message) => audit.push(recordAudit(input.stamp, { referralId: input.referralId, ref: input.ref, direction, outcome, message })),
    addToCrm: [],
    editInCrm: [],
    removeFromCrm: [],
    agreed: new Map(),
    removed: new Set(),
    pcNext: [],
    pcChanged: false,
  };
  for (const [k, p] of m.pc) mergePcContact(m, k, p);
  for (const [k, c] of m.crm) if (!m.pc.has(k)) mergeCrmOnlyContact(m, k, c);
  const pcAfter = m.pcChanged ? teamEntries(input.referral, m.pcNext) : (input.referral.customerProfile?.team ?? []);
  return {
    addToCrm: m.addToCrm,
    editInCrm: m.editInCrm,
    removeFromCrm: m.removeFromCrm,
    toPc: m.pcChanged ? { path: ['customerProfile', 'team'], value: pcAfter } : null,
    nextBase: {
      [CONTACTS_BASE]: [...m.agreed.values()].map(encode),
      [CONTACTS_REMOVED_BASE]: [...m.removed],
      [CONTACTS_DIGEST_BASE]: contactsDigest(pcAfter),
      ...(input.readAt !== undefined ? { [CONTACTS_READ_AT_BASE]: input.readAt } : {}),
    },
    audit,
  };
}

/** A contact on the referral: on both sides (merge its fields), removed from the opportunity, or new in Partner Center. */
function mergePcContact(m: Merging, k: string, p: KeyedContact): void {
  const c = m.crm.get(k);
  const b = m.base.get(k);
  if (c) {
    const merged = mergeContact(p, c, b);
    if (!sameContact(merged, c)) {
      m.editInCrm.push(merged);
      m.note('to-crm', 'written', `customer contact ${merged.email} updated`);
    }
    if (!sameContact(merged, p)) m.pcChanged = true;
    m.agreed.set(k, merged);
    m.pcNext.push(merged);
  } else if (b && !m.propagateRemovals) {
    // Removed from the opportunity by the seller: kept in Partner Center, said once.
    if (!m.removedBefore.has(k)) m.note('to-pc', 'skipped', `customer contact ${p.email} was removed from the opportunity; kept on the referral (the mapping does not propagate removals)`);
    m.removed.add(k);
    m.agreed.set(k, b);
    m.pcNext.push(p);
  } else if (b) {
    m.pcChanged = true;
    m.note('to-pc', 'written', `customer contact ${p.email} removed from the referral (removed from the opportunity)`);
  } else {
    m.addToCrm.push(p);
    m.note('to-crm', 'written', `customer contact ${p.email} added to the opportunity`);
    m.agreed.set(k, p);
    m.pcNext.push(p);
  }
}

/** A contact on the opportunity only: removed from the referral, or new in the CRM. */
function mergeCrmOnlyContact(m: Merging, k: string, c: KeyedContact): void {
  const b = m.base.get(k);
  if (b && !m.propagateRemovals) {
    if (!m.removedBefore.has(k)) m.note('to-crm', 'skipped', `customer contact ${c.email} was removed from the referral; kept on the opportunity (the mapping does not propagate removals)`);
    m.removed.add(k);
    m.agreed.set(k, b);
  } else if (b) {
    m.removeFromCrm.push(c.email);
    m.note('to-crm', 'written', `customer contact ${c.email} removed from the opportunity (removed from the referral)`);
  } else {
    m.pcChanged = true;
    m.note('to-pc', 'written', `customer contact ${c.email} added to the referral`);
    m.agreed.set(k, c);
    m.pcNext.push(c);
  }
}

/**
 * The referral's customer team for `contacts`: entries it already has keep their other fields (contact preference,
 * title); contacts without an e-mail, which the merge cannot match, stay as they were.
 */
function teamEntries(referral: Referral, contacts: readonly KeyedContact[]): Member[] {
  const existing = referral.customerProfile?.team ?? [];
  const byKey = new Map(existing.filter((m) => clean(m.email)).map((m) => [key(m.email ?? ''), m]));
  const withoutEmail = existing.filter((m) => !clean(m.email));
  const entries = contacts.map((c) => {
    const entry: Member = { ...byKey.get(key(c.email)), email: c.email };
    for (const [field, wire] of [['firstName', 'firstName'], ['lastName', 'lastName'], ['phone', 'phoneNumber']] as const) {
      const value = c[field];
      if (value === undefined) delete entry[wire];
      else entry[wire] = value;
    }
    return entry;
  });
  return [...entries, ...withoutEmail];
}
