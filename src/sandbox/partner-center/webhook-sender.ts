import { createPrivateKey, type KeyObject } from 'node:crypto';
import { signBody } from '../shared/certificates.ts';
import type { WebhookDeliveryQueue } from '../shared/webhook-delivery-queue.ts';
import type { WebhookEventName, WebhookEventPayload } from './webhook-events.ts';
import type { WebhookRegistrationState } from './webhook-registration.ts';

export interface SignedWebhookSenderDeps {
  registration: WebhookRegistrationState;
  queue: WebhookDeliveryQueue;
  signingKeyPem: string;
  certificateUrl: () => string;
}

/**
 * Signs each event body once (RSA-SHA256 over the exact bytes sent) and hands it to the delivery queue with the
 * documented headers. The signature goes in `Authorization: Signature …`, or in `x-ms-signature` when the
 * registration asked for SignatureTokenToMsSignatureHeader.
 */
export class SignedWebhookSender {
  /** Parsed once: parsing the PEM on every event cost as much as the signature (a backfill raises one per referral). */
  private readonly key: KeyObject;

  constructor(private readonly deps: SignedWebhookSenderDeps) {
    this.key = createPrivateKey(deps.signingKeyPem);
  }

  /** Returns the delivery id, or undefined when the registration does not subscribe to this event. */
  send(payload: WebhookEventPayload & { EventName: WebhookEventName }): string | undefined {
    const registration = this.deps.registration.current;
    if (!registration || !registration.webhookEvents.includes(payload.EventName)) return undefined;
    const body = JSON.stringify(payload);
    const signature = `Signature ${signBody(this.key, body)}`;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      ...(registration.signatureTokenToMsSignatureHeader ? { 'x-ms-signature': signature } : { Authorization: signature }),
      'X-MS-Certificate-Url': this.deps.certificateUrl(),
      'X-MS-Signature-Algorithm': 'rsa-sha256',
    };
    return this.deps.queue.enqueue({ url: registration.webhookUrl, headers, body, label: payload.EventName });
  }
}
