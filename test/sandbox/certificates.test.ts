import { execFileSync } from 'node:child_process';
import { X509Certificate, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  issueCertificate,
  loadOrCreateSigningMaterial,
  signBody,
} from '../../src/sandbox/shared/certificates.ts';
import { startPartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSandbox, type SandboxClient } from './helpers/sandbox-client.ts';
import { waitFor } from './helpers/wait.ts';
import { WebhookReceiver } from './helpers/webhook-receiver.ts';

describe('certificates', () => {
  it('issues a leaf that chains to the CA and carries O=Microsoft Corporation in subject and issuer', async () => {
    const ca = await createCertificateAuthority();
    const leaf = await issueCertificate(ca);
    const caCert = new X509Certificate(ca.certificatePem);
    const leafCert = new X509Certificate(leaf.certificateDer);

    expect(caCert.ca).toBe(true);
    expect(leafCert.ca).toBe(false);
    expect(leafCert.verify(caCert.publicKey)).toBe(true);
    expect(leafCert.checkIssued(caCert)).toBe(true);
    expect(leafCert.subject).toContain('O=Microsoft Corporation');
    expect(leafCert.issuer).toContain('O=Microsoft Corporation');
    expect(leaf.issuer).toBe(ca.subject);
    expect(new Date(leafCert.validTo).getTime()).toBeGreaterThan(Date.now() + 365 * 24 * 3600 * 1000);
    expect(new Date(leafCert.validFrom).getTime()).toBeLessThan(Date.now());

    const other = await createCertificateAuthority({ subject: 'CN=Impostor, O=Microsoft Corporation' });
    expect(leafCert.verify(new X509Certificate(other.certificatePem).publicKey)).toBe(false);
  });

  it('signs bodies with RSA-SHA256 that verify against the leaf public key, and only for the exact bytes', async () => {
    const ca = await createCertificateAuthority();
    const leaf = await issueCertificate(ca, { subject: 'CN=signer, O=Microsoft Corporation' });
    const body = Buffer.from('{"EventName":"referral-created"}');
    const signature = Buffer.from(signBody(leaf.privateKeyPem, body), 'base64');
    const publicKey = new X509Certificate(leaf.certificatePem).publicKey;

    expect(verify('RSA-SHA256', body, publicKey, signature)).toBe(true);
    expect(verify('RSA-SHA256', Buffer.from('{"EventName":"referral-created" }'), publicKey, signature)).toBe(false);
    expect(signBody(leaf.privateKeyPem, body.toString('utf8'))).toBe(signature.toString('base64'));
  });

  it('honours custom validity windows', async () => {
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2021-01-01T00:00:00Z');
    const ca = await createCertificateAuthority();
    const leaf = await issueCertificate(ca, { notBefore, notAfter });
    const cert = new X509Certificate(leaf.certificatePem);
    expect(new Date(cert.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(cert.validTo).toISOString()).toBe(notAfter.toISOString());
  });

  it('persists the CA and signing certificate in stateDir and reuses them on restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-sandbox-state-'));
    try {
      const first = await loadOrCreateSigningMaterial(dir);
      const second = await loadOrCreateSigningMaterial(dir);
      expect(second.ca.certificatePem).toBe(first.ca.certificatePem);
      expect(second.signing.certificatePem).toBe(first.signing.certificatePem);
      expect(second.signing.privateKeyPem).toBe(first.signing.privateKeyPem);
      expect(readFileSync(join(dir, 'root-ca.key.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
      expect(statSync(join(dir, 'signing.key.pem')).mode & 0o077).toBe(0);

      // The reloaded CA key must still be able to issue certificates that chain to the persisted root.
      const extra = await issueCertificate(second.ca);
      expect(new X509Certificate(extra.certificatePem).checkIssued(new X509Certificate(first.ca.certificatePem))).toBe(true);

      // A signing certificate from some other CA is replaced rather than served with a broken chain.
      const foreign = await issueCertificate(await createCertificateAuthority());
      writeFileSync(join(dir, 'signing.pem'), foreign.certificatePem);
      const third = await loadOrCreateSigningMaterial(dir);
      expect(third.ca.certificatePem).toBe(first.ca.certificatePem);
      expect(third.signing.certificatePem).not.toBe(foreign.certificatePem);
      expect(new X509Certificate(third.signing.certificatePem).checkIssued(new X509Certificate(first.ca.certificatePem))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sandbox trust root', () => {
  it('survives a restart when stateDir is given, and differs without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-sandbox-restart-'));
    try {
      const first = await startPartnerCenterSandbox({ port: 0, stateDir: dir });
      await first.close();
      const second = await startPartnerCenterSandbox({ port: 0, stateDir: dir });
      const servedRoot = await (await fetch(`${second.url}/_sandbox/certificates/root.pem`)).text();
      await second.close();
      expect(second.rootCertificatePem).toBe(first.rootCertificatePem);
      expect(servedRoot).toBe(first.rootCertificatePem);
      const ephemeral = await startPartnerCenterSandbox({ port: 0 });
      await ephemeral.close();
      expect(ephemeral.rootCertificatePem).not.toBe(first.rootCertificatePem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a delivered webhook verifies independently with the openssl CLI', () => {
  let client: SandboxClient;
  let receiver: WebhookReceiver;
  const work = mkdtempSync(join(tmpdir(), 'pc-openssl-'));

  beforeAll(async () => {
    client = await startSandbox();
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await client.sandbox.close();
    await receiver.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('verifies the signature over the raw body with the certificate from X-MS-Certificate-Url, chained to the root', async () => {
    await client.register(receiver.url, ['referral-created']);
    const referral = await client.createIncoming({ microsoftSide: false });
    const [delivery] = await waitFor(() => receiver.requests.length >= 1 && receiver.requests, 5_000, 'a delivery');
    if (!delivery) throw new Error('no delivery');

    const authorization = String(delivery.headers.authorization);
    expect(authorization).toMatch(/^Signature [A-Za-z0-9+/]+=*$/);
    expect(delivery.headers['x-ms-signature-algorithm']).toBe('rsa-sha256');
    const certificateUrl = String(delivery.headers['x-ms-certificate-url']);
    expect(certificateUrl).toBe(client.sandbox.signingCertificateUrl);
    expect((delivery.json as { ResourceUri: string }).ResourceUri.endsWith(`/${String(referral.id)}`)).toBe(true);

    const certificate = Buffer.from(await (await fetch(certificateUrl)).arrayBuffer());
    writeFileSync(join(work, 'signing.cer'), certificate);
    writeFileSync(join(work, 'root.pem'), client.sandbox.rootCertificatePem);
    writeFileSync(join(work, 'body.json'), delivery.rawBody);
    writeFileSync(join(work, 'signature.bin'), Buffer.from(authorization.split(' ')[1] ?? '', 'base64'));

    const run = (...args: string[]): string => execFileSync('openssl', args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(join(work, 'pubkey.pem'), run('x509', '-inform', 'DER', '-in', 'signing.cer', '-pubkey', '-noout'));
    expect(run('dgst', '-sha256', '-verify', 'pubkey.pem', '-signature', 'signature.bin', 'body.json')).toContain('Verified OK');

    run('x509', '-inform', 'DER', '-in', 'signing.cer', '-out', 'signing.pem');
    expect(run('verify', '-CAfile', 'root.pem', 'signing.pem')).toContain('signing.pem: OK');
    expect(run('x509', '-in', 'signing.pem', '-noout', '-issuer')).toMatch(/O\s*=\s*Microsoft Corporation/);

    // Tampering with one byte must fail verification, or the check above proves nothing.
    const tampered = Buffer.from(delivery.rawBody);
    tampered[tampered.length - 2] = tampered[tampered.length - 2] === 0x30 ? 0x31 : 0x30;
    writeFileSync(join(work, 'tampered.json'), tampered);
    expect(() => run('dgst', '-sha256', '-verify', 'pubkey.pem', '-signature', 'signature.bin', 'tampered.json')).toThrow();
  });

  it('serves the signing certificate as PEM and the root CA at documented control paths', async () => {
    const pem = await client.request('GET', '/_sandbox/certificates/signing.pem');
    const der = Buffer.from(await (await fetch(client.sandbox.signingCertificateUrl)).arrayBuffer());
    expect(new X509Certificate(pem.text).fingerprint256).toBe(new X509Certificate(der).fingerprint256);
    const root = await client.request('GET', '/_sandbox/certificates/root.pem');
    expect(root.text).toBe(client.sandbox.rootCertificatePem);
  });
});
