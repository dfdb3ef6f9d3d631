import type { CredentialRecord } from '../types.ts';
import type { SqlDatabase } from './driver.ts';

interface Row {
  name: string;
  sealed: string | null;
  origin: string | null;
  rotated_at: string | null;
  last_used_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

/** Credential state beside the sync state: written after each token exchange, read by the console's health card. */
export class SqliteCredentials {
  constructor(private readonly db: SqlDatabase) {}

  async get(name: string): Promise<CredentialRecord | undefined> {
    const row = this.db.prepare<[string], Row>('SELECT * FROM credentials WHERE name = ?').get(name);
    return row && { name: row.name, sealed: row.sealed, origin: row.origin, rotatedAt: row.rotated_at, lastUsedAt: row.last_used_at, lastError: row.last_error, lastErrorAt: row.last_error_at };
  }

  /** A successful exchange: the token was used now; `sealed` (when persisting) is the newest one Entra returned. */
  async recordExchange(name: string, at: string, kept: { sealed: string; origin: string } | undefined): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO credentials (name, sealed, origin, rotated_at, last_used_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET sealed = COALESCE(excluded.sealed, sealed), origin = COALESCE(excluded.origin, origin),
           rotated_at = COALESCE(excluded.rotated_at, rotated_at), last_used_at = excluded.last_used_at, last_error = NULL, last_error_at = NULL`,
      )
      .run(name, kept?.sealed ?? null, kept?.origin ?? null, kept ? at : null, at);
  }

  /** A refused exchange; `message` must already be free of secrets. */
  async recordFailure(name: string, at: string, message: string): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO credentials (name, last_error, last_error_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
      )
      .run(name, message, at);
  }

  /** Forget the sealed token (it was refused): the configured one is used from now on. */
  async dropSealed(name: string): Promise<void> {
    this.db.prepare('UPDATE credentials SET sealed = NULL WHERE name = ?').run(name);
  }
}
