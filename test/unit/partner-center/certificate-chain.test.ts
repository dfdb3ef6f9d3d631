import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrustAnchors } from '../../../src/partner-center/certificate-chain.ts';

/*
 * Chains built the way Microsoft's is (root → issuing CA → signing certificate), and wrong ones: an intermediate that
 * borrows the real one's name with another key, one that is not a CA, a root that borrows the anchor's name.
 */
const RSA: webcrypto.RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const DAY_MS = 86_400_000;

interface Issued {
  certificate: X509Certificate;
  keys: webcrypto.CryptoKeyPair;
  subject: string;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function root(subject: string): Promise<Issued> {
  const keys = await keyPair();
  const generated = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 365 * DAY_MS),
    signingAlgorithm: RSA,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return { certificate: new X509Certificate(Buffer.from(generated.rawData)), keys, subject };
}

async function issue(issuer: Issued, subject: string, options: { ca: boolean; authorityKeyId?: boolean }): Promise<Issued> {
  const keys = await keyPair();
  const generated = await x509.X509CertificateGenerator.create({
    subject,
    issuer: issuer.subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 365 * DAY_MS),
    signingAlgorithm: RSA,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(options.ca, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(options.authorityKeyId === false ? [] : [await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey)]),
    ],
  });
  return { certificate: new X509Certificate(Buffer.from(generated.rawData)), keys, subject };
}

const ROOT = 'CN=Test Root G2, O=Test Trust';
const ISSUING = 'CN=Test Issuing CA 01, O=Microsoft Corporation';
const LEAF = 'CN=pcnotifications-dispatch.test, O=Microsoft Corporation';

describe('TrustAnchors (X509ChainBuilder)', () => {
  let anchor: Issued;
  let issuing: Issued;
  let leaf: Issued;
  let anchors: TrustAnchors;

  beforeAll(async () => {
    anchor = await root(ROOT);
    issuing = await issue(anchor, ISSUING, { ca: true });
    leaf = await issue(issuing, LEAF, { ca: false });
    anchors = new TrustAnchors([anchor.certificate]);
  });

  it('builds leaf → issuing CA → anchor from the bundled intermediate', async () => {
    const chain = await anchors.chainOf(leaf.certificate, [issuing.certificate]);
    expect(chain?.map((c) => c.subject)).toEqual([leaf.certificate.subject, issuing.certificate.subject, anchor.certificate.subject]);
  });

  it('finds no chain without the intermediate', async () => {
    expect(await anchors.chainOf(leaf.certificate, [])).toBeUndefined();
  });

  it('refuses an intermediate that carries the issuing CA name under another key (a wrong chain)', async () => {
    const otherRoot = await root(ROOT);
    const forged = await issue(otherRoot, ISSUING, { ca: true, authorityKeyId: false });
    const forgedLeaf = await issue(forged, LEAF, { ca: false, authorityKeyId: false });
    // Bundled with the forged leaf: the real issuing CA (its name matches, its key did not sign) and the forged one,
    // whose issuer name is the anchor's but whose signature is another root's.
    expect(await anchors.chainOf(forgedLeaf.certificate, [issuing.certificate, forged.certificate])).toBeUndefined();
    expect(await anchors.chainOf(forgedLeaf.certificate, [issuing.certificate, forged.certificate, otherRoot.certificate])).toBeUndefined();
  });

  it('refuses a chain through a certificate that is not a CA', async () => {
    const notCa = await issue(anchor, ISSUING, { ca: false });
    const underNotCa = await issue(notCa, LEAF, { ca: false });
    expect(await anchors.chainOf(underNotCa.certificate, [notCa.certificate])).toBeUndefined();
  });

  it('accepts a leaf that is itself an anchor, and stops a chain at the first anchor', async () => {
    expect(await anchors.chainOf(anchor.certificate, [])).toEqual([anchor.certificate]);
    const withIssuingAnchor = new TrustAnchors([issuing.certificate, anchor.certificate]);
    expect((await withIssuingAnchor.chainOf(leaf.certificate, []))?.map((c) => c.subject)).toEqual([leaf.certificate.subject, issuing.certificate.subject]);
  });
});
