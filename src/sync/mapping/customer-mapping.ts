import type { CanonicalRecord } from '../../canonical-value.ts';
import type { CustomerColumns, CustomerContact, CustomerProfile } from '../../crm/connector.ts';
import { isAlpha2 } from '../../crm/country/iso-3166.ts';
import { describeValue } from './canonical.ts';
import { canonicalToCrm, crmToCanonical, referralToCanonical } from './convert.ts';
import { crmColumnsToRead } from './crm-columns.ts';
import { readAt, type PcSegment } from './pc-path.ts';
import type { EntitySpec, FieldMapping, MappingSpec } from './spec.ts';
import { flowsToCrm } from './spec.ts';
import { codecFor } from './transforms/index.ts';
import type { Referral } from '../../partner-center/model.ts';

/*
 * The mapping file's `account` and `contact` sections as the connectors' customer code uses them (CustomerColumns):
 * a customer profile (what Partner Center says of the customer) goes through the same conversions as a referral, so
 * transforms, custom columns with a constant and a configurable country apply to the account and its contacts too.
 */

/** Where the account section finds the customer's country; the field reading it is the "country setting". */
export const COUNTRY_PATH = 'customerProfile.address.country';

export function customerColumnsOf(spec: MappingSpec): CustomerColumns | undefined {
  const { account, contact } = spec.entities;
  return account && contact ? new MappedCustomerColumns(account, contact) : undefined;
}

/** The account field reading the customer's country, if the account section maps it. */
export function countryField(account: EntitySpec): FieldMapping | undefined {
  return account.fields.find((field) => field.pc.length === 1 && field.pc[0]?.text === COUNTRY_PATH);
}

class MappedCustomerColumns implements CustomerColumns {
  readonly account;
  readonly contact;
  private readonly country: FieldMapping | undefined;

  constructor(
    private readonly accountSpec: EntitySpec,
    private readonly contactSpec: EntitySpec,
  ) {
    this.account = crmColumnsToRead(accountSpec);
    this.contact = crmColumnsToRead(contactSpec);
    this.country = countryField(accountSpec);
  }

  accountValues(profile: CustomerProfile): Record<string, unknown> {
    const referral = referralOf(profile, []);
    return createValues(this.accountSpec, referralToCanonical(this.accountSpec, referral));
  }

  contactValues(contact: CustomerContact): Record<string, unknown> {
    const referral = referralOf({ name: '', contacts: [] }, [contact]);
    return createValues(this.contactSpec, referralToCanonical(this.contactSpec, referral, { item: 0 }));
  }

  profile(account: Readonly<Record<string, unknown>> | undefined, contacts: ReadonlyArray<Readonly<Record<string, unknown>>>): CustomerProfile {
    const issues = new Map<string, string>();
    const canonical = account ? crmToCanonical(this.accountSpec, account, { onIssue: (issue) => issues.set(issue.key, issue.reason) }) : {};
    const shape = pcShapeOf(this.accountSpec, canonical);
    const customer = (readAt(shape, ['customerProfile']) ?? {}) as Record<string, unknown>;
    const address = (customer.address ?? {}) as Record<string, unknown>;
    const team = contacts.map((row) => pcShapeOf(this.contactSpec, crmToCanonical(this.contactSpec, row)));
    const country = text(address.country);
    return {
      name: text(customer.name) ?? '',
      addressLine1: text(address.addressLine1),
      addressLine2: text(address.addressLine2),
      city: text(address.city),
      state: text(address.state),
      postalCode: text(address.postalCode),
      country: country !== undefined && isAlpha2(country) ? country.toUpperCase() : undefined,
      countryProblem: account ? this.countryProblem(account, country, issues) : undefined,
      contacts: team.map((member) => ({ firstName: text(member.firstName), lastName: text(member.lastName), email: text(member.email), phone: text(member.phoneNumber) })),
    };
  }

  /** A country was found but is no ISO 3166 alpha-2 code once read: the raw value and the setting that read it. */
  private countryProblem(account: Readonly<Record<string, unknown>>, country: string | undefined, issues: ReadonlyMap<string, string>): CustomerProfile['countryProblem'] {
    const field = this.country;
    const column = field?.crm[0];
    if (!field || column === undefined) return undefined;
    const raw = account[column];
    const found = typeof raw === 'object' && raw !== null && 'value' in raw ? (raw as { value: unknown }).value : raw;
    const unread = issues.has(field.key);
    if (!unread && (country === undefined || isAlpha2(country))) return undefined;
    if (found === null || found === undefined || (typeof found === 'string' && found.trim() === '')) return undefined;
    return { value: describeValue(found), setting: `${column} (${field.at}, transform ${field.transform.type})` };
  }
}

/** The referral a profile stands for, so the mapping's Partner Center paths read it as they read a referral. */
function referralOf(profile: CustomerProfile, contacts: readonly CustomerContact[]): Referral {
  return {
    customerProfile: {
      name: profile.name.trim(),
      address: {
        addressLine1: profile.addressLine1,
        addressLine2: profile.addressLine2,
        city: profile.city,
        state: profile.state,
        postalCode: profile.postalCode?.trim(),
        country: profile.country?.trim(),
      },
      team: contacts.map((c) => ({ firstName: c.firstName?.trim(), lastName: c.lastName?.trim(), email: c.email?.trim(), phoneNumber: c.phone?.trim() })),
    },
  } as Referral;
}

/** What a create writes: every field that flows to the CRM (constants included), empty values left out. */
function createValues(entity: EntitySpec, canonical: CanonicalRecord): Record<string, unknown> {
  const written: CanonicalRecord = {};
  for (const field of entity.fields) {
    if (flowsToCrm(field.direction) && Object.hasOwn(canonical, field.key)) written[field.key] = canonical[field.key] ?? null;
  }
  return Object.fromEntries(Object.entries(canonicalToCrm(entity, written)).filter(([, value]) => value !== null && value !== undefined));
}

/** Canonical values back at their Partner Center paths (relative to `pcItems` for contacts). */
function pcShapeOf(entity: EntitySpec, canonical: CanonicalRecord): Record<string, unknown> {
  const shape: Record<string, unknown> = {};
  for (const field of entity.fields) {
    if (!Object.hasOwn(canonical, field.key) || field.pc.length === 0 || field.pc.some((path) => path.source !== 'referral')) continue;
    const writing = codecFor(field).toPc(canonical[field.key] ?? null);
    if (!writing.ok) continue;
    field.pc.forEach((path, index) => setAt(shape, path.segments, writing.values[index] ?? null));
  }
  return shape;
}

function setAt(root: Record<string, unknown>, segments: readonly PcSegment[], value: unknown): void {
  let node = root;
  for (const [index, segment] of segments.entries()) {
    // A profile has no lists besides its contacts (the contact section's items): such a path has nothing to fill.
    if (typeof segment === 'number') return;
    if (index === segments.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    node[segment] = typeof next === 'object' && next !== null ? next : {};
    node = node[segment] as Record<string, unknown>;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
