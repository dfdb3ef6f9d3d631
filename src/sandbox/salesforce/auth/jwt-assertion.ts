import { isPlainObject } from '../../shared/deep-merge.ts';

export interface JwtClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
}

export type AssertionCheck = { ok: true; claims: JwtClaims } | { ok: false; error: string; description: string };

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Clock skew allowed on `exp`, as token endpoints commonly do. */
const SKEW_SECONDS = 60;

function decodeSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const invalid = (description: string): AssertionCheck => ({ ok: false, error: 'invalid_grant', description });

/**
 * Checks a JWT bearer assertion's structure and claims (Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server
 * Integration": RS256, iss, sub, aud, exp) but not its signature: the sandbox holds no certificate of the connected
 * app, and a protocol test needs any well-formed assertion to work.
 */
export function checkJwtAssertion(assertion: string | undefined, nowMs: number = Date.now()): AssertionCheck {
  if (!assertion) return { ok: false, error: 'invalid_request', description: 'assertion is required for the jwt-bearer grant type' };
  const parts = assertion.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return invalid('invalid assertion: a JWT has three base64url segments');
  const [headerPart = '', payloadPart = ''] = parts;
  const header = decodeSegment(headerPart);
  const payload = decodeSegment(payloadPart);
  if (!isPlainObject(header) || !isPlainObject(payload)) return invalid('invalid assertion: header and payload must be JSON objects');
  if (header.alg !== 'RS256') return invalid(`invalid assertion: alg must be RS256 (got ${String(header.alg)})`);
  const { iss, sub, aud, exp } = payload;
  if (typeof iss !== 'string' || iss === '') return { ok: false, error: 'invalid_client_id', description: 'client identifier invalid' };
  if (typeof sub !== 'string' || sub === '') return invalid('invalid assertion: sub (the username) is required');
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((item): item is string => typeof item === 'string') : [];
  if (audiences.length === 0) return invalid('audience is invalid');
  if (typeof exp !== 'number') return invalid('invalid assertion: exp is required');
  if (exp + SKEW_SECONDS < nowMs / 1000) return invalid('expired assertion');
  return { ok: true, claims: { iss, sub, aud: audiences.length === 1 ? (audiences[0] ?? '') : audiences, exp } };
}
