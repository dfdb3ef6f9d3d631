/*
 * The one way outgoing-credential failures (Partner Center / Entra tokens, Dataverse tokens, Salesforce OAuth) and
 * anything else bound for errors or logs lose the secrets they might carry. An identity provider may echo what it was
 * sent (a misconfigured proxy, a hand-made endpoint, a verbose error page), so the messages built here keep what an
 * operator needs — the HTTP status and the OAuth `error` code — and mask every known secret in every spelling it may
 * take on the wire.
 */

const MASK = '[redacted]';
/** Shorter values would mask ordinary words; no credential is this short. */
const MIN_SECRET_LENGTH = 4;
const MAX_DESCRIPTION = 300;
/** RFC 6749 §5.2: `error` is a short ASCII code; anything else is not a code and is not repeated. */
const OAUTH_ERROR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The spellings of a secret an echo may contain: as is, form-encoded (how token requests send it), URL-encoded,
 * JSON-escaped, base64; a PEM key also by each base64 line of its body.
 */
export function secretVariants(secret: string): string[] {
  const variants = new Set<string>([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64')]);
  if (secret.includes('-----BEGIN')) {
    for (const line of secret.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) variants.add(line.trim());
  }
  return [...variants].filter((variant) => variant.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** Removes every occurrence of the given secrets (tokens, client secrets, keys), in any spelling, from text. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    for (const variant of secretVariants(secret)) result = result.split(variant).join(MASK);
  }
  return result;
}

export function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export interface CredentialFailure {
  /** Safe to log, store and show: status, OAuth error code and a masked, capped description. */
  message: string;
  /** The OAuth `error` code when the endpoint sent a well-formed one (and it is not itself a secret). */
  code: string | undefined;
  status: number | undefined;
}

/** `{ error, error_description }` from a JSON or form-encoded token error body; nothing from anything else. */
function oauthErrorOf(body: string): { error?: unknown; description?: unknown } {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json === 'object' && json !== null) {
      const record = json as Record<string, unknown>;
      return { error: record.error, description: record.error_description };
    }
  } catch {
    // not JSON; a form-encoded error is rare but legal for some providers
  }
  if (/^[\w.%+-]+=[^<>]*$/.test(body.trim())) {
    const form = new URLSearchParams(body.trim());
    return { error: form.get('error') ?? undefined, description: form.get('error_description') ?? undefined };
  }
  return {};
}

/**
 * An identity provider refused a token request (`status` + `body`) or the request failed (`cause`). The raw body is
 * never quoted: only its OAuth error code and description are kept, and every `secrets` value is masked.
 */
export function credentialFailure(input: {
  /** What was asked of whom, e.g. `Salesforce token request to https://login.salesforce.com/services/oauth2/token`. */
  what: string;
  secrets: readonly (string | undefined)[];
  status?: number | undefined;
  body?: string | undefined;
  /** A library's own error code (MSAL's `errorCode`), used when there is no body to read one from. */
  errorCode?: unknown;
  cause?: unknown;
}): CredentialFailure {
  const redact = (text: string) => redactSecrets(text, input.secrets);
  const parsed = input.body === undefined ? {} : oauthErrorOf(input.body);
  const rawCode = parsed.error ?? input.errorCode;
  const code = typeof rawCode === 'string' && OAUTH_ERROR_CODE.test(rawCode) && redact(rawCode) === rawCode ? rawCode : undefined;
  const description =
    typeof parsed.description === 'string' && parsed.description.trim() !== ''
      ? parsed.description
      : input.cause !== undefined
        ? describeCause(input.cause)
        : undefined;
  const outcome = input.status === undefined ? 'failed' : `was rejected (${input.status})`;
  const parts = [code, description === undefined ? undefined : cap(redact(description))].filter((part) => part !== undefined && part !== '');
  return { message: `${input.what} ${outcome}${parts.length > 0 ? `: ${parts.join(': ')}` : ''}`, code, status: input.status };
}

function cap(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DESCRIPTION ? `${oneLine.slice(0, MAX_DESCRIPTION)}…` : oneLine;
}
