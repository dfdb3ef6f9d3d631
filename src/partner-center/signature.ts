import { verify as verifySignature, type X509Certificate } from 'node:crypto';
import type { WebhookVerificationConfig } from '../config/schema.ts';
import { CertificateError, type CertificateProblem, type CertificateSource } from './certificate-source.ts';

export type RejectionReason =
  | 'missing_signature'
  | 'bad_signature_scheme'
  | 'missing_certificate_url'
  | 'missing_algorithm'
  | 'unsupported_algorithm'
  | CertificateProblem
  | 'certificate_organization'
  | 'certificate_expired'
  | 'signature_invalid';

export type VerificationResult =
  | { ok: true; certificate: X509Certificate }
  | { ok: false; status: 400 | 401 | 503; reason: RejectionReason; message: string; retryAfterSeconds?: number };

/** Header names arrive lower-cased from Node. */
export type Headers = Record<string, string | string[] | undefined>;

/** Microsoft documents rsa-sha256 only; its sample derives the hash from the header, so the SHA-2 siblings are accepted too. */
const ALGORITHMS: Record<string, string> = { 'rsa-sha256': 'sha256', 'rsa-sha384': 'sha384', 'rsa-sha512': 'sha512' };

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

function reject(status: 400 | 401 | 503, reason: RejectionReason, message: string, retryAfterSeconds?: number): VerificationResult {
  return { ok: false, status, reason, message, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
}

/**
 * The signature travels as `Signature <base64>` in Authorization, or in x-ms-signature when the registration set
 * SignatureTokenToMsSignatureHeader. Microsoft's sample takes the part after the space; a bare value is tolerated.
 */
function extractSignature(headers: Headers): Buffer | 'missing_signature' | 'bad_signature_scheme' {
  const raw = header(headers, 'x-ms-signature') ?? header(headers, 'authorization');
  if (raw === undefined) return 'missing_signature';
  const parts = raw.split(/\s+/);
  let token: string;
  if (parts.length === 2) {
    if ((parts[0] as string).toLowerCase() !== 'signature') return 'bad_signature_scheme';
    token = parts[1] as string;
  } else if (parts.length === 1 && header(headers, 'x-ms-signature') !== undefined) {
    token = parts[0] as string;
  } else {
    return 'bad_signature_scheme';
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return 'bad_signature_scheme';
  return Buffer.from(token, 'base64');
}

/** Distinguished names from node:crypto are newline-separated `KEY=value` lines. */
export function hasOrganization(distinguishedName: string, organization: string): boolean {
  return distinguishedName.split('\n').some((line) => line.trim() === `O=${organization}`);
}

/**
 * Microsoft's documented verification, in its order, on the exact bytes received: headers, certificate (allowlisted
 * URL, chain, organization, dates), then the RSA signature. Nothing about the body is looked at before it passes.
 */
export class WebhookSignatureVerifier {
  constructor(
    private readonly config: WebhookVerificationConfig,
    private readonly certificates: CertificateSource,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async verify(headers: Headers, rawBody: Buffer): Promise<VerificationResult> {
    const signature = extractSignature(headers);
    if (signature === 'missing_signature') {
      return reject(401, signature, 'missing Authorization (or x-ms-signature) header');
    }
    if (signature === 'bad_signature_scheme') {
      return reject(401, signature, 'signature header must be "Signature <base64>"');
    }
    const certificateUrl = header(headers, 'x-ms-certificate-url');
    if (certificateUrl === undefined) return reject(400, 'missing_certificate_url', 'missing X-MS-Certificate-Url header');
    const algorithmHeader = header(headers, 'x-ms-signature-algorithm');
    if (algorithmHeader === undefined) {
      return reject(400, 'missing_algorithm', 'missing X-MS-Signature-Algorithm header');
    }
    const hash = ALGORITHMS[algorithmHeader.toLowerCase()];
    if (hash === undefined) return reject(400, 'unsupported_algorithm', 'unsupported X-MS-Signature-Algorithm');

    let leaf: X509Certificate;
    let chain: X509Certificate[];
    try {
      ({ leaf, chain } = await this.certificates.get(certificateUrl));
    } catch (error) {
      if (error instanceof CertificateError) {
        // A download failure may be ours or transient, and a spent download budget frees up within a minute: 503 makes
        // Partner Center retry instead of giving up on the event.
        const transient = error.problem === 'certificate_fetch_failed' || error.problem === 'certificate_rate_limited';
        return reject(transient ? 503 : 401, error.problem, error.message, error.retryAfterSeconds);
      }
      throw error;
    }

    const organization = this.config.organization;
    if (!hasOrganization(leaf.issuer, organization) || !hasOrganization(leaf.subject, organization)) {
      return reject(401, 'certificate_organization', `signing certificate is not issued to and by O=${organization}`);
    }
    const now = this.now().getTime();
    for (const cert of chain) {
      if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
        return reject(401, 'certificate_expired', 'a certificate in the signing chain is expired or not yet valid');
      }
    }
    const valid = verifySignature(hash, rawBody, leaf.publicKey, signature);
    if (!valid) return reject(401, 'signature_invalid', 'signature does not match the request body');
    return { ok: true, certificate: leaf };
  }
}
