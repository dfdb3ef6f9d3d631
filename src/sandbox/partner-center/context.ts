import type { Logger } from '../../util/logger.ts';
import type { SigningMaterial } from '../shared/certificates.ts';
import type { SandboxContext } from '../shared/context.ts';
import type { WebhookDeliveryQueue } from '../shared/webhook-delivery-queue.ts';
import type { TokenRegistry } from './auth.ts';
import type { Organization, Referral } from './referral-model.ts';
import type { ReferralEventPublisher } from './referral-events.ts';
import type { ReferralService } from './referral-service.ts';
import type { ReferralStore } from './referral-store.ts';
import type { SandboxClock } from './sandbox-clock.ts';
import type { SolutionsCatalogue } from './solutions-catalogue.ts';
import type { ValidationEvents } from './validation-events.ts';
import type { WebhookRegistrationState } from './webhook-registration.ts';

/** Everything the routes share; one per sandbox instance, so several sandboxes can run side by side in one process. */
export interface PartnerCenterContext extends SandboxContext {
  logger: Logger;
  organization: Organization;
  store: ReferralStore;
  service: ReferralService;
  publisher: ReferralEventPublisher;
  /** Creates by their MS-RequestId (idempotency key): a repeated key answers with the first create's referral. */
  createdByRequestId: Map<string, string>;
  registration: WebhookRegistrationState;
  queue: WebhookDeliveryQueue;
  validationEvents: ValidationEvents;
  tokens: TokenRegistry;
  strictTokens: boolean;
  /** Enforce Partner Center's co-sell requirements on the partner's Shared referrals (see PartnerCenterSandboxOptions). */
  strictCoSell: boolean;
  /** The partner's solutions: what a co-sell referral may name. */
  solutions: SolutionsCatalogue;
  clock: SandboxClock;
  /** Archives invitations whose 14 days have passed (at most once per second of real time unless forced). */
  expireDue: (force?: boolean) => Referral[];
  signing: SigningMaterial;
}

export const SIGNING_CERTIFICATE_PATH = '/_sandbox/certificates/signing.cer';
