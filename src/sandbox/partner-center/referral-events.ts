import { formatInstant, parseInstant } from '../../util/instant.ts';
import type { Referral } from './referral-model.ts';
import type { ReferralChange } from './referral-service.ts';
import type { ReferralStore } from './referral-store.ts';
import type { WebhookEventName } from './webhook-events.ts';
import type { SignedWebhookSender } from './webhook-sender.ts';

export interface ReferralEventPublisherDeps {
  store: ReferralStore;
  sender: SignedWebhookSender;
  /** The sandbox's own URL; known only once it listens. */
  baseUrl: () => string;
  partnerOrganizationId: string;
}

/** `2018-02-17T00:05:39.5485487+00:00`, the docs' sample shape. */
function changeDate(referral: Referral): string {
  const ticks = parseInstant(referral.updatedDateTime);
  return ticks === undefined ? referral.updatedDateTime : formatInstant(ticks, '+00:00');
}

/**
 * Turns referral changes into webhook events.
 *
 * The changed referral raises `referral-created|updated`; every other referral of the same engagement raises
 * `related-referral-created|updated` with its own ResourceUri. Events go only to referrals the partner owns: a partner's
 * registration is scoped to its tenant, and Microsoft's side of an engagement is not the partner's referral, so a change
 * to it surfaces as a related-referral event on the partner's referral (UNCONFIRMED — the docs describe these events in
 * one line each; this is the reading that never hands a partner someone else's referral as its own).
 */
/**
 * Whose referral a `related-referral-*` event's ResourceUri names, which the docs do not settle: `partner` (default) names
 * the partner's referral that has a related change; `changed` names the related referral that changed (Microsoft's, or
 * another partner's), which the partner may read but not write. A client must cope with both.
 */
export type RelatedResourceUri = 'partner' | 'changed';

export class ReferralEventPublisher {
  relatedResourceUri: RelatedResourceUri = 'partner';

  constructor(private readonly deps: ReferralEventPublisherDeps) {}

  publish(change: ReferralChange): void {
    const { referral } = change;
    const ownedByPartner = (r: Referral): boolean => r.organizationId === this.deps.partnerOrganizationId;
    if (ownedByPartner(referral)) this.send(`referral-${change.kind}`, referral, referral);
    for (const related of this.deps.store.inEngagement(referral.engagementId)) {
      if (related.id !== referral.id && ownedByPartner(related)) {
        this.send(`related-referral-${change.kind}`, this.relatedResourceUri === 'changed' ? referral : related, referral);
      }
    }
  }

  private send(eventName: WebhookEventName, subject: Referral, changed: Referral): void {
    this.deps.sender.send({
      EventName: eventName,
      // The documented ResourceUri uses /engagements/v1/referrals/{id}, not the API's /v1.0/engagements/referrals/{id};
      // kept faithfully so clients learn to take the id from the last path segment.
      ResourceUri: `${this.deps.baseUrl()}/engagements/v1/referrals/${subject.id}`,
      ResourceName: 'referral',
      AuditUri: null,
      ResourceChangeUtcDate: changeDate(changed),
    });
  }
}
