// tsyringe, which @peculiar/x509 uses inside, needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import { X509Certificate as ParsedCertificate, X509ChainBuilder } from '@peculiar/x509';

/** Longer chains than this (leaf, intermediates, anchor) are refused: Microsoft's is three certificates. */
const MAX_CHAIN_LENGTH = 7;

/**
 * Chain building for webhook signing certificates, by @peculiar/x509's X509ChainBuilder (issuer name, key identifiers,
 * signature), on top of which only the policy is ours: a chain is trusted when it reaches a configured trust anchor;
 * only certificates marked as CAs (basicConstraints cA) may issue on the way there, anchors excepted, as before.
 */
export class TrustAnchors {
  /** Parsed once: the system store holds over a hundred roots. */
  private readonly anchors: ReadonlyMap<ParsedCertificate, X509Certificate>;
  private readonly anchorFingerprints: ReadonlySet<string>;

  constructor(anchors: readonly X509Certificate[]) {
    this.anchors = new Map(anchors.map((anchor) => [new ParsedCertificate(anchor.raw), anchor]));
    this.anchorFingerprints = new Set(anchors.map((anchor) => anchor.fingerprint256));
  }

  /** Leaf first, anchor last; undefined when no chain through `pool` (bundled and configured intermediates) reaches an anchor. */
  async chainOf(leaf: X509Certificate, pool: readonly X509Certificate[]): Promise<X509Certificate[] | undefined> {
    if (this.anchorFingerprints.has(leaf.fingerprint256)) return [leaf];
    // The builder hands back the objects it was given: this maps them to Node's certificates again.
    const known = new Map(this.anchors);
    const parse = (certificate: X509Certificate): ParsedCertificate => {
      const parsed = new ParsedCertificate(certificate.raw);
      known.set(parsed, certificate);
      return parsed;
    };
    const issuers = [...pool.filter((candidate) => candidate.ca).map(parse), ...this.anchors.keys()];
    let built: ParsedCertificate[];
    try {
      built = [...(await new X509ChainBuilder({ certificates: issuers }).build(parse(leaf)))];
    } catch {
      // A loop among the bundled certificates ("Circular dependency") or one that does not parse: no chain.
      return undefined;
    }
    const chain = built.map((certificate) => known.get(certificate) ?? leaf);
    const anchorAt = chain.findIndex((certificate) => this.anchorFingerprints.has(certificate.fingerprint256));
    if (anchorAt < 0 || anchorAt >= MAX_CHAIN_LENGTH) return undefined;
    return chain.slice(0, anchorAt + 1);
  }
}
