import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { LRUCache } from 'lru-cache';
import { request, type Dispatcher } from 'undici';
import { ConfigError } from '../config/errors.ts';
import type { WebhookVerificationConfig } from '../config/schema.ts';
import { outboundDispatcher } from '../http/outbound.ts';
import { TrustAnchors } from './certificate-chain.ts';

export type CertificateProblem =
  | 'certificate_url_invalid'
  | 'certificate_url_not_allowed'
  | 'certificate_fetch_failed'
  | 'certificate_rate_limited'
  | 'certificate_invalid'
  | 'certificate_untrusted';

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  constructor(
    readonly problem: CertificateProblem,
    message: string,
    /** Set with `certificate_rate_limited`: when a download for this host may be tried again. */
    readonly retryAfterSeconds?: number,
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

/**
 * Verified certificates are few (Microsoft rotates by URL, rarely) and only ever enter this cache after a chain check,
 * so forged URLs, which never verify, cannot evict them: they land in the bounded negative cache instead.
 */
const MAX_VERIFIED_ENTRIES = 256;
/** Failures, remembered briefly so a flood of requests for one bad URL costs one download. */
const MAX_NEGATIVE_ENTRIES = 1024;
const NEGATIVE_CACHE_MS = 30_000;
const RATE_WINDOW_MS = 60_000;

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
  // The fragment never reaches the server: `a.cer#1` and `a.cer#2` are one resource and one cache entry.
  parsed.hash = '';
  return parsed;
}

/** Sliding one-minute window of download start times per host; hosts come from the allowlist, so the map is bounded. */
class DownloadBudget {
  private readonly starts = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** Takes one download from the host's budget, or answers how many seconds until one is free. */
  take(host: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    const recent = (this.starts.get(host) ?? []).filter((at) => at > now - RATE_WINDOW_MS);
    if (recent.length >= this.perMinute) {
      this.starts.set(host, recent);
      const oldest = recent[0] ?? now;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + RATE_WINDOW_MS - now) / 1000)) };
    }
    recent.push(now);
    this.starts.set(host, recent);
    return { ok: true };
  }
}

/**
 * Fetches signing certificates from allowlisted URLs only, verifies their chain once and caches the verdict by URL
 * (certificates rotate by URL, so a new URL means a new fetch). Every URL on an allowed host is reachable by anyone
 * who can send a request, so downloads are budgeted per host per minute, concurrent requests for one URL share a
 * download, failures are cached briefly, and only verified certificates enter the long-lived cache.
 */
export class CertificateSource {
  private readonly verified: LRUCache<string, { expiresAt: number; certificate: TrustedCertificate }>;
  private readonly failed: LRUCache<string, { expiresAt: number; error: CertificateError }>;
  private readonly inFlight = new Map<string, Promise<TrustedCertificate>>();
  private readonly budget: DownloadBudget;
  private readonly anchors: TrustAnchors;
  private readonly intermediates: X509Certificate[];

  constructor(
    private readonly config: WebhookVerificationConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.anchors = new TrustAnchors(
      config.trustAnchors.flatMap((anchor, index) =>
        anchor === 'system' ? rootCertificates.flatMap(parseCertificates) : readPemFile(anchor, `partnerCenter.webhooks.trustAnchors.${index}`, 'trust anchor'),
      ),
    );
    this.intermediates = config.intermediates.flatMap((file, index) =>
      readPemFile(file, `partnerCenter.webhooks.intermediates.${index}`, 'intermediate certificate'),
    );
    this.verified = new LRUCache({ max: MAX_VERIFIED_ENTRIES });
    this.failed = new LRUCache({ max: MAX_NEGATIVE_ENTRIES });
    this.budget = new DownloadBudget(config.certificateDownloadsPerMinute, now);
  }

  get(url: string): Promise<TrustedCertificate> {
    const parsed = checkCertificateUrl(url, this.config);
    const key = parsed.href;
    const now = this.now();
    const hit = this.verified.get(key);
    if (hit && hit.expiresAt > now) return Promise.resolve(hit.certificate);
    const failure = this.failed.get(key);
    if (failure && failure.expiresAt > now) return Promise.reject(failure.error);
    const pending = this.inFlight.get(key);
    if (pending) return pending;

    const allowance = this.budget.take(parsed.host);
    if (!allowance.ok) {
      // Forged traffic may have spent the budget just as a verified certificate's cache time ran out: it stays usable
      // (its validity dates are still checked on every use) rather than turning genuine events away.
      if (hit) return Promise.resolve(hit.certificate);
      // Nothing is remembered for this URL: once the budget frees up, the genuine certificate downloads normally.
      return Promise.reject(
        new CertificateError(
          'certificate_rate_limited',
          `too many certificate downloads from ${parsed.host} in the last minute`,
          allowance.retryAfterSeconds,
        ),
      );
    }
    const result = this.fetchAndVerify(parsed).then(
      (certificate) => {
        this.verified.set(key, { expiresAt: this.now() + this.config.certificateCacheTtlSeconds * 1000, certificate });
        this.failed.delete(key);
        return certificate;
      },
      (error: unknown) => {
        const certificateError =
          error instanceof CertificateError ? error : new CertificateError('certificate_fetch_failed', 'certificate download failed');
        this.failed.set(key, { expiresAt: this.now() + NEGATIVE_CACHE_MS, error: certificateError });
        throw certificateError;
      },
    );
    const settled = result.finally(() => this.inFlight.delete(key));
    // `settled` rejects like `result`; the callers hold `result`, so this copy must not become an unhandled rejection.
    settled.catch(() => undefined);
    this.inFlight.set(key, result);
    return result;
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
    const chain = await this.anchors.chainOf(leaf, [...bundled, ...this.intermediates]);
    if (!chain) throw new CertificateError('certificate_untrusted', 'the signing certificate does not chain to a configured trust anchor');
    return { leaf, chain };
  }

  private async download(url: URL): Promise<Buffer> {
    const max = this.config.certificateMaxBytes;
    try {
      // undici does not follow redirects unless asked: a redirect cannot lead us off the allowlist.
      const response = await request(url, {
        method: 'GET',
        signal: AbortSignal.timeout(this.config.certificateFetchTimeoutMs),
        headers: { accept: 'application/pkix-cert, application/x-pem-file, */*' },
        // The proxy and connect / headers limits of every outbound call.
        dispatcher: outboundDispatcher(),
      });
      if (response.statusCode !== 200) {
        discard(response.body);
        throw new CertificateError('certificate_fetch_failed', `certificate download answered HTTP ${response.statusCode}`);
      }
      const declared = Number(response.headers['content-length'] ?? 0);
      if (declared > max) {
        discard(response.body);
        throw new CertificateError('certificate_fetch_failed', `certificate is larger than ${max} bytes`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      // Leaving the loop early (throw) makes the iterator destroy the body; the iterator owns its error events.
      for await (const chunk of response.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > max) throw new CertificateError('certificate_fetch_failed', `certificate is larger than ${max} bytes`);
        chunks.push(buf);
      }
      return Buffer.concat(chunks);
    } catch (error) {
      if (error instanceof CertificateError) throw error;
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'failed';
      throw new CertificateError('certificate_fetch_failed', `certificate download ${reason}`);
    }
  }
}

/** Accepts PEM (one or more blocks) or DER: the format Microsoft serves is not documented. */
export function parseCertificates(input: Buffer | string): X509Certificate[] {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks) return blocks.map((block) => new X509Certificate(block));
  return [new X509Certificate(typeof input === 'string' ? Buffer.from(input, 'latin1') : input)];
}

/**
 * A trust anchor or intermediate named in the configuration. A missing or non-PEM file is invalid configuration (exit
 * code 2), reported with the setting that names it.
 */
export function readPemFile(file: string, setting: string, what: string): X509Certificate[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError('', setting, `cannot read the ${what} file ${file}${code ? ` (${code})` : ''}`);
  }
  let certs: X509Certificate[] = [];
  try {
    // DER is not accepted here: the setting documents PEM, and a stray binary file is more likely a mistake.
    certs = /-----BEGIN CERTIFICATE-----/.test(text) ? parseCertificates(text) : [];
  } catch {
    certs = [];
  }
  if (certs.length === 0) throw new ConfigError('', setting, `the ${what} file ${file} holds no PEM certificate`);
  return certs;
}

/**
 * Drops a response body we will not read. Destroying an undici body emits an `error` event (RequestAbortedError); a
 * body with no listener for it would turn one unwanted answer into an uncaught exception that ends the process.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}
