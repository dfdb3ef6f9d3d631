import { randomUUID } from 'node:crypto';
import { invalidRequest } from './errors.ts';
import { formatInstant, parseInstant, type Instant } from '../../util/instant.ts';
import type { ReferralDirection, ReferralStatus, ReferralSubstatus } from './referral-enums.ts';
import { contentOf, READ_ONLY_FIELDS, type Organization, type Referral } from './referral-model.ts';
import type { ReferralContent } from './referral-schema.ts';
import type { ReferralStore } from './referral-store.ts';
import { DEFAULT_SUBSTATUS, substatusProblem, transitionProblem, writeRuleViolation } from './status-rules.ts';
import type { WriteStamper } from './write-stamps.ts';

export interface ReferralChange {
  kind: 'created' | 'updated';
  referral: Referral;
}

export interface CreateOptions {
  organization: Organization;
  direction: ReferralDirection;
  engagementId?: string | undefined;
  /** Skip webhook events (bulk seeding). */
  silent?: boolean;
}

export interface UpdateOptions {
  /**
   * Who writes: the partner through the API, a Microsoft seller through the control API, or the service itself
   * (expiry). Only the partner is held to "an unaccepted incoming referral can only be accepted or declined".
   */
  actor: 'partner' | 'microsoft' | 'system';
  silent?: boolean;
}

/** Incoming invitations expire after 14 days without a response ("Get a list of referrals"). */
export const INVITATION_LIFETIME_TICKS = 14n * 24n * 60n * 60n * 10_000_000n;

function resolveStatus(content: ReferralContent, fallback: ReferralStatus): { status: ReferralStatus; substatus: ReferralSubstatus } {
  const status = content.status ?? fallback;
  const substatus = content.substatus ?? DEFAULT_SUBSTATUS[status];
  if (substatus === undefined) throw invalidRequest(`substatus is required when status is '${status}'.`, 'substatus');
  const problem = substatusProblem(status, substatus);
  if (problem) throw invalidRequest(problem, 'substatus');
  return { status, substatus };
}

const STATUS_KEYS = new Set(['status', 'substatus', 'statusReason', 'externalReferenceId']);

/** The fields of a referral a change is compared on: no status, no server fields, and unset, null and [] alike. */
function withoutStatus(content: Record<string, unknown>): Record<string, unknown> {
  const isUnset = (value: unknown): boolean => value === undefined || value === null || (Array.isArray(value) && value.length === 0);
  return Object.fromEntries(Object.entries(content).filter(([key, value]) => !STATUS_KEYS.has(key) && !READ_ONLY_FIELDS.has(key) && !isUnset(value)));
}

/** JSON with object keys sorted, so two bodies that differ only in key order compare equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** Creates and updates referrals: stamps server fields, enforces status rules and reports every change. */
export class ReferralService {
  constructor(
    private readonly store: ReferralStore,
    private readonly stamper: WriteStamper,
    private readonly onChange: (change: ReferralChange) => void,
    /** strictCoSell: refuse edits of an unaccepted incoming referral's fields. */
    private readonly strict = true,
  ) {}

  /**
   * A partner-created (outgoing) referral is accepted on creation: the documented create sample sends New/Pending and
   * the response shows Active/Accepted. Closed is honoured as given, so a won deal can be recorded after the fact.
   */
  createOutgoing(content: ReferralContent, options: Omit<CreateOptions, 'direction'>): Referral {
    const requested = content.status ?? 'Active';
    const effective = requested === 'Closed' ? content : { ...content, status: 'Active' as const, substatus: 'Accepted' as const };
    return this.create(effective, { ...options, direction: 'Outgoing' }, requested === 'Closed' ? 'Closed' : 'Active');
  }

  create(content: ReferralContent, options: CreateOptions, fallbackStatus: ReferralStatus = 'New'): Referral {
    const { status, substatus } = resolveStatus(content, fallbackStatus);
    const stamp = this.stamper.next();
    // An invitation waiting for an answer: the partner's incoming referral, or Microsoft's connected referral.
    const incomingInvitation = options.direction === 'Incoming' && status === 'New';
    const referral: Referral = {
      ...content,
      id: randomUUID(),
      engagementId: options.engagementId ?? randomUUID(),
      organizationId: options.organization.id,
      organizationName: options.organization.name,
      createdDateTime: stamp.timestamp,
      updatedDateTime: stamp.timestamp,
      expirationDateTime: content.expirationDateTime ?? (incomingInvitation ? formatInstant(stamp.ticks + INVITATION_LIFETIME_TICKS) : null),
      // For outgoing referrals the accepted date is the creation time ("Referral resources").
      acceptedDateTime: status === 'Active' || (status === 'Closed' && options.direction === 'Outgoing') ? stamp.timestamp : null,
      closedDateTime: status === 'Closed' ? stamp.timestamp : null,
      status,
      substatus,
      eTag: stamp.eTag,
      direction: options.direction,
    };
    this.store.save(referral);
    if (!options.silent) this.onChange({ kind: 'created', referral });
    return referral;
  }

  update(existing: Referral, requested: ReferralContent, options: UpdateOptions): Referral {
    // A body that leaves the sharing flag out keeps it: only an explicit false is an attempt to revoke visibility.
    const content: ReferralContent =
      requested.consent.consentToShareReferralWithMicrosoftSellers == null && existing.consent.consentToShareReferralWithMicrosoftSellers != null
        ? { ...requested, consent: { ...requested.consent, consentToShareReferralWithMicrosoftSellers: existing.consent.consentToShareReferralWithMicrosoftSellers } }
        : requested;
    const nextStatus = content.status ?? existing.status;
    const statusChanged = nextStatus !== existing.status;
    const substatus = content.substatus ?? (statusChanged ? DEFAULT_SUBSTATUS[nextStatus] : existing.substatus);
    if (substatus === undefined) throw invalidRequest(`substatus is required when status changes to '${nextStatus}'.`, 'substatus');
    const transition = transitionProblem(existing.status, nextStatus);
    if (transition) throw invalidRequest(transition, 'status');
    const pair = substatusProblem(nextStatus, substatus);
    if (pair) throw invalidRequest(pair, 'substatus');
    // 400 rather than 409 for every rule: the documented codes have no "conflict", and the request can never succeed
    // as written.
    const violation = writeRuleViolation({
      existing,
      next: { ...content, status: nextStatus, substatus },
      actor: options.actor,
      otherFieldsChanged: canonicalJson(withoutStatus(contentOf(existing))) !== canonicalJson(withoutStatus(content)),
      strict: this.strict,
    });
    if (violation) throw invalidRequest(violation.message, violation.target);

    const stamp = this.stamper.next();
    const updated: Referral = {
      ...content,
      id: existing.id,
      engagementId: existing.engagementId,
      organizationId: existing.organizationId,
      organizationName: existing.organizationName,
      createdDateTime: existing.createdDateTime,
      updatedDateTime: stamp.timestamp,
      acceptedDateTime: existing.acceptedDateTime ?? (nextStatus === 'Active' ? stamp.timestamp : null),
      closedDateTime: nextStatus === 'Closed' ? (existing.status === 'Closed' ? existing.closedDateTime : stamp.timestamp) : null,
      status: nextStatus,
      substatus,
      eTag: stamp.eTag,
      direction: existing.direction,
    };
    this.store.save(updated);
    if (!options.silent) this.onChange({ kind: 'updated', referral: updated });
    return updated;
  }

  /**
   * Invitations nobody answered within their lifetime are archived as Closed/Expired ("Get a list of referrals": not
   * responded to within 14 days). Each expiry is an ordinary update, so it raises the documented referral-updated /
   * related-referral-updated events. Returns the referrals it expired.
   */
  expireDue(now: Instant): Referral[] {
    const expired: Referral[] = [];
    for (const referral of this.store.all()) {
      if (referral.status !== 'New' || !referral.expirationDateTime) continue;
      const expiresAt = parseInstant(referral.expirationDateTime);
      if (expiresAt === undefined || expiresAt > now) continue;
      const content: ReferralContent = { ...referral, status: 'Closed', substatus: 'Expired', statusReason: referral.statusReason ?? 'Not answered within 14 days.' };
      expired.push(this.update(referral, content, { actor: 'system' }));
    }
    return expired;
  }
}
