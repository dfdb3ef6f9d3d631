import { explainCredentialProblem } from './entra-errors.ts';
import { openToken, sealToken, tokenFingerprint, TokenDecryptionError } from './token-crypto.ts';

/** One kept credential; `sealed` is ciphertext (token-crypto.ts), never the token. */
export interface CredentialRecord {
  name: string;
  sealed: string | null;
  /** Which configured token the sealed one descends from (a keyed hash): another one configured supersedes it. */
  origin: string | null;
  rotatedAt: string | null;
  lastUsedAt: string | null;
  /** The last refusal, explained where recognised (entra-errors.ts); free of secrets. */
  lastError: string | null;
  lastErrorAt: string | null;
}

/** The store operations the vault needs (SqliteCredentials); asynchronous like the rest of the store. */
export interface CredentialRecords {
  get(name: string): Promise<CredentialRecord | undefined>;
  recordExchange(name: string, at: string, kept: { sealed: string; origin: string } | undefined): Promise<void>;
  recordFailure(name: string, at: string, message: string): Promise<void>;
  dropSealed(name: string): Promise<void>;
}

export interface VaultLogger {
  warn(object: object, message: string): void;
}

/** What the Entra provider reads and reports; one vault is shared by the Referrals and Webhooks providers. */
export interface RefreshTokenVault {
  /**
   * The newest refresh token Entra returned from the chain `configured` started, if one was kept and can be decrypted.
   * A different configured token (`cosell init` run again, maybe as another user) supersedes what was kept.
   */
  load(configured: string): Promise<string | undefined>;
  exchanged(rotated: string | undefined, configured: string): Promise<void>;
  /** Forget the kept token: Entra refused it, the configured one is used instead. */
  discard(): Promise<void>;
  refused(message: string): Promise<void>;
}

export const PARTNER_CENTER_REFRESH_TOKEN = 'partnerCenter.refreshToken';

/**
 * Entra rotates refresh tokens on use; the vault keeps the newest, sealed with the configured key, so a restart does
 * not fall back to the configured (older, possibly soon inactive) one. Without a key nothing is persisted (said once).
 */
export class SealedRefreshTokenVault implements RefreshTokenVault {
  private warnedNoKey = false;

  constructor(
    private readonly options: { records: CredentialRecords; key: Buffer | undefined; logger?: VaultLogger; now?: () => number; name?: string },
  ) {}

  private get name(): string {
    return this.options.name ?? PARTNER_CENTER_REFRESH_TOKEN;
  }

  private at(): string {
    return new Date((this.options.now ?? Date.now)()).toISOString();
  }

  async load(configured: string): Promise<string | undefined> {
    const record = await this.options.records.get(this.name);
    const key = this.options.key;
    if (!record?.sealed || !key || record.origin !== tokenFingerprint(key, configured)) return undefined;
    try {
      return openToken(key, record.sealed);
    } catch (error) {
      if (!(error instanceof TokenDecryptionError)) throw error;
      this.options.logger?.warn({ credential: this.name }, `${error.message}: using partnerCenter.auth.refreshToken`);
      return undefined;
    }
  }

  async exchanged(rotated: string | undefined, configured: string): Promise<void> {
    const key = this.options.key;
    if (!key && rotated && !this.warnedNoKey) {
      this.warnedNoKey = true;
      this.options.logger?.warn(
        { credential: this.name },
        'partnerCenter.auth.tokenEncryptionKey is not set: the rotated Entra refresh token is not persisted, so each restart uses the configured one again',
      );
    }
    const kept = key && rotated ? { sealed: sealToken(key, rotated), origin: tokenFingerprint(key, configured) } : undefined;
    await this.options.records.recordExchange(this.name, this.at(), kept);
  }

  async discard(): Promise<void> {
    await this.options.records.dropSealed(this.name);
  }

  async refused(message: string): Promise<void> {
    const problem = explainCredentialProblem(message);
    await this.options.records.recordFailure(this.name, this.at(), problem ? problem.advice : message);
  }
}
