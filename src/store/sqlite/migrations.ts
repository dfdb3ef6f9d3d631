import type { SqlDatabase } from './driver.ts';

/**
 * Append-only: a shipped migration is never edited, a change is a new entry. Each runs in its own transaction together
 * with the bump of `user_version`, so a crash mid-upgrade leaves the previous version intact.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE inbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     source TEXT NOT NULL,
     dedup_key TEXT NOT NULL,
     event_name TEXT NOT NULL,
     resource_id TEXT,
     payload TEXT NOT NULL,
     received_at TEXT NOT NULL,
     deliveries INTEGER NOT NULL DEFAULT 1,
     UNIQUE (source, dedup_key)
   );
   CREATE INDEX inbox_resource ON inbox (source, resource_id);`,
  `CREATE TABLE jobs (
     key TEXT PRIMARY KEY,
     connection TEXT NOT NULL,
     referral_id TEXT,
     crm_entity TEXT,
     crm_id TEXT,
     cause TEXT NOT NULL,
     generation INTEGER NOT NULL DEFAULT 1,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_run_at INTEGER NOT NULL,
     lease_until INTEGER,
     last_error TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE INDEX jobs_due ON jobs (next_run_at);
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
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
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
     PRIMARY KEY (connection, referral_id, field)
   );
   CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     job_key TEXT NOT NULL,
     connection TEXT NOT NULL,
     referral_id TEXT,
     crm_entity TEXT,
     crm_id TEXT,
     cause TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     error TEXT NOT NULL,
     failed_at TEXT NOT NULL,
     replayed_at TEXT
   );
   CREATE INDEX dead_letters_open ON dead_letters (replayed_at, id);
   CREATE TABLE watermarks (
     source TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
  // What a sync is about to write, stored before the write and removed by the commit that follows it (see WriteIntent).
  `CREATE TABLE write_intents (
     connection TEXT NOT NULL,
     referral_id TEXT NOT NULL,
     crm_entity TEXT NOT NULL,
     base TEXT NOT NULL,
     to_crm TEXT NOT NULL,
     to_pc TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (connection, referral_id, crm_entity)
   );
   ALTER TABLE jobs ADD COLUMN microsoft_side INTEGER NOT NULL DEFAULT 1;`,
  // A dead letter closes when its pair later syncs, or when an operator replays it; closed ones stay as history.
  `ALTER TABLE dead_letters ADD COLUMN resolved_at TEXT;
   ALTER TABLE dead_letters ADD COLUMN resolved_by TEXT;
   UPDATE dead_letters SET resolved_at = replayed_at, resolved_by = 'replay' WHERE replayed_at IS NOT NULL;
   CREATE INDEX dead_letters_unresolved ON dead_letters (connection, resolved_at);`,
  // An operator's choice for a held conflict, applied (to both sides) by the pair's next sync, which releases the hold.
  `ALTER TABLE conflicts ADD COLUMN resolution TEXT;
   ALTER TABLE conflicts ADD COLUMN resolution_source TEXT;`,
  // A referral create from a CRM record, announced with its idempotency key before the POST (see CreateIntent).
  `CREATE TABLE create_intents (
     connection TEXT NOT NULL,
     crm_entity TEXT NOT NULL,
     crm_id TEXT NOT NULL,
     request_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (connection, crm_entity, crm_id)
   );`,
  // Per referral field, the value a sync wrote to Partner Center and when the CRM edit it came from was made.
  `CREATE TABLE pc_field_writes (
     referral_id TEXT NOT NULL,
     field TEXT NOT NULL,
     value TEXT NOT NULL,
     changed_at TEXT NOT NULL,
     PRIMARY KEY (referral_id, field)
   );`,
  // The operator console looks up a pair's dead letters and lists deals by their last sync.
  `CREATE INDEX dead_letters_pair ON dead_letters (connection, referral_id);
   CREATE INDEX links_updated ON links (updated_at);`,
  // What the console lists a deal by (names from the side it was last read on: Partner Center's referral, or the CRM
  // record of a deal with no referral yet) and when an incoming referral must be answered (alerted once), and the pairs
  // an operator paused.
  `CREATE TABLE deal_labels (
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
     paused_at TEXT NOT NULL,
     PRIMARY KEY (connection, referral_id)
   );`,
  // Credentials the service keeps between runs: Entra's newest (rotated) refresh token, sealed with AES-256-GCM (never
  // in clear), when it was last exchanged (Entra expires it after 90 days unused) and the last refusal, explained.
  `CREATE TABLE credentials (
     name TEXT PRIMARY KEY,
     sealed TEXT,
     origin TEXT,
     rotated_at TEXT,
     last_used_at TEXT,
     last_error TEXT,
     last_error_at TEXT
   );`,
  // A pair's pause has up to two holders: an operator (console) and the seller ("Sync with Partner Center" = No in the
  // CRM). Each is lifted only by its own holder; the pair syncs again when none is left. Earlier pauses were operators'.
  `CREATE TABLE paused_pairs_by (
     connection TEXT NOT NULL,
     referral_id TEXT NOT NULL,
     paused_by TEXT NOT NULL CHECK (paused_by IN ('operator', 'seller')),
     paused_at TEXT NOT NULL,
     PRIMARY KEY (connection, referral_id, paused_by)
   );
   INSERT INTO paused_pairs_by (connection, referral_id, paused_by, paused_at) SELECT connection, referral_id, 'operator', paused_at FROM paused_pairs;
   DROP TABLE paused_pairs;
   ALTER TABLE paused_pairs_by RENAME TO paused_pairs;`,
];

export function migrate(db: SqlDatabase): { from: number; to: number } {
  const from = db.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version ?? 0;
  if (from > MIGRATIONS.length) {
    throw new Error(
      `the database schema is version ${from}, newer than this build of cosell-sync knows (${MIGRATIONS.length}); upgrade cosell-sync`,
    );
  }
  for (let version = from; version < MIGRATIONS.length; version++) {
    const sql = MIGRATIONS[version] as string;
    db.transaction(() => {
      db.exec(sql);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    })();
  }
  return { from, to: MIGRATIONS.length };
}
