import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyncHarness } from './sync-harness.ts';
import { CertificateHost, makeIdentity, signedHeaders, partnerCenterEvent, type SigningIdentity } from './webhook-signer.ts';

/*
 * The ingest benchmark's target: the service as a `cosell start` child process with Dynamics 365 connected (the
 * Partner Center and Dataverse sandboxes of SyncHarness), so every verified event also becomes sync work and the
 * workers compete with the webhook route for the service's event loop, as in production. The Partner Center sandbox
 * keeps its signing key to itself, so the bench signs its own events: a certificate host of its own and its CA are
 * added to the service's webhook trust (certificateHosts, insecureHttpHosts, trustAnchors) next to the sandbox's.
 */

export interface SignedEvent {
  body: string;
  headers: Record<string, string>;
}

export class IngestBenchTarget {
  private constructor(
    readonly harness: SyncHarness,
    private readonly certHost: CertificateHost,
    private readonly identity: SigningIdentity,
    private readonly certificateUrl: string,
  ) {}

  static async start(options: { concurrency: number; logLevel: 'error' | 'warn' | 'info' }): Promise<IngestBenchTarget> {
    const certHost = await new CertificateHost().start();
    const identity = await makeIdentity();
    const certificateUrl = certHost.serve('/bench-signing.cer', identity.leaf.certificateDer);
    const harness = await SyncHarness.start({ mode: 'child', logLevel: options.logLevel, sync: { concurrency: options.concurrency } });
    try {
      await harness.stopService();
      const webhooks = harness.configInput.partnerCenter?.webhooks;
      if (!webhooks) throw new Error('the harness config has no partnerCenter.webhooks section');
      const anchor = join(harness.dir, 'bench-anchor.pem');
      writeFileSync(anchor, identity.ca.certificatePem);
      webhooks.certificateHosts = [...(webhooks.certificateHosts ?? []), certHost.host];
      webhooks.insecureHttpHosts = [...(webhooks.insecureHttpHosts ?? []), certHost.host];
      webhooks.trustAnchors = [...(webhooks.trustAnchors ?? []), anchor];
      await harness.startService();
      return new IngestBenchTarget(harness, certHost, identity, certificateUrl);
    } catch (error) {
      await harness.close();
      await certHost.stop();
      throw error;
    }
  }

  /** The service's Partner Center webhook URL. */
  get webhookUrl(): string {
    return `${this.harness.url}/webhooks/partner-center`;
  }

  /** A correctly signed `referral-updated` event; distinct `at` values make distinct events (the inbox dedup key). */
  sign(referralId: string, at: Date): SignedEvent {
    const body = partnerCenterEvent(referralId, 'referral-updated', at);
    return { body, headers: signedHeaders(body, this.identity.leaf.privateKeyPem, this.certificateUrl) };
  }

  async close(): Promise<void> {
    await this.harness.close();
    await this.certHost.stop();
  }
}
