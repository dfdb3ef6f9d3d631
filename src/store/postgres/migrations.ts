import pg from 'pg';
import { Logger as GraphileLogger, runMigrations as runGraphileMigrations } from 'graphile-worker';

/*
 * The schema mirrors SQLite's (src/store/sqlite/migrations.ts): the same tables and columns, so console SQL ports as it
 * is and a store can be copied table by table. Timestamps stay the ISO-8601 TEXT the SQLite store writes (the same
 * strings round-trip) and JSON stays TEXT. There is no `jobs` table: jobs live in graphile-worker's schema.
 *
 * Append-only: a shipped migration is never edited, a change is a new entry.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE inbox (
     id BIGSERIAL PRIMARY KEY,
     source TEXT NOT NULL,
     dedup_key TEXT NOT NULL,
     event_name TEXT NOT NULL,
     resource_id TEXT,
     payload TEXT NOT NULL,
     received_at TEXT NOT NULL,
     deliveries INTEGER NOT NULL DEFAULT 1,
     UNIQUE (source, dedup_key)
   );
   CREATE INDEX inbox_resource ON inbox (source, resource_id);
   CREATE TABLE links (
     connection TEXT NOT NULL,
     referral_id TEXT NOT NULL,
     crm_entity TEXT NOT NULL,
     crm_id TEXT NOT NULL,
     base TEXT NOT NULL,
     pc_etag TEXT,
     crm_version TEXT,
     sync_state TEXT NOT NULL DEFAULT 'ok',
     last_error TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (connection, referral_id),
     UNIQUE (connection, crm_entity, crm_id)
   );
   CREATE INDEX links_updated ON links (updated_at);
   CREATE TABLE audit (
     id BIGSERIAL PRIMARY KEY,
     at TEXT NOT NULL,
     connection TEXT NOT NULL,
     referral_id TEXT,
     crm_entity TEXT,
     crm_id TEXT,
     direction TEXT NOT NULL,
     field TEXT,
     old_value TEXT,
     new_value TEXT,
     cause TEXT NOT NULL,
     outcome TEXT NOT NULL,
     message TEXT
   );
   CREATE INDEX audit_referral ON audit (connection, referral_id, id);
   CREATE INDEX audit_crm ON audit (connection, crm_entity, crm_id, id);
   CREATE TABLE conflicts (
     connection TEXT NOT NULL,
     referral_id TEXT NOT NULL,
     field TEXT NOT NULL,
     base_value TEXT,
     pc_value TEXT,
     crm_value TEXT,
     detected_at TEXT NOT NULL,
     resolution TEXT,
     resolution_source TEXT,
     PRIMARY KEY (connection, referral_id, field)
   );
   CREATE TABLE dead_letters (
     id BIGSERIAL PRIMARY KEY,
     job_key TEXT NOT NULL,
     connection TEXT NOT NULL,
     referral_id TEXT,
     crm_entity TEXT,
     crm_id TEXT,
     cause TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     error TEXT NOT NULL,
     failed_at TEXT NOT NULL,
     replayed_at TEXT,
     resolved_at TEXT,
     resolved_by TEXT
   );
   CREATE INDEX dead_letters_open ON dead_letters (replayed_at, id);
   CREATE INDEX dead_letters_unresolved ON dead_letters (connection, resolved_at);
   CREATE INDEX dead_letters_pair ON dead_letters (connection, referral_id);
   CREATE TABLE watermarks (
     source TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE write_intents (
     connection TEXT NOT NULL,
     referral_id TEXT NOT NULL,
     crm_entity TEXT NOT NULL,
     base TEXT NOT NULL,
     to_crm TEXT NOT NULL,
     to_pc TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (connection, referral_id, crm_entity)
   );
   CREATE TABLE create_intents (
     connection TEXT NOT NULL,
     crm_entity TEXT NOT NULL,
     crm_id TEXT NOT NULL,
     request_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (connection, crm_entity, crm_id)
   );
   CREATE TABLE pc_field_writes (
     referral_id TEXT NOT NULL,
     field TEXT NOT NULL,
     value TEXT NOT NULL,
     changed_at TEXT NOT NULL,
     PRIMARY KEY (referral_id, field)
   );
   CREATE TABLE deal_labels (
     connection TEXT NOT NULL,
     subject TEXT NOT NULL,
     referral_id TEXT,
     crm_entity TEXT,
     crm_id TEXT,
     name TEXT,
     customer TEXT,
     respond_by TEXT,
     deadline_alerted_at TEXT,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (connection, subject)
   );
   CREATE TABLE paused_pairs (
     connection TEXT NOT NULL,
     referral_id TEXT NOT NULL,
     paused_by TEXT NOT NULL CHECK (paused_by IN ('operator', 'seller')),
     paused_at TEXT NOT NULL,
     PRIMARY KEY (connection, referral_id, paused_by)
   );
   CREATE TABLE credentials (
     name TEXT PRIMARY KEY,
     sealed TEXT,
     origin TEXT,
     rotated_at TEXT,
     last_used_at TEXT,
     last_error TEXT,
     last_error_at TEXT
   );`,
  // A held conflict's stable id (what \`cosell conflicts resolve <id>\` names): SQLite's implicit rowid, made explicit.
  `ALTER TABLE conflicts ADD COLUMN id BIGSERIAL UNIQUE;`,
  // Job runners' heartbeats (see job-liveness.ts), epoch ms of the database's clock. IF NOT EXISTS: a database that
  // ran a build creating it at runner start already has it.
  `CREATE TABLE IF NOT EXISTS job_runner_heartbeats (worker_id TEXT PRIMARY KEY, beat_at BIGINT NOT NULL);`,
];

/** Held for the whole run, so instances starting together migrate one at a time (the others then find nothing to do). */
const MIGRATION_LOCK = 7_305_061_482_913_770_101n;

/** graphile-worker logs through this (its default is the console); `log` receives its warnings and errors. */
function graphileLogger(log?: (level: string, message: string) => void): GraphileLogger {
  return new GraphileLogger(() => (level, message) => {
    if (level === 'error' || level === 'warning') log?.(level, message);
  });
}

/**
 * Brings the database to this build's schema: graphile-worker's own schema first (its jobs hold our sync work), then
 * ours, each migration in its own transaction with its row in `schema_migrations`. The whole run holds a session
 * advisory lock, so several instances opening the same (even empty) database at once are safe.
 */
export async function migrate(pool: pg.Pool, log?: (level: string, message: string) => void): Promise<{ from: number; to: number }> {
  // The lock's own connection, outside the pool: graphile-worker migrates through the pool, which may have one slot.
  const client = new pg.Client(pool.options);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await runGraphileMigrations({ pgPool: pool, logger: graphileLogger(log) });
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const from = rows[0]?.version ?? 0;
      if (from > MIGRATIONS.length) {
        throw new Error(
          `the database schema is version ${from}, newer than this build of cosell-sync knows (${MIGRATIONS.length}); upgrade cosell-sync`,
        );
      }
      for (let version = from; version < MIGRATIONS.length; version++) {
        await client.query('BEGIN');
        try {
          await client.query(MIGRATIONS[version] as string);
          await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version + 1, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
      return { from, to: MIGRATIONS.length };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
    }
  } finally {
    // Ending the session also drops the lock if the unlock above failed.
    await client.end().catch(() => undefined);
  }
}
