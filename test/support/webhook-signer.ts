import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createCertificateAuthority,
  issueCertificate,
  signBody,
  type CertificateAuthority,
  type IssuedCertificate,
} from '../../src/sandbox/shared/certificates.ts';

/**
 * A stand-in for Microsoft's certificate host: serves certificates by path over real HTTP and counts requests, so tests
 * can prove which URLs the service did (and did not) fetch.
 */
export class CertificateHost {
  readonly requests: string[] = [];
  private readonly files = new Map<string, { body: Buffer; delayMs?: number }>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res) => {
      this.requests.push(req.url ?? '');
      const file = this.files.get(req.url ?? '');
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      const send = () => res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(file.body);
      if (file.delayMs) setTimeout(send, file.delayMs);
      else send();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get host(): string {
    return new URL(this.url).host;
  }

  serve(path: string, body: Buffer | string, delayMs?: number): string {
    this.files.set(path, { body: Buffer.isBuffer(body) ? body : Buffer.from(body), ...(delayMs ? { delayMs } : {}) });
    return `${this.url}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

export interface SigningIdentity {
  ca: CertificateAuthority;
  leaf: IssuedCertificate;
}

export async function makeIdentity(
  options: { caSubject?: string; leafSubject?: string; notBefore?: Date; notAfter?: Date } = {},
): Promise<SigningIdentity> {
  const ca = await createCertificateAuthority({
    subject: options.caSubject ?? 'CN=Test Root CA, O=Microsoft Corporation',
  });
  const leaf = await issueCertificate(ca, {
    subject: options.leafSubject ?? 'CN=pcnotifications-dispatch.test, O=Microsoft Corporation',
    ...(options.notBefore ? { notBefore: options.notBefore } : {}),
    ...(options.notAfter ? { notAfter: options.notAfter } : {}),
  });
  return { ca, leaf };
}

export function partnerCenterEvent(referralId: string, eventName = 'referral-updated', at = new Date()): string {
  return JSON.stringify({
    EventName: eventName,
    ResourceUri: `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${referralId}`,
    ResourceName: 'referral',
    AuditUri: null,
    ResourceChangeUtcDate: at.toISOString(),
  });
}

export function signedHeaders(
  body: string | Buffer,
  privateKeyPem: string,
  certificateUrl: string,
  mode: 'authorization' | 'x-ms-signature' = 'authorization',
): Record<string, string> {
  const signature = `Signature ${signBody(privateKeyPem, body)}`;
  return {
    'content-type': 'application/json',
    ...(mode === 'authorization' ? { authorization: signature } : { 'x-ms-signature': signature }),
    'x-ms-certificate-url': certificateUrl,
    'x-ms-signature-algorithm': 'rsa-sha256',
  };
}

/** Partner Center section for tests that only exercise ingestion: the APIs are never called. */
export function ingestOnlyPartnerCenter(webhooks: Record<string, unknown>): Record<string, unknown> {
  return { referralsApiUrl: 'http://127.0.0.1:9', webhooksApiUrl: 'http://127.0.0.1:9', webhooks };
}
