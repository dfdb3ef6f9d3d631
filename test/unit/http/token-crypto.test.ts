import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryptionKeySchema, openToken, sealToken, TokenDecryptionError } from '../../../src/http/token-crypto.ts';
import { explainCredentialProblem } from '../../../src/http/entra-errors.ts';

const TOKEN = '0.AXcA-refresh-token-of-the-referrals-admin';

describe('token sealing (AES-256-GCM)', () => {
  it('round-trips, and the sealed form holds no trace of the token', () => {
    const key = randomBytes(32);
    const sealed = sealToken(key, TOKEN);
    expect(sealed).not.toContain(TOKEN);
    expect(sealed).not.toContain(Buffer.from(TOKEN).toString('base64url'));
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(openToken(key, sealed)).toBe(TOKEN);
    // A fresh IV each time: sealing twice never yields the same text.
    expect(sealToken(key, TOKEN)).not.toBe(sealed);
  });

  it('refuses a wrong key and an edited value without echoing either', () => {
    const key = randomBytes(32);
    const sealed = sealToken(key, TOKEN);
    expect(() => openToken(randomBytes(32), sealed)).toThrow(TokenDecryptionError);
    const parts = sealed.split('.');
    const edited = [...parts.slice(0, 3), `${parts[3]?.slice(0, -2) ?? ''}AA`].join('.');
    expect(() => openToken(key, edited)).toThrow(/cannot be decrypted/);
    expect(() => openToken(key, 'plain-text')).toThrow(/unknown format/);
  });

  it('accepts a 256-bit key in hex or base64 and rejects anything else', () => {
    const bytes = randomBytes(32);
    expect(encryptionKeySchema.parse(bytes.toString('hex')).equals(bytes)).toBe(true);
    expect(encryptionKeySchema.parse(`${bytes.toString('base64')}\n`).equals(bytes)).toBe(true);
    expect(encryptionKeySchema.parse(bytes.toString('base64url')).equals(bytes)).toBe(true);
    for (const bad of ['', 'short', randomBytes(16).toString('base64'), randomBytes(31).toString('hex'), 'not base64 at all!']) {
      expect(encryptionKeySchema.safeParse(bad).success, bad).toBe(false);
    }
  });
});

describe('Entra / Partner Center credential problems', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['invalid_grant: AADSTS700082: The refresh token has expired due to inactivity.', 'AADSTS700082', /90 days without use/],
    ['invalid_grant: AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.', 'AADSTS70043', /sign-in frequency/],
    ['invalid_grant: AADSTS50173: The provided grant has expired due to it being revoked.', 'AADSTS50173', /revoked/],
    ['interaction_required: AADSTS50076: you must use multi-factor authentication to access', 'AADSTS50076', /requires multifactor authentication/],
    ['interaction_required: AADSTS50079: the user is required to use multi-factor authentication', 'AADSTS50079', /enrol in multifactor/],
    ['invalid_grant: AADSTS65001: The user or administrator has not consented to use the application', 'AADSTS65001', /no consent/],
    ['Partner Center referrals GET /engagements/referrals: 401 900421 MFA required', '900421', /no multifactor authentication claim/],
  ];
  for (const [message, code, meaning] of cases) {
    it(`explains ${code} and says what to do`, () => {
      const problem = explainCredentialProblem(message);
      expect(problem?.code).toBe(code);
      expect(problem?.advice).toMatch(meaning);
      expect(problem?.advice).toContain('cosell init');
      expect(problem?.advice).toMatch(/multifactor authentication/);
    });
  }

  it('leaves other failures alone', () => {
    expect(explainCredentialProblem('invalid_client: AADSTS7000215: Invalid client secret provided.')).toBeUndefined();
    expect(explainCredentialProblem('connect ECONNREFUSED 127.0.0.1:443')).toBeUndefined();
    // 900421 inside a longer number is not the MFA code.
    expect(explainCredentialProblem('request 19004211 failed')).toBeUndefined();
  });
});
