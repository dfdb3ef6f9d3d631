import { silentLogger } from '../../util/logger.ts';
import { loadOrCreateSigningMaterial } from '../shared/certificates.ts';
import { FaultInjector } from '../shared/faults.ts';
import { listenSandbox, type SandboxListenOptions } from '../shared/listen.ts';
import { RequestCounter } from '../shared/request-counter.ts';
import { WebhookDeliveryQueue } from '../shared/webhook-delivery-queue.ts';
import { buildPartnerCenterApp } from './app.ts';
import { TokenRegistry } from './auth.ts';
import { SIGNING_CERTIFICATE_PATH, type PartnerCenterContext } from './context.ts';
import { ReferralEventPublisher } from './referral-events.ts';
import type { Organization, Referral } from './referral-model.ts';
import { ReferralService } from './referral-service.ts';
import { ReferralStore } from './referral-store.ts';
import { SandboxClock } from './sandbox-clock.ts';
import { DEFAULT_SOLUTIONS, SolutionsCatalogue, type PartnerSolution } from './solutions-catalogue.ts';
import { ValidationEvents } from './validation-events.ts';
import { WebhookRegistrationState } from './webhook-registration.ts';
import { SignedWebhookSender } from './webhook-sender.ts';
import { WriteStamper } from './write-stamps.ts';

export interface PartnerCenterSandboxOptions extends SandboxListenOptions {
  /** Directory where the CA + signing key/cert are persisted so a restart keeps the same trust root. Optional: without it they live in memory. */
  stateDir?: string;
  /** Webhook delivery retry schedule; tests shrink it. Defaults: 10 attempts, first retry after 1000 ms, doubling, capped at 60000 ms. */
  delivery?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number; timeoutMs?: number };
  /** When true only tokens issued by the sandbox token endpoint are accepted. Default false: any non-empty bearer token. */
  strictTokens?: boolean;
  /** Organization of the partner tenant that owns the sandbox (organizationId / organizationName on referrals). */
  organization?: { id: string; name: string };
  /**
   * Enforce what Partner Center requires of the partner's co-sell (Shared) referrals: at least one co-sell ready
   * solution the partner owns, a valid target, and the connected Microsoft referral joining an existing co-sell
   * engagement; and no edits of an unaccepted incoming referral beyond accepting, declining and its CRM ID. Default
   * true. False accepts Shared referrals without them and such edits (for callers that do not follow these rules yet).
   */
  strictCoSell?: boolean;
  /** The partner's solutions catalogue; default DEFAULT_SOLUTIONS. */
  solutions?: readonly PartnerSolution[];
}

export interface PartnerCenterSandbox {
  url: string; // e.g. http://127.0.0.1:4101 (actual port)
  rootCertificatePem: string; // the sandbox root CA, PEM — what a verifier must trust
  signingCertificateUrl: string; // URL of the signing cert served by the sandbox
  close(): Promise<void>; // stops server and pending delivery timers
}

export type { PartnerSolution } from './solutions-catalogue.ts';
export { DEFAULT_SOLUTIONS } from './solutions-catalogue.ts';

export const DEFAULT_PORT = 4101;
/** The organization of the documented create-response sample. */
export const DEFAULT_ORGANIZATION: Organization = { id: '7d23e5ca-19dc-4eaa-aac8-5e6b559f0d1d', name: 'Contoso Company' };

export async function startPartnerCenterSandbox(options: PartnerCenterSandboxOptions = {}): Promise<PartnerCenterSandbox> {
  const logger = options.logger ?? silentLogger();
  const host = options.host ?? '127.0.0.1';
  const organization = options.organization ?? DEFAULT_ORGANIZATION;
  const signing = await loadOrCreateSigningMaterial(options.stateDir);

  let url = '';
  const baseUrl = (): string => url;
  const faults = new FaultInjector();
  const queue = new WebhookDeliveryQueue({ ...options.delivery, logger: logger.child({ part: 'webhook-delivery' }), faults });
  const store = new ReferralStore();
  const registration = new WebhookRegistrationState(organization.id);
  const sender = new SignedWebhookSender({
    registration,
    queue,
    signingKeyPem: signing.signing.privateKeyPem,
    certificateUrl: () => `${url}${SIGNING_CERTIFICATE_PATH}`,
  });
  const publisher = new ReferralEventPublisher({ store, sender, baseUrl, partnerOrganizationId: organization.id });
  const clock = new SandboxClock();
  const strictCoSell = options.strictCoSell ?? true;
  const service = new ReferralService(store, new WriteStamper(() => clock.now()), (change) => publisher.publish(change), strictCoSell);
  let sampleSequence = 0;
  let nextExpiryCheck = 0;
  const expireDue = (force = false): Referral[] => {
    const now = Date.now();
    if (!force && now < nextExpiryCheck) return [];
    nextExpiryCheck = now + 1000;
    return service.expireDue(clock.now());
  };

  const ctx: PartnerCenterContext = {
    logger,
    organization,
    store,
    service,
    publisher,
    createdByRequestId: new Map(),
    registration,
    queue,
    validationEvents: new ValidationEvents({ sender, queue }),
    tokens: new TokenRegistry(),
    strictTokens: options.strictTokens ?? false,
    strictCoSell,
    solutions: new SolutionsCatalogue(options.solutions ?? DEFAULT_SOLUTIONS),
    clock,
    expireDue,
    faults,
    requests: new RequestCounter(),
    signing,
    baseUrl,
    nextSampleSequence: () => sampleSequence++,
  };

  const app = buildPartnerCenterApp(ctx);
  const server = await listenSandbox(app, { port: options.port ?? DEFAULT_PORT, host, logger, name: 'Partner Center', stop: () => queue.close() });
  url = server.url;
  return {
    ...server,
    rootCertificatePem: signing.ca.certificatePem,
    signingCertificateUrl: `${url}${SIGNING_CERTIFICATE_PATH}`,
  };
}
