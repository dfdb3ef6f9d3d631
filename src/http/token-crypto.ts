import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';

/*
 * Encryption at rest for credentials the service must keep between runs (Entra's rotated refresh token): AES-256-GCM
 * from node:crypto, a fresh 96-bit IV per value, the 128-bit tag checked on decryption so a wrong key or an edited row
 * fails instead of yielding garbage. Sealed form: `v1.<iv>.<tag>.<ciphertext>`, each base64url.
 */

const KEY_BYTES = 32;
const IV_BYTES = 12;
const VERSION = 'v1';

/** The key as configured: 32 bytes written as 64 hex digits or as base64 / base64url (`openssl rand -base64 32`). */
export const encryptionKeySchema = z
  .string()
  .trim()
  .transform((text, ctx) => {
    const bytes = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
    if (bytes?.length !== KEY_BYTES) {
      ctx.addIssue({ code: 'custom', message: 'expected a 256-bit key: 64 hex digits or 32 bytes in base64 (e.g. `openssl rand -base64 32`)' });
      return z.NEVER;
    }
    return bytes;
  });

export class TokenDecryptionError extends Error {
  override readonly name = 'TokenDecryptionError';
}

export function sealToken(key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** Names a token without revealing it (HMAC-SHA256 under the same key): to tell whether the configured one changed. */
export function tokenFingerprint(key: Buffer, token: string): string {
  return createHmac('sha256', key).update(token, 'utf8').digest('base64url');
}

/** Throws TokenDecryptionError (never with the value in it) for a wrong key, a damaged value or an unknown format. */
export function openToken(key: Buffer, sealed: string): string {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || ciphertext === undefined || rest.length > 0) throw new TokenDecryptionError('the stored credential has an unknown format');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new TokenDecryptionError('the stored credential cannot be decrypted (a different encryption key, or a damaged value)');
  }
}
