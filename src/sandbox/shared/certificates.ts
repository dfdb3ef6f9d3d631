import { randomBytes, sign, webcrypto, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
// @peculiar/x509 resolves algorithms through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 defaults to globalThis.crypto; pinning Node's webcrypto makes the choice explicit and independent of
// whatever a test environment may have installed globally.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

// The project compiles without the DOM lib, so the WebCrypto types come from Node's own declarations.
export type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface CertificateAuthority {
  certificatePem: string;
  certificateDer: Buffer;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  subject: string;
}

export interface IssuedCertificate {
  certificatePem: string;
  certificateDer: Buffer;
  privateKeyPem: string;
  subject: string;
  issuer: string;
}

export interface CertificateValidity {
  subject?: string;
  notBefore?: Date;
  notAfter?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const RSA_SIGNING: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

export const DEFAULT_CA_SUBJECT = 'CN=cosell-sync sandbox root CA, O=Microsoft Corporation';
/** Microsoft's sample verifier checks the issuer for `O=Microsoft Corporation`, so the leaf must carry it too. */
export const DEFAULT_SIGNING_SUBJECT = 'CN=pcnotifications-dispatch.sandbox, O=Microsoft Corporation';

function yearsFromNow(years: number): Date {
  const date = new Date();
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return date;
}

/** Positive, 16 random bytes: DER integers are signed, so the top bit must be clear. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA_SIGNING, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, { name: RSA_SIGNING.name, hash: RSA_SIGNING.hash }, true, ['sign']);
}

function certificateDer(certificate: x509.X509Certificate): Buffer {
  return Buffer.from(certificate.rawData);
}

export async function createCertificateAuthority(options: CertificateValidity = {}): Promise<CertificateAuthority> {
  const keys = await generateKeyPair();
  const subject = options.subject ?? DEFAULT_CA_SUBJECT;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: subject,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
    notAfter: options.notAfter ?? yearsFromNow(10),
    signingAlgorithm: RSA_SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certificatePem: certificate.toString('pem'),
    certificateDer: certificateDer(certificate),
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    subject: certificate.subject,
  };
}

export async function issueCertificate(ca: CertificateAuthority, options: CertificateValidity = {}): Promise<IssuedCertificate> {
  const keys = await generateKeyPair();
  const caCertificate = new x509.X509Certificate(ca.certificateDer);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: options.subject ?? DEFAULT_SIGNING_SUBJECT,
    issuer: caCertificate.subject,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
    notAfter: options.notAfter ?? yearsFromNow(2),
    signingAlgorithm: RSA_SIGNING,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return {
    certificatePem: certificate.toString('pem'),
    certificateDer: certificateDer(certificate),
    privateKeyPem: await privateKeyToPem(keys.privateKey),
    subject: certificate.subject,
    issuer: certificate.issuer,
  };
}

/** Base64 RSA-SHA256 (PKCS#1 v1.5) over the exact bytes, the scheme Partner Center webhook deliveries use. */
export function signBody(privateKey: string | KeyObject, body: Buffer | string): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return sign('sha256', bytes, privateKey).toString('base64');
}

export interface SigningMaterial {
  ca: CertificateAuthority;
  signing: IssuedCertificate;
}

const FILES = {
  caCertificate: 'root-ca.pem',
  caKey: 'root-ca.key.pem',
  signingCertificate: 'signing.pem',
  signingKey: 'signing.key.pem',
} as const;

/** A certificate this close to expiry is re-issued at start so a long-running sandbox never signs with a dead one. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

function isUsable(certificate: x509.X509Certificate, now = Date.now()): boolean {
  return certificate.notBefore.getTime() <= now && certificate.notAfter.getTime() - RENEW_BEFORE_MS > now;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function writePrivate(path: string, contents: string): Promise<void> {
  await writeFile(path, contents, { mode: 0o600 });
  // writeFile's mode applies only on creation; an older file keeps its mode unless we reset it.
  await chmod(path, 0o600);
}

async function loadCertificateAuthority(stateDir: string): Promise<CertificateAuthority | undefined> {
  const certificatePem = await readOptional(join(stateDir, FILES.caCertificate));
  const keyPem = await readOptional(join(stateDir, FILES.caKey));
  if (certificatePem === undefined || keyPem === undefined) return undefined;
  const certificate = new x509.X509Certificate(certificatePem);
  if (!isUsable(certificate)) return undefined;
  return {
    certificatePem: certificate.toString('pem'),
    certificateDer: certificateDer(certificate),
    privateKey: await importPrivateKeyPem(keyPem),
    publicKey: (await certificate.publicKey.export()) as CryptoKey,
    subject: certificate.subject,
  };
}

async function loadSigningCertificate(stateDir: string, ca: CertificateAuthority): Promise<IssuedCertificate | undefined> {
  const certificatePem = await readOptional(join(stateDir, FILES.signingCertificate));
  const privateKeyPem = await readOptional(join(stateDir, FILES.signingKey));
  if (certificatePem === undefined || privateKeyPem === undefined) return undefined;
  const certificate = new x509.X509Certificate(certificatePem);
  const caCertificate = new x509.X509Certificate(ca.certificateDer);
  // A leaf left over from a previous CA would break the chain every verifier checks.
  if (!isUsable(certificate) || !(await certificate.verify({ publicKey: caCertificate.publicKey, signatureOnly: true }))) {
    return undefined;
  }
  return {
    certificatePem: certificate.toString('pem'),
    certificateDer: certificateDer(certificate),
    privateKeyPem,
    subject: certificate.subject,
    issuer: certificate.issuer,
  };
}

/**
 * Loads the CA and signing certificate from `stateDir` (PEM; private keys PKCS#8), creating and persisting whatever is
 * missing or about to expire, so a restarted sandbox keeps the trust root its clients were configured with.
 * Without `stateDir` everything is created in memory.
 */
export async function loadOrCreateSigningMaterial(
  stateDir?: string,
  subjects: { caSubject?: string; signingSubject?: string } = {},
): Promise<SigningMaterial> {
  const caOptions = subjects.caSubject ? { subject: subjects.caSubject } : {};
  const signingOptions = subjects.signingSubject ? { subject: subjects.signingSubject } : {};
  if (stateDir === undefined) {
    const ca = await createCertificateAuthority(caOptions);
    return { ca, signing: await issueCertificate(ca, signingOptions) };
  }
  await mkdir(stateDir, { recursive: true });
  let ca = await loadCertificateAuthority(stateDir);
  if (!ca) {
    ca = await createCertificateAuthority(caOptions);
    await writeFile(join(stateDir, FILES.caCertificate), ca.certificatePem);
    await writePrivate(join(stateDir, FILES.caKey), await privateKeyToPem(ca.privateKey));
  }
  let signing = await loadSigningCertificate(stateDir, ca);
  if (!signing) {
    signing = await issueCertificate(ca, signingOptions);
    await writeFile(join(stateDir, FILES.signingCertificate), signing.certificatePem);
    await writePrivate(join(stateDir, FILES.signingKey), signing.privateKeyPem);
  }
  return { ca, signing };
}
