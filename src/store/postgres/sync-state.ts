import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CanonicalRecord, CanonicalValue } from '../../canonical-value.ts';
import type {
  AuditEntry, AuditOutcome, AuditRecord, ConflictResolution, ConflictSource, DeadLetter, DealLabel, HeldConflict, Link, PauseHolder, SyncCommit,
  SyncState, WriteIntent,
} from '../types.ts';
import { listDeadLetters, takeDeadLetterForReplay } from './dead-letters.ts';
import { PostgresDealControls } from './deal-controls.ts';
import { enqueuePairJobs } from './job-enqueue.ts';
import { inTransaction, type Queryable } from './pool.ts';
import { completeRunInTransaction, RunsCompletedByCommit } from './job-completion.ts';

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
  id: string;
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

interface ConflictRow {
  id: string;
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

/** Canonical values are stored as JSON so null, false, 0 and "" stay distinct; `undefined` (absent) is SQL NULL. */
const encode = (value: CanonicalValue | undefined): string | null => (value === undefined ? null : JSON.stringify(value));
const decode = (text: string | null): CanonicalValue | undefined => (text === null ? undefined : (JSON.parse(text) as CanonicalValue));

/** A stream's resume point; used inside the inbox's transaction too, so an event and its watermark commit together. */
export async function upsertWatermark(db: Queryable, source: string, value: string): Promise<void> {
  await db.query(
    `INSERT INTO watermarks (source, value, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    [source, value, new Date().toISOString()],
  );
}

async function insertAudit(db: Queryable, entries: readonly AuditEntry[], at: string): Promise<void> {
  for (const e of entries) {
    await db.query(
      `INSERT INTO audit (at, connection, referral_id, crm_entity, crm_id, direction, field, old_value, new_value, cause, outcome, message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [at, e.connection, e.referralId, e.crmEntity, e.crmId, e.direction, e.field, encode(e.oldValue), encode(e.newValue), e.cause, e.outcome, e.message],
    );
  }
}

export class PostgresSyncState implements SyncState {
  private readonly controls: PostgresDealControls;

  constructor(
    private readonly pool: pg.Pool,
    private readonly completedRuns = new RunsCompletedByCommit(),
  ) {
    this.controls = new PostgresDealControls(pool, (client, entries) => insertAudit(client, entries, new Date().toISOString()));
  }

  async getLink(connection: string, referralId: string): Promise<Link | null> {
    const row = (await this.pool.query<LinkRow>('SELECT * FROM links WHERE connection = $1 AND referral_id = $2', [connection, referralId])).rows[0];
    return row ? toLink(row) : null;
  }

  async findLinkByCrm(connection: string, crmEntity: string, crmId: string): Promise<Link | null> {
    const row = (await this.pool.query<LinkRow>('SELECT * FROM links WHERE connection = $1 AND crm_entity = $2 AND crm_id = $3', [connection, crmEntity, crmId])).rows[0];
    return row ? toLink(row) : null;
  }

  async commit(commit: SyncCommit): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await this.commitIn(client, commit);
      // Last: the completion resolves the pair's dead letters by the link state written above.
      if (commit.completes) await completeRunInTransaction(client, commit.completes);
    });
    if (commit.completes?.runnerJobId !== undefined) this.completedRuns.add(commit.completes.runnerJobId);
  }

  async commitMany(commits: readonly SyncCommit[]): Promise<void> {
    if (commits.length === 0) return;
    await inTransaction(this.pool, async (client) => {
      for (const commit of commits) await this.commitIn(client, commit);
    });
  }

  private async commitIn(client: pg.ClientBase, commit: SyncCommit): Promise<void> {
    const now = new Date().toISOString();
    const l = commit.link;
    await client.query(
      `INSERT INTO links (connection, referral_id, crm_entity, crm_id, base, pc_etag, crm_version, sync_state, last_error, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
       ON CONFLICT (connection, referral_id) DO UPDATE SET
         crm_entity = excluded.crm_entity, crm_id = excluded.crm_id, base = excluded.base, pc_etag = excluded.pc_etag,
         crm_version = excluded.crm_version, sync_state = excluded.sync_state, last_error = excluded.last_error,
         updated_at = excluded.updated_at`,
      [l.connection, l.referralId, l.crmEntity, l.crmId, JSON.stringify(l.base), l.pcEtag, l.crmVersion, l.syncState, l.lastError, now],
    );
    await insertAudit(client, commit.audit, now);
    for (const c of commit.holdConflicts) {
      await client.query(
        `INSERT INTO conflicts (connection, referral_id, field, base_value, pc_value, crm_value, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (connection, referral_id, field) DO UPDATE SET pc_value = excluded.pc_value, crm_value = excluded.crm_value`,
        [l.connection, l.referralId, c.field, encode(c.base), encode(c.pc), encode(c.crm), now],
      );
    }
    if (commit.releaseConflicts.length > 0) {
      await client.query('DELETE FROM conflicts WHERE connection = $1 AND referral_id = $2 AND field = ANY($3::text[])', [l.connection, l.referralId, commit.releaseConflicts]);
    }
    await client.query('DELETE FROM write_intents WHERE connection = $1 AND referral_id = $2 AND crm_entity = $3', [l.connection, l.referralId, l.crmEntity]);
    await client.query('DELETE FROM create_intents WHERE connection = $1 AND crm_entity = $2 AND crm_id = $3', [l.connection, l.crmEntity, l.crmId]);
    for (const [field, w] of Object.entries(commit.pcFieldWrites ?? {})) {
      await client.query(
        `INSERT INTO pc_field_writes (referral_id, field, value, changed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (referral_id, field) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at`,
        [l.referralId, field, JSON.stringify(w.value), w.changedAt],
      );
    }
    if (commit.label) await this.controls.label(commit.label, client);
  }

  async pcFieldWrites(referralId: string): Promise<Record<string, { value: CanonicalValue; changedAt: string }>> {
    const { rows } = await this.pool.query<{ field: string; value: string; changed_at: string }>('SELECT field, value, changed_at FROM pc_field_writes WHERE referral_id = $1', [referralId]);
    return Object.fromEntries(rows.map((r) => [r.field, { value: JSON.parse(r.value) as CanonicalValue, changedAt: r.changed_at }]));
  }

  async createKey(connection: string, crmEntity: string, crmId: string): Promise<string> {
    // Insert-then-read rather than read-then-insert: two instances asking at once both end up with the one stored key.
    await this.pool.query(
      `INSERT INTO create_intents (connection, crm_entity, crm_id, request_id, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (connection, crm_entity, crm_id) DO NOTHING`,
      [connection, crmEntity, crmId, randomUUID(), new Date().toISOString()],
    );
    const row = (await this.pool.query<{ request_id: string }>('SELECT request_id FROM create_intents WHERE connection = $1 AND crm_entity = $2 AND crm_id = $3', [connection, crmEntity, crmId])).rows[0];
    if (!row) throw new Error('the create key was removed while it was being recorded');
    return row.request_id;
  }

  async recordIntents(intents: readonly WriteIntent[]): Promise<void> {
    if (intents.length === 0) return;
    const now = new Date().toISOString();
    await inTransaction(this.pool, async (client) => {
      for (const i of intents) {
        await client.query(
          `INSERT INTO write_intents (connection, referral_id, crm_entity, base, to_crm, to_pc, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (connection, referral_id, crm_entity) DO UPDATE SET
             base = excluded.base, to_crm = excluded.to_crm, to_pc = excluded.to_pc, created_at = excluded.created_at`,
          [i.connection, i.referralId, i.crmEntity, JSON.stringify(i.base), JSON.stringify(i.toCrm), JSON.stringify(i.toPc), now],
        );
      }
    });
  }

  async getIntent(connection: string, referralId: string, crmEntity: string): Promise<WriteIntent | null> {
    const row = (
      await this.pool.query<{ base: string; to_crm: string; to_pc: string }>(
        'SELECT base, to_crm, to_pc FROM write_intents WHERE connection = $1 AND referral_id = $2 AND crm_entity = $3',
        [connection, referralId, crmEntity],
      )
    ).rows[0];
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
    if (entries.length === 0) return;
    await inTransaction(this.pool, (client) => insertAudit(client, entries, new Date().toISOString()));
  }

  async audit(query: { connection?: string; referralId?: string; crmId?: string; outcomes?: readonly AuditOutcome[]; limit: number; beforeId?: number }): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: Array<string | number | readonly string[]> = [];
    const add = (clause: (n: number) => string, value: string | number | readonly string[] | undefined) => {
      if (value === undefined) return;
      params.push(value);
      where.push(clause(params.length));
    };
    add((n) => `connection = $${n}`, query.connection);
    add((n) => `referral_id = $${n}`, query.referralId);
    add((n) => `crm_id = $${n}`, query.crmId);
    add((n) => `id < $${n}`, query.beforeId);
    if (query.outcomes?.length) add((n) => `outcome = ANY($${n}::text[])`, query.outcomes);
    params.push(query.limit);
    const { rows } = await this.pool.query<AuditRow>(
      `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
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
    const { rows } =
      connection === undefined
        ? await this.pool.query<ConflictRow>('SELECT * FROM conflicts ORDER BY detected_at, id')
        : await this.pool.query<ConflictRow>('SELECT * FROM conflicts WHERE connection = $1 ORDER BY detected_at, id', [connection]);
    return rows.map(toConflict);
  }

  async conflict(id: number): Promise<HeldConflict | null> {
    const row = (await this.pool.query<ConflictRow>('SELECT * FROM conflicts WHERE id = $1', [id])).rows[0];
    return row ? toConflict(row) : null;
  }

  resolveConflict(id: number, resolution: ConflictResolution): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const row = (
        await client.query<{ connection: string; referral_id: string }>(
          'UPDATE conflicts SET resolution = $1, resolution_source = $2 WHERE id = $3 RETURNING connection, referral_id',
          [JSON.stringify(resolution.value), resolution.take, id],
        )
      ).rows[0];
      if (!row) return false;
      await enqueuePairJobs(client, [{ connection: row.connection, cause: 'manual', referralId: row.referral_id, microsoftSide: false }]);
      return true;
    });
  }

  deadLetters(query: { open?: boolean; limit: number }): Promise<DeadLetter[]> {
    return listDeadLetters(this.pool, query);
  }

  replayDeadLetter(id: number): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const replay = await takeDeadLetterForReplay(client, id);
      if (!replay) return false;
      await enqueuePairJobs(client, [replay]);
      return true;
    });
  }

  labelDeal(label: DealLabel): Promise<void> {
    return this.controls.label(label);
  }

  isPaused(connection: string, referralId: string): Promise<boolean> {
    return this.controls.isPaused(connection, referralId);
  }

  pausedBy(connection: string, referralId: string): Promise<PauseHolder['by'][]> {
    return this.controls.pausedBy(connection, referralId);
  }

  pausePair(connection: string, referralId: string, holder?: PauseHolder): Promise<boolean> {
    return this.controls.pause(connection, referralId, holder);
  }

  resumePair(connection: string, referralId: string, holder?: PauseHolder): Promise<boolean> {
    return this.controls.resume(connection, referralId, holder);
  }

  async getWatermark(source: string): Promise<string | null> {
    return (await this.pool.query<{ value: string }>('SELECT value FROM watermarks WHERE source = $1', [source])).rows[0]?.value ?? null;
  }

  async watermarks(): Promise<Record<string, string>> {
    const { rows } = await this.pool.query<{ source: string; value: string }>('SELECT source, value FROM watermarks ORDER BY source COLLATE "C"');
    return Object.fromEntries(rows.map((r) => [r.source, r.value]));
  }

  setWatermark(source: string, value: string): Promise<void> {
    return upsertWatermark(this.pool, source, value);
  }
}

function toConflict(r: ConflictRow): HeldConflict {
  return {
    id: Number(r.id),
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
