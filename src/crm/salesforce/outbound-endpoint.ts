import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../../config/errors.ts';
import { describeSecretRef, resolveSecret, SecretResolutionError, type ResolveSecretOptions, type SecretRef } from '../../config/secrets.ts';
import type { SalesforceConfig } from '../../config/salesforce.ts';

/*
 * How an Outbound Message proves it comes from our org. Salesforce signs nothing, and the OrganizationId in the message
 * is public (it is in every record URL, e-mail header and support case), so it authenticates nothing. What Salesforce
 * does allow ("Considerations for Security" in the SOAP API Developer Guide's outbound-messaging chapter):
 *
 * - a secret in the endpoint URL the admin types into the Outbound Message action. It travels inside TLS and only
 *   Salesforce and we know it. This is what cosell-sync requires: https://host/webhooks/salesforce/<secret> (or
 *   `?token=<secret>` where a proxy cannot route a path segment).
 * - the SessionId the message could carry, checked by calling Salesforce with it. Salesforce removed "Send Session ID"
 *   in February 2026 (Help article "Security Updates to the 'Outbound Message with Session ID'"), so no message carries
 *   one any more and it is not offered here.
 * - Salesforce's client certificate (mutual TLS) and its published IP ranges: enforced by a TLS-terminating proxy in
 *   front of the service, not by the service (see README).
 */

export const OUTBOUND_WEBHOOK_PATH = '/webhooks/salesforce';
export const OUTBOUND_SECRET_SETTING = 'salesforce.outboundMessageSecret';
/** Unreserved URL characters only, so the secret is the same in a path segment and a query, encoded or not; 96 keeps it under fastify's 100-character route parameter limit. */
const SECRET_SHAPE = /^[A-Za-z0-9._~-]{32,96}$/;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** The endpoint secret, kept only as its SHA-256 so it cannot leak through a dump of this object. */
export class OutboundEndpointSecret {
  private readonly expected: Buffer;

  constructor(secret: string) {
    this.expected = digest(secret);
  }

  /** Constant time in the candidate's content (both sides are hashed to 32 bytes first, so length leaks nothing either). */
  matches(candidate: string | undefined): boolean {
    if (candidate === undefined || candidate.length > 1024) return false;
    return timingSafeEqual(digest(candidate), this.expected);
  }

  toJSON(): string {
    return '[secret]';
  }
}

export interface OutboundEndpoint {
  /** The connection the notifications belong to. */
  name: string;
  organizationId: string;
  secret: OutboundEndpointSecret;
}

/** Reads and checks the secret; every failure is a ConfigError naming the setting (exit code 2), never showing a value. */
export async function resolveOutboundSecret(ref: SecretRef, env?: ResolveSecretOptions['env']): Promise<string> {
  let secret: string;
  try {
    secret = await resolveSecret(ref, env ? { env } : {});
  } catch (error) {
    if (error instanceof SecretResolutionError) throw new ConfigError('configuration', OUTBOUND_SECRET_SETTING, error.message);
    throw error;
  }
  if (!SECRET_SHAPE.test(secret)) {
    throw new ConfigError(
      'configuration',
      OUTBOUND_SECRET_SETTING,
      `the secret in ${describeSecretRef(ref)} must be 32 to 96 characters of A-Z a-z 0-9 . _ ~ - (it goes into the endpoint URL); e.g. openssl rand -hex 32`,
    );
  }
  return secret;
}

/** What POST /webhooks/salesforce needs, or undefined when the connection does not take Outbound Messages. */
export async function outboundEndpointOf(config: SalesforceConfig, env?: ResolveSecretOptions['env']): Promise<OutboundEndpoint | undefined> {
  if (config.notifications !== 'outbound-messages') return undefined;
  // The schema requires both in this mode; checked again so a hand-built config cannot open the route unauthenticated.
  if (!config.organizationId) throw new ConfigError('configuration', 'salesforce.organizationId', 'required when notifications is outbound-messages');
  if (!config.outboundMessageSecret) throw new ConfigError('configuration', OUTBOUND_SECRET_SETTING, 'required when notifications is outbound-messages');
  const secret = await resolveOutboundSecret(config.outboundMessageSecret, env);
  return { name: config.name, organizationId: config.organizationId, secret: new OutboundEndpointSecret(secret) };
}

/**
 * The URL to type into the Outbound Message action. The secret is masked unless `reveal`: setup output ends up in
 * terminals, CI logs and tickets.
 */
export function outboundEndpointUrl(publicUrl: string | undefined, secret: string, reveal: boolean): string {
  const base = publicUrl ? publicUrl.replace(/\/+$/, '') : 'https://<your host>';
  return `${base}${OUTBOUND_WEBHOOK_PATH}/${reveal ? secret : `${'*'.repeat(8)}`}`;
}
