import pg from 'pg';
import type { Logger } from '../../util/logger.ts';
import { type Leadership, LeadershipListeners } from '../leadership.ts';

/**
 * The advisory lock whoever leads holds: a fixed bigint ("cosell-leader" in spirit), distinct from the migrations'
 * lock. Advisory locks are per database, so two installations on one server do not contend.
 */
export const LEADERSHIP_LOCK_KEY = '4351374290511302657';

export interface PostgresLeadershipOptions {
  /** The connection settings (a URL or a full pg config); a dedicated client is opened from them, never a pooled one. */
  connection: string | pg.ClientConfig;
  log: Logger;
  /** How often a follower tries to take the lock (and the pause before reconnecting). Default 2 s. */
  retryMs?: number;
  /** How often the leader checks its connection with `SELECT 1`. Default: retryMs. */
  healthCheckMs?: number;
  /** A connect or query taking longer than this counts as a broken connection. Default 5 s. */
  timeoutMs?: number;
  /** Shown in pg_stat_activity, so an operator can see which backend holds the lock. */
  applicationName?: string;
  lockKey?: string;
}

/**
 * Server-side TCP keepalive of the leadership session: the server declares a silent peer dead after
 * idle + interval × count = 10 + 5 × 3 = 25 s and frees its lock. It must stay well above what the instance needs to
 * notice the same silence itself (healthCheckMs + timeoutMs, 7 s by default), so that the old leader has stepped down
 * before anyone else can take over.
 */
const SERVER_KEEPALIVE = { idle: 10, interval: 5, count: 3 } as const;

/**
 * Leadership through a session-level `pg_try_advisory_lock` held on a dedicated connection: the lock lives exactly as
 * long as that session, so whatever ends the session (a clean stop, a crash, SIGKILL, a terminated backend) frees it,
 * and a follower retrying every `retryMs` takes over.
 *
 * Failover bound:
 * - the leader stops cleanly, crashes or is SIGKILLed: its OS closes the socket, the server ends the session and frees
 *   the lock at once; another instance leads within `retryMs` (+ one round trip). Measured by
 *   test/unit/store/postgres-leadership.test.ts.
 * - the leader's host or network goes silent: the server frees the lock after its TCP keepalive gives up (25 s, see
 *   SERVER_KEEPALIVE; only on TCP connections, a Unix socket has no keepalive) and a follower leads within `retryMs`
 *   after that: ≤ 25 s + retryMs. The silent leader itself steps down after `healthCheckMs + timeoutMs` (7 s),
 *   before the server lets the lock go.
 * - safety: this side never reports leading without a live session holding the lock; any doubt (an 'error' or 'end'
 *   on the client, a health check that fails or outlasts `timeoutMs`) reports `false` first, then drops the connection
 *   (which frees the lock if the server still thinks it holds it) and reconnects. The one case it cannot cover is a
 *   process frozen longer than the server's keepalive (SIGSTOP, a stalled VM): it resumes believing it leads until its
 *   next health check, at most `healthCheckMs + timeoutMs` later. Lock-based leadership without fencing tokens has that
 *   limit everywhere; singleton work should stay idempotent.
 */
export class PostgresLeadership implements Leadership {
  private readonly retryMs: number;
  private readonly healthCheckMs: number;
  private readonly timeoutMs: number;
  private readonly lockKey: string;
  private readonly listeners: LeadershipListeners;
  private client: pg.Client | null = null;
  private leader = false;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> = Promise.resolve();

  constructor(private readonly options: PostgresLeadershipOptions) {
    this.retryMs = options.retryMs ?? 2000;
    this.healthCheckMs = options.healthCheckMs ?? this.retryMs;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.lockKey = options.lockKey ?? LEADERSHIP_LOCK_KEY;
    this.listeners = new LeadershipListeners((error) => options.log.error({ err: error }, 'leadership listener failed'));
  }

  get isLeader(): boolean {
    return this.leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.tick = this.attempt();
    await this.tick;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.tick;
    // Listeners hear `false` before the lock is released, so this instance has stopped its singleton work before
    // another one can start it.
    this.stepDown('stopped');
    const client = this.client;
    this.client = null;
    if (client) await this.close(client);
  }

  /** One step of the loop: (re)connect if needed, then campaign (follower) or check the connection (leader). */
  private async attempt(): Promise<void> {
    try {
      const client = this.client ?? (await this.connect());
      if (!this.running || client !== this.client) return;
      if (this.leader) {
        await this.withTimeout(client.query('SELECT 1'), 'health check');
      } else {
        const { rows } = await this.withTimeout(
          client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [this.lockKey]),
          'lock attempt',
        );
        // The connection may have broken (or stop() begun) while the answer was on its way: leading on a session we
        // have already given up would be leading without the lock.
        if (rows[0]?.locked === true && this.running && client === this.client && !this.leader) {
          this.leader = true;
          this.options.log.info('leadership: this instance leads the cluster');
          this.listeners.emit(true);
        }
      }
    } catch (error) {
      this.broken(this.client, error);
    } finally {
      this.schedule();
    }
  }

  private schedule(): void {
    if (!this.running) return;
    const delay = this.leader ? this.healthCheckMs : this.retryMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick = this.attempt();
    }, delay);
    // Leadership alone never keeps the process alive.
    this.timer.unref();
  }

  private async connect(): Promise<pg.Client> {
    const base: pg.ClientConfig = typeof this.options.connection === 'string' ? { connectionString: this.options.connection } : this.options.connection;
    const client = new pg.Client({
      ...base,
      application_name: this.options.applicationName ?? base.application_name ?? 'cosell-leadership',
      connectionTimeoutMillis: this.timeoutMs,
      // Client-side keepalive: a dead peer surfaces as a socket error even between health checks.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
    });
    // Registered before connecting: an unhandled 'error' would crash the process, and either event means the session
    // (and with it the lock) may be gone.
    client.on('error', (error) => this.broken(client, error));
    client.on('end', () => this.broken(client, new Error('connection ended')));
    this.client = client;
    try {
      await this.withTimeout(client.connect(), 'connect');
      await this.withTimeout(
        client.query(
          `SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $2, false),
                  set_config('tcp_keepalives_count', $3, false)`,
          [String(SERVER_KEEPALIVE.idle), String(SERVER_KEEPALIVE.interval), String(SERVER_KEEPALIVE.count)],
        ),
        'session settings',
      );
    } catch (error) {
      this.broken(client, error);
      throw error;
    }
    return client;
  }

  /** The connection of `client` can no longer be trusted: step down first, then drop it; the loop reconnects. */
  private broken(client: pg.Client | null, error: unknown): void {
    if (client === null || client !== this.client) return;
    this.client = null;
    this.stepDown('connection lost');
    this.options.log.warn({ err: error }, 'leadership: connection to PostgreSQL lost, reconnecting');
    void this.close(client);
  }

  private stepDown(reason: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.options.log.warn({ reason }, 'leadership: this instance no longer leads');
    this.listeners.emit(false);
  }

  /**
   * Ends a client without waiting on a peer that may never answer: a polite `end()` for a live server, and the socket
   * destroyed after `timeoutMs` at the latest, which is what frees the lock server-side if the session survived.
   */
  private async close(client: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ended = client.end().catch(() => undefined);
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs);
    });
    await Promise.race([ended, deadline]);
    clearTimeout(timer);
    client.connection.stream.destroy();
  }

  private async withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`leadership ${what} took longer than ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
