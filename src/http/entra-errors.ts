/*
 * What an operator must do about the Entra / Partner Center authentication failures that no retry will cure. Codes
 * from Microsoft's "Microsoft Entra authentication and authorization error codes" page
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes) and, for 900421, Partner Center's MFA
 * enforcement for App+User API calls ("Mandating multifactor authentication (MFA) for your partner tenant",
 * https://learn.microsoft.com/partner-center/security/partner-security-requirements-mandating-mfa): a 401 with error
 * code 900421 when the access token carries no MFA claim.
 */

const RECONSENT = 'run `cosell init` again and sign in (consent) as a Referrals admin user with multifactor authentication, then store the new refresh token where partnerCenter.auth.refreshToken points';

export interface CredentialProblem {
  code: string;
  /** Plain words, no secret: shown on the console card and sent in the alert. */
  advice: string;
}

const KNOWN: ReadonlyArray<{ code: string; pattern: RegExp; what: string }> = [
  { code: 'AADSTS700082', pattern: /\bAADSTS700082\b/, what: 'the Partner Center refresh token expired after 90 days without use' },
  { code: 'AADSTS70043', pattern: /\bAADSTS70043\b/, what: 'the Partner Center refresh token expired under a Conditional Access sign-in frequency policy' },
  { code: 'AADSTS50173', pattern: /\bAADSTS50173\b/, what: "the Partner Center refresh token was revoked (the admin user's password changed or their sessions were revoked)" },
  { code: 'AADSTS50076', pattern: /\bAADSTS50076\b/, what: 'Entra requires multifactor authentication for the Partner Center admin user' },
  { code: 'AADSTS50079', pattern: /\bAADSTS50079\b/, what: 'Entra requires the Partner Center admin user to enrol in multifactor authentication' },
  { code: 'AADSTS65001', pattern: /\bAADSTS65001\b/, what: 'the app has no consent for the Partner Center APIs' },
  { code: '900421', pattern: /\b900421\b/, what: 'Partner Center refused the token because it carries no multifactor authentication claim' },
];

/** OAuth `error` codes (RFC 6749 §5.2, OpenID Connect) by which Entra refuses the credential itself, not the moment. */
const CREDENTIAL_REFUSALS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'interaction_required', 'consent_required']);

/** True when the token endpoint refused the credential (worth showing and alerting), not for a timeout or a 5xx. */
export function isCredentialRefusal(oauthCode: string | undefined, message: string): boolean {
  return (oauthCode !== undefined && CREDENTIAL_REFUSALS.has(oauthCode)) || explainCredentialProblem(message) !== undefined;
}

/** The recognised problem in an error message or code, else undefined (a transient or unknown failure). */
export function explainCredentialProblem(text: string): CredentialProblem | undefined {
  const known = KNOWN.find((entry) => entry.pattern.test(text));
  return known ? { code: known.code, advice: `${known.what} (${known.code}): ${RECONSENT}.` } : undefined;
}
