import { randomUUID } from 'node:crypto';
import type { SqlDatabase } from './driver.ts';
import type { AuditEntry, AuditOutcome, AuditRecord, ConflictResolution, ConflictSource, DeadLetter, DealLabel, HeldConflict, Link, PauseHolder, SyncCommit, SyncState, WriteIntent } from '../types.ts';
import { SqliteDealControls } from './deal-controls.ts';
import type { SqliteDeadLetters } from './dead-letters.ts';
import type { SqliteJobQueue } from './jobs.ts';
import type { CanonicalRecord, CanonicalValue } from '../../canonical-value.ts';

interface LinkRow {
  connection: string;
  referral_id: string;
  crm_entity: string;
  crm_id: string;
  base: string;
  pc_etag: string | null;
  crm_version: string | null;
  sync_state: 'ok' | 'error';
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

interface AuditRow {
  id: number;
  at: string;
  connection: string;
  referral_id: string | null;
  crm_entity: string | null;
  crm_id: string | null;
  direction: AuditEntry['direction'];
  field: string | null;
  old_value: string | null;
  new_value: string | null;
  cause: string;
  outcome: AuditEntry['outcome'];
  message: string | null;
}

/** Canonical values are stored as JSON so null, false, 0 and "" stay distinct; `undefined` (absent) is SQL NULL. */
const encode = (value: CanonicalValue | undefined): string | null => (value === undefined ? null : JSON.stringify(value));
const decode = (text: string | null): CanonicalValue | undefined =>
  text === null ? undefined : (JSON.parse(text) as CanonicalValue);

export class SqliteSyncState implements SyncState {
  private readonly commitTx: (commit: SyncCommit) => void;
  private readonly commitManyTx: (commits: readonly SyncCommit[]) => void;
  private readonly recordIntentsTx: (intents: readonly WriteIntent[]) => void;
  private readonly controls: SqliteDealControls;

  constructor(
    private readonly db: SqlDatabase,
    private readonly jobs: SqliteJobQueue,
    private readonly letters: SqliteDeadLetters,
  ) {
    this.commitTx = db.transaction((commit: SyncCommit) => this.commitInTransaction(commit));
    this.commitManyTx = db.transaction((commits: readonly SyncCommit[]) => {
      for (const commit of commits) this.commitInTransaction(commit);
    });
    this.controls = new SqliteDealControls(db, jobs, (entries) => this.insertAudit(entries, new Date().toISOString()));
    this.recordIntentsTx = db.transaction((intents: readonly WriteIntent[]) => {
      const upsert = db.prepare(
        `INSERT INTO write_intents (connection, referral_id, crm_entity, base, to_crm, to_pc, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (connection, referral_id, crm_entity) DO UPDATE SET
           base = excluded.base, to_crm = excluded.to_crm, to_pc = excluded.to_pc, created_at = excluded.created_at`,
      );
      const now = new Date().toISOString();
      for (const i of intents) upsert.run(i.connection, i.referralId, i.crmEntity, JSON.stringify(i.base), JSON.stringify(i.toCrm), JSON.stringify(i.toPc), now);
    });
  }

  async getLink(connection: string, referralId: string): Promise<Link | null> {
    const row = this.db.prepare('SELECT * FROM links WHERE connection = ? AND referral_id = ?').get(connection, referralId) as
      | LinkRow
      | undefined;
    return row ? toLink(row) : null;
  }

  async findLinkByCrm(connection: string, crmEntity: string, crmId: string): Promise<Link | null> {
    const row = this.db
      .prepare('SELECT * FROM links WHERE connection = ? AND crm_entity = ? AND crm_id = ?')
      .get(connection, crmEntity, crmId) as LinkRow | undefined;
    return row ? toLink(row) : null;
  }

  async commit(commit: SyncCommit): Promise<void> {
    this.commitTx(commit);
  }

  async commitMany(commits: readonly SyncCommit[]): Promise<void> {
    if (commits.length > 0) this.commitManyTx(commits);
  }

  private commitInTransaction(commit: SyncCommit): void {
    const now = new Date().toISOString();
    const l = commit.link;
    this.db
      .prepare(
        `INSERT INTO links (connection, referral_id, crm_entity, crm_id, base, pc_etag, crm_version, sync_state, last_error, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (connection, referral_id) DO UPDATE SET
           crm_entity = excluded.crm_entity, crm_id = excluded.crm_id, base = excluded.base, pc_etag = excluded.pc_etag,
           crm_version = excluded.crm_version, sync_state = excluded.sync_state, last_error = excluded.last_error,
           updated_at = excluded.updated_at`,
      )
      .run(l.connection, l.referralId, l.crmEntity, l.crmId, JSON.stringify(l.base), l.pcEtag, l.crmVersion, l.syncState, l.lastError, now, now);
    this.insertAudit(commit.audit, now);
    const hold = this.db.prepare(
      `INSERT INTO conflicts (connection, referral_id, field, base_value, pc_value, crm_value, detected_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (connection, referral_id, field) DO UPDATE SET
         pc_value = excluded.pc_value, crm_value = excluded.crm_value`,
    );
    for (const c of commit.holdConflicts) {
      hold.run(l.connection, l.referralId, c.field, encode(c.base), encode(c.pc), encode(c.crm), now);
    }
    const release = this.db.prepare('DELETE FROM conflicts WHERE connection = ? AND referral_id = ? AND field = ?');
    for (const field of commit.releaseConflicts) release.run(l.connection, l.referralId, field);
    this.db.prepare('DELETE FROM write_intents WHERE connection = ? AND referral_id = ? AND crm_entity = ?').run(l.connection, l.referralId, l.crmEntity);
    this.db.prepare('DELETE FROM create_intents WHERE connection = ? AND crm_entity = ? AND crm_id = ?').run(l.connection, l.crmEntity, l.crmId);
    const written = this.db.prepare(
      `INSERT INTO pc_field_writes (referral_id, field, value, changed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (referral_id, field) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at`,
    );
    for (const [field, w] of Object.entries(commit.pcFieldWrites ?? {})) written.run(l.referralId, field, JSON.stringify(w.value), w.changedAt);
    if (commit.label) this.controls.label(commit.label);
    // Last: the job's completion resolves the pair's dead letters by the link state written above.
    if (commit.completes) this.jobs.completeInTransaction(commit.completes);
  }

  async pcFieldWrites(referralId: string): Promise<Record<string, { value: CanonicalValue; changedAt: string }>> {
    const rows = this.db.prepare('SELECT field, value, changed_at FROM pc_field_writes WHERE referral_id = ?').all(referralId) as Array<{ field: string; value: string; changed_at: string }>;
    return Object.fromEntries(rows.map((r) => [r.field, { value: JSON.parse(r.value) as CanonicalValue, changedAt: r.changed_at }]));
  }

  async createKey(connection: string, crmEntity: string, crmId: string): Promise<string> {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT request_id FROM create_intents WHERE connection = ? AND crm_entity = ? AND crm_id = ?').get(connection, crmEntity, crmId) as
        | { request_id: string }
        | undefined;
      if (row) return row.request_id;
      const key = randomUUID();
      this.db.prepare('INSERT INTO create_intents (connection, crm_entity, crm_id, request_id, created_at) VALUES (?, ?, ?, ?, ?)').run(connection, crmEntity, crmId, key, new Date().toISOString());
      return key;
    })();
  }

  async recordIntents(intents: readonly WriteIntent[]): Promise<void> {
    if (intents.length > 0) this.recordIntentsTx(intents);
  }

  async getIntent(connection: string, referralId: string, crmEntity: string): Promise<WriteIntent | null> {
    const row = this.db
      .prepare('SELECT base, to_crm, to_pc FROM write_intents WHERE connection = ? AND referral_id = ? AND crm_entity = ?')
      .get(connection, referralId, crmEntity) as { base: string; to_crm: string; to_pc: string } | undefined;
    if (!row) return null;
    return {
      connection,
      referralId,
      crmEntity,
      base: JSON.parse(row.base) as CanonicalRecord,
      toCrm: JSON.parse(row.to_crm) as CanonicalRecord,
      toPc: JSON.parse(row.to_pc) as CanonicalRecord,
    };
  }

  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    this.db.transaction(() => this.insertAudit(entries, new Date().toISOString()))();
  }

  private insertAudit(entries: readonly AuditEntry[], at: string): void {
    const insert = this.db.prepare(
      `INSERT INTO audit (at, connection, referral_id, crm_entity, crm_id, direction, field, old_value, new_value, cause, outcome, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const e of entries) {
      insert.run(at, e.connection, e.referralId, e.crmEntity, e.crmId, e.direction, e.field, encode(e.oldValue), encode(e.newValue), e.cause, e.outcome, e.message);
    }
  }

  async audit(query: { connection?: string; referralId?: string; crmId?: string; outcomes?: readonly AuditOutcome[]; limit: number; beforeId?: number }): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add('connection = ?', query.connection);
    add('referral_id = ?', query.referralId);
    add('crm_id = ?', query.crmId);
    add('id < ?', query.beforeId);
    if (query.outcomes?.length) {
      where.push(`outcome IN (${query.outcomes.map(() => '?').join(', ')})`);
      params.push(...query.outcomes);
    }
    params.push(query.limit);
    const rows = this.db
      .prepare(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...params) as AuditRow[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      connection: r.connection,
      referralId: r.referral_id,
      crmEntity: r.crm_entity,
      crmId: r.crm_id,
      direction: r.direction,
      field: r.field,
      oldValue: decode(r.old_value),
      newValue: decode(r.new_value),
      cause: r.cause,
      outcome: r.outcome,
      message: r.message,
    }));
  }

  async conflicts(connection?: string): Promise<HeldConflict[]> {
    const rows = (
      connection === undefined
        ? this.db.prepare('SELECT rowid AS id, * FROM conflicts ORDER BY detected_at').all()
        : this.db.prepare('SELECT rowid AS id, * FROM conflicts WHERE connection = ? ORDER BY detected_at').all(connection)
    ) as ConflictRow[];
    return rows.map(toConflict);
  }

  async conflict(id: number): Promise<HeldConflict | null> {
    const row = this.db.prepare('SELECT rowid AS id, * FROM conflicts WHERE rowid = ?').get(id) as ConflictRow | undefined;
    return row ? toConflict(row) : null;
  }

  async resolveConflict(id: number, resolution: ConflictResolution): Promise<boolean> {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT connection, referral_id FROM conflicts WHERE rowid = ?').get(id) as { connection: string; referral_id: string } | undefined;
      if (!row) return false;
      this.db.prepare('UPDATE conflicts SET resolution = ?, resolution_source = ? WHERE rowid = ?').run(JSON.stringify(resolution.value), resolution.take, id);
      this.jobs.enqueueInTransaction([{ connection: row.connection, cause: 'manual', referralId: row.referral_id, microsoftSide: false }]);
      return true;
    })();
  }

  async deadLetters(query: { open?: boolean; limit: number }): Promise<DeadLetter[]> {
    return this.letters.list(query);
  }

  async replayDeadLetter(id: number): Promise<boolean> {
    return this.db.transaction(() => {
      const replay = this.letters.takeForReplay(id);
      if (!replay) return false;
      this.jobs.enqueueInTransaction([replay]);
      return true;
    })();
  }

  async labelDeal(label: DealLabel): Promise<void> {
    this.controls.label(label);
  }

  async isPaused(connection: string, referralId: string): Promise<boolean> {
    return this.controls.isPaused(connection, referralId);
  }

  async pausedBy(connection: string, referralId: string): Promise<PauseHolder['by'][]> {
    return this.controls.pausedBy(connection, referralId);
  }

  async pausePair(connection: string, referralId: string, holder?: PauseHolder): Promise<boolean> {
    return this.controls.pause(connection, referralId, holder);
  }

  async resumePair(connection: string, referralId: string, holder?: PauseHolder): Promise<boolean> {
    return this.controls.resume(connection, referralId, holder);
  }

  async getWatermark(source: string): Promise<string | null> {
    const row = this.db.prepare('SELECT value FROM watermarks WHERE source = ?').get(source) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async watermarks(): Promise<Record<string, string>> {
    const rows = this.db.prepare('SELECT source, value FROM watermarks ORDER BY source').all() as Array<{ source: string; value: string }>;
    return Object.fromEntries(rows.map((r) => [r.source, r.value]));
  }

  async setWatermark(source: string, value: string): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO watermarks (source, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(source, value, new Date().toISOString());
  }
}

interface ConflictRow {
  id: number;
  connection: string;
  referral_id: string;
  field: string;
  base_value: string | null;
  pc_value: string | null;
  crm_value: string | null;
  detected_at: string;
  resolution: string | null;
  resolution_source: ConflictSource | null;
}

function toConflict(r: ConflictRow): HeldConflict {
  return {
    id: r.id,
    connection: r.connection,
    referralId: r.referral_id,
    field: r.field,
    base: decode(r.base_value),
    pc: decode(r.pc_value),
    crm: decode(r.crm_value),
    detectedAt: r.detected_at,
    ...(r.resolution !== null && r.resolution_source !== null ? { resolution: { take: r.resolution_source, value: JSON.parse(r.resolution) as CanonicalValue } } : {}),
  };
}

function toLink(row: LinkRow): Link {
  return {
    connection: row.connection,
    referralId: row.referral_id,
    crmEntity: row.crm_entity,
    crmId: row.crm_id,
    base: JSON.parse(row.base) as CanonicalRecord,
    pcEtag: row.pc_etag,
    crmVersion: row.crm_version,
    syncState: row.sync_state,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
