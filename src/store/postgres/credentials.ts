import type pg from 'pg';
import type { CredentialRecord } from '../types.ts';

interface Row {
  name: string;
  sealed: string | null;
  origin: string | null;
  rotated_at: string | null;
  last_used_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

/** Credential state beside the sync state (the API of SqliteCredentials): written after each token exchange. */
export class PostgresCredentials {
  constructor(private readonly pool: pg.Pool) {}

  async get(name: string): Promise<CredentialRecord | undefined> {
    const row = (await this.pool.query<Row>('SELECT * FROM credentials WHERE name = $1', [name])).rows[0];
    return row && { name: row.name, sealed: row.sealed, origin: row.origin, rotatedAt: row.rotated_at, lastUsedAt: row.last_used_at, lastError: row.last_error, lastErrorAt: row.last_error_at };
  }

  /** A successful exchange: the token was used now; `sealed` (when persisting) is the newest one Entra returned. */
  async recordExchange(name: string, at: string, kept: { sealed: string; origin: string } | undefined): Promise<void> {
    await this.pool.query(
      `INSERT INTO credentials (name, sealed, origin, rotated_at, last_used_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET sealed = COALESCE(excluded.sealed, credentials.sealed), origin = COALESCE(excluded.origin, credentials.origin),
         rotated_at = COALESCE(excluded.rotated_at, credentials.rotated_at), last_used_at = excluded.last_used_at, last_error = NULL, last_error_at = NULL`,
      [name, kept?.sealed ?? null, kept?.origin ?? null, kept ? at : null, at],
    );
  }

  /** A refused exchange; `message` must already be free of secrets. */
  async recordFailure(name: string, at: string, message: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO credentials (name, last_error, last_error_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
      [name, message, at],
    );
  }

  /** Forget the sealed token (it was refused): the configured one is used from now on. */
  async dropSealed(name: string): Promise<void> {
    await this.pool.query('UPDATE credentials SET sealed = NULL WHERE name = $1', [name]);
  }
}
