import type { Database } from 'better-sqlite3';

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
];

export function migrate(db: Database): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > MIGRATIONS.length) {
    throw new Error(
      `the database schema is version ${from}, newer than this build of cosell-sync knows (${MIGRATIONS.length}); upgrade cosell-sync`,
    );
  }
  for (let version = from; version < MIGRATIONS.length; version++) {
    const sql = MIGRATIONS[version] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return { from, to: MIGRATIONS.length };
}
