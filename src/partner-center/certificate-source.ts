import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { request } from 'undici';
import type { WebhookVerificationConfig } from '../config/schema.ts';

export type CertificateProblem =
  | 'certificate_url_invalid'
  | 'certificate_url_not_allowed'
  | 'certificate_fetch_failed'
  | 'certificate_invalid'
  | 'certificate_untrusted';

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  constructor(
    readonly problem: CertificateProblem,
    message: string,
  ) {
    super(message);
  }
}

/** A signing certificate whose chain to a trust anchor has been verified. Validity dates are checked per use. */
export interface TrustedCertificate {
  leaf: X509Certificate;
  /** Leaf first, anchor last. */
  chain: X509Certificate[];
}

interface CacheEntry {
  expiresAt: number;
  result: Promise<TrustedCertificate>;
}

const MAX_CACHE_ENTRIES = 64;
/** A failed fetch is remembered briefly so a flood of forged requests cannot turn us into a fetch amplifier. */
const NEGATIVE_CACHE_MS = 30_000;
const MAX_CHAIN_DEPTH = 6;

export function checkCertificateUrl(url: string, config: WebhookVerificationConfig): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CertificateError('certificate_url_invalid', 'X-MS-Certificate-Url is not an absolute URL');
  }
  if (parsed.username || parsed.password) {
    throw new CertificateError('certificate_url_invalid', 'X-MS-Certificate-Url must not carry credentials');
  }
  // An entry without a port matches only the scheme's default port, so `host` cannot be widened to `host:8443`.
  const matches = (list: string[]): boolean =>
    list.some((entry) => {
      const e = entry.toLowerCase();
      return e.includes(':') ? e === parsed.host.toLowerCase() : e === parsed.hostname.toLowerCase() && parsed.port === '';
    });
  if (parsed.protocol === 'https:') {
    if (!matches(config.certificateHosts)) {
      throw new CertificateError('certificate_url_not_allowed', `certificate host ${parsed.host} is not on the allowlist`);
    }
  } else if (parsed.protocol === 'http:') {
    if (!matches(config.insecureHttpHosts)) {
      throw new CertificateError(
        'certificate_url_not_allowed',
        `certificate URL must be https (http is allowed only for configured sandbox hosts; ${parsed.host} is not one)`,
      );
    }
  } else {
    throw new CertificateError('certificate_url_not_allowed', `certificate URL scheme ${parsed.protocol} is not allowed`);
  }
  return parsed;
}

/**
 * Fetches signing certificates from allowlisted URLs only, verifies their chain once and caches the verdict by URL
 * (certificates rotate by URL, so a new URL means a new fetch).
 */
export class CertificateSource {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly anchors: X509Certificate[];
  private readonly intermediates: X509Certificate[];

  constructor(
    private readonly config: WebhookVerificationConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.anchors = config.trustAnchors.flatMap((anchor) =>
      anchor === 'system' ? rootCertificates.flatMap(parseCertificates) : readPemFile(anchor, 'trust anchor'),
    );
    this.intermediates = config.intermediates.flatMap((file) => readPemFile(file, 'intermediate certificate'));
  }

  get(url: string): Promise<TrustedCertificate> {
    const parsed = checkCertificateUrl(url, this.config);
    const key = parsed.href;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.result;

    const result = this.fetchAndVerify(parsed);
    const entry: CacheEntry = { expiresAt: this.now() + this.config.certificateCacheTtlSeconds * 1000, result };
    this.remember(key, entry);
    result.catch(() => {
      if (this.cache.get(key) === entry) entry.expiresAt = this.now() + NEGATIVE_CACHE_MS;
    });
    return result;
  }

  private remember(key: string, entry: CacheEntry): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    while (this.cache.size > MAX_CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }

  private async fetchAndVerify(url: URL): Promise<TrustedCertificate> {
    const bytes = await this.download(url);
    let certificates: X509Certificate[];
    try {
      certificates = parseCertificates(bytes);
    } catch {
      throw new CertificateError('certificate_invalid', 'the certificate at X-MS-Certificate-Url is not PEM or DER X.509');
    }
    const [leaf, ...bundled] = certificates;
    if (!leaf) throw new CertificateError('certificate_invalid', 'no certificate at X-MS-Certificate-Url');
    return { leaf, chain: this.buildChain(leaf, [...bundled, ...this.intermediates]) };
  }

  private async download(url: URL): Promise<Buffer> {
    const max = this.config.certificateMaxBytes;
    try {
      // undici does not follow redirects unless asked: a redirect cannot lead us off the allowlist.
      const response = await request(url, {
        method: 'GET',
        signal: AbortSignal.timeout(this.config.certificateFetchTimeoutMs),
        headers: { accept: 'application/pkix-cert, application/x-pem-file, */*' },
      });
      if (response.statusCode !== 200) {
        response.body.destroy();
        throw new CertificateError('certificate_fetch_failed', `certificate download answered HTTP ${response.statusCode}`);
      }
      const declared = Number(response.headers['content-length'] ?? 0);
      if (declared > max) {
        response.body.destroy();
        throw new CertificateError('certificate_fetch_failed', `certificate is larger than ${max} bytes`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > max) {
          response.body.destroy();
          throw new CertificateError('certificate_fetch_failed', `certificate is larger than ${max} bytes`);
        }
        chunks.push(buf);
      }
      return Buffer.concat(chunks);
    } catch (error) {
      if (error instanceof CertificateError) throw error;
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'failed';
      throw new CertificateError('certificate_fetch_failed', `certificate download ${reason}`);
    }
  }

  private buildChain(leaf: X509Certificate, pool: X509Certificate[]): X509Certificate[] {
    const chain = [leaf];
    let current = leaf;
    for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
      if (this.anchors.some((anchor) => anchor.fingerprint256 === current.fingerprint256)) return chain;
      const anchor = this.anchors.find((a) => issuedBy(current, a));
      if (anchor) return [...chain, anchor];
      const next = pool.find((candidate) => candidate.ca && !chain.includes(candidate) && issuedBy(current, candidate));
      if (!next) break;
      chain.push(next);
      current = next;
    }
    throw new CertificateError('certificate_untrusted', 'the signing certificate does not chain to a configured trust anchor');
  }
}

function issuedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
}

/** Accepts PEM (one or more blocks) or DER: the format Microsoft serves is not documented. */
export function parseCertificates(input: Buffer | string): X509Certificate[] {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks) return blocks.map((block) => new X509Certificate(block));
  return [new X509Certificate(typeof input === 'string' ? Buffer.from(input, 'latin1') : input)];
}

function readPemFile(file: string, what: string): X509Certificate[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`cannot read the ${what} file ${file}`);
  }
  try {
    const certs = parseCertificates(text);
    if (certs.length === 0) throw new Error('empty');
    return certs;
  } catch {
    throw new Error(`the ${what} file ${file} holds no PEM certificate`);
  }
}
