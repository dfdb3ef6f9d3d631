import type { Store } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import type { Readiness } from '../readiness.ts';
import type { RegistrationState } from '../console/registration-watch.ts';
import { credentialAlert, type CredentialHealth } from '../console/credential-health.ts';
import type { AlertChannel } from './email.ts';

/*
 * Tells an operator, in their chat channel or by e-mail, what the console would show in red: a new dead letter, a new
 * held conflict, a connection failing for a while (and its recovery), a registration problem, an incoming referral
 * close to its response deadline, Partner Center's refresh token refused or near its 90-day inactivity expiry. Deduplicated (each dead letter, conflict, outage and deadline once; deadlines across
 * restarts too) (each dead letter, conflict and outage
 * once), rate-limited (one message per interval, holding everything new since the last), and bounded (a message
 * lists at most MAX_LINES items). What exists when the service starts is not announced again.
 */

const MAX_LINES = 20;
const MAX_LINE_LENGTH = 300;
const DELIVERY_TIMEOUT_MS = 10_000;
/** Delivery attempts for one message before it is dropped (logged), so a dead receiver cannot grow the backlog. */
const MAX_DELIVERY_ATTEMPTS = 3;

export interface AlerterOptions {
  store: Store;
  readiness: Readiness;
  /** Resolved incoming-webhook URLs (secrets: never logged). */
  webhookUrls: readonly string[];
  /** Further channels (e-mail). */
  channels?: readonly AlertChannel[] | undefined;
  /** How long before an incoming referral's response deadline it is reported; undefined: never. */
  responseWarningMs?: number | undefined;
  connectionFailingMs: number;
  logger: Logger;
  /** Where the console runs, for links in messages (the admin listener). */
  consoleUrl?: string | undefined;
  /** Partner Center's webhook registration as last checked. */
  registration?: (() => RegistrationState | undefined) | undefined;
  /** Partner Center's refresh token (Entra sign-in only): a refusal, or inactivity expiry near. */
  credential?: (() => Promise<CredentialHealth>) | undefined;
  now?: () => number;
}

const clip = (line: string) => (line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH - 1)}…` : line);

export class Alerter {
  private lastDeadLetterId = 0;
  private readonly knownConflicts = new Set<number>();
  /** Connection → when it was first seen failing in the current outage, and whether that outage was announced. */
  private readonly outages = new Map<string, { since: number; announced: boolean }>();
  private pending: string[] = [];
  private lastRegistration: RegistrationState['status'] = 'unknown';
  /** The credential line last announced: each problem (and each expiry date) once, until it changes. */
  private lastCredentialAlert: string | undefined;
  private attempts = 0;
  /** Channels that took the pending message already (while another one is retried). */
  private readonly delivered = new Set<string>();
  private readonly now: () => number;
  /** What existed at start, read once (the store is asynchronous); every collect waits for it. */
  private readonly baseline: Promise<void>;

  constructor(private readonly options: AlerterOptions) {
    this.now = options.now ?? Date.now;
    this.baseline = this.readBaseline();
    // Surfaced by the first collect; not an unhandled rejection meanwhile.
    this.baseline.catch(() => undefined);
  }

  /** What is already there at start was either announced by the previous run or is visible in the console. */
  private async readBaseline(): Promise<void> {
    const { sync } = this.options.store;
    this.lastDeadLetterId = (await sync.deadLetters({ open: false, limit: 1 }))[0]?.id ?? 0;
    for (const c of await sync.conflicts()) this.knownConflicts.add(c.id);
  }

  /**
   * Collects what is new since the last check into the pending message; returns those new lines. Calls must not
   * overlap (`start` runs one tick at a time): each reads the store, then updates what was announced.
   */
  async collect(): Promise<string[]> {
    await this.baseline;
    const before = this.pending.length;
    const { store, readiness } = this.options;
    const link = (connection: string, referralId: string | null) =>
      this.options.consoleUrl && referralId ? ` ${this.options.consoleUrl}/deals/${encodeURIComponent(connection)}/${encodeURIComponent(referralId)}` : '';

    const fresh = (await store.sync.deadLetters({ open: true, limit: 100 })).filter((d) => d.id > this.lastDeadLetterId);
    for (const d of fresh.reverse()) {
      this.pending.push(`Dead letter #${d.id} on ${d.connection} (${d.referralId ? `referral ${d.referralId}` : `${d.crmEntity ?? ''} ${d.crmId ?? ''}`}): ${d.error}${link(d.connection, d.referralId)}`);
      this.lastDeadLetterId = Math.max(this.lastDeadLetterId, d.id);
    }

    const conflicts = await store.sync.conflicts();
    for (const c of conflicts) {
      if (this.knownConflicts.has(c.id)) continue;
      this.knownConflicts.add(c.id);
      this.pending.push(`Held conflict on ${c.connection}, referral ${c.referralId}, field ${c.field}: both sides changed it${link(c.connection, c.referralId)}`);
    }
    const open = new Set(conflicts.map((c) => c.id));
    for (const id of this.knownConflicts) if (!open.has(id)) this.knownConflicts.delete(id);

    const now = this.now();
    for (const [name, health] of Object.entries(readiness.connections())) {
      const outage = this.outages.get(name);
      if (health.state === 'failing') {
        const current = outage ?? { since: now, announced: false };
        this.outages.set(name, current);
        if (!current.announced && now - current.since >= this.options.connectionFailingMs) {
          current.announced = true;
          this.pending.push(`${name} is failing: ${health.consecutiveFailures} calls in a row, last ${health.lastFailure ?? 'unknown'}; last success ${health.lastSuccessAt ?? 'none since start'}`);
        }
      } else if (outage) {
        this.outages.delete(name);
        if (outage.announced) this.pending.push(`${name} is working again`);
      }
    }

    if (this.options.responseWarningMs !== undefined) {
      for (const due of await store.console.responsesDue(new Date(now + this.options.responseWarningMs).toISOString())) {
        const what = `${due.name ?? 'referral'}${due.customer ? ` (${due.customer})` : ''}`;
        this.pending.push(`Incoming referral ${what}, ${due.referralId}: accept or decline it in Partner Center before ${due.respondBy}, or it expires${link(due.connection, due.referralId)}`);
        await store.console.markResponseAlerted(due.referralId);
      }
    }

    const registration = this.options.registration?.();
    if (registration && registration.status !== 'unknown' && registration.status !== this.lastRegistration) {
      if (registration.status === 'missing') this.pending.push("Partner Center's webhook registration is missing: no referral events reach the service (cosell webhooks register)");
      else if (registration.status === 'elsewhere') this.pending.push(`Partner Center's webhook registration points elsewhere (${registration.url ?? '?'}): another tool may have replaced it`);
      else if (this.lastRegistration !== 'unknown') this.pending.push("Partner Center's webhook registration points at this service again");
      this.lastRegistration = registration.status;
    }
    await this.collectCredential();
    return this.pending.slice(before);
  }

  private async collectCredential(): Promise<void> {
    const health = await this.options.credential?.();
    if (!health) return;
    const alert = credentialAlert(health);
    if (alert && alert.key !== this.lastCredentialAlert) this.pending.push(alert.line);
    this.lastCredentialAlert = alert?.key;
  }

  private channels(): AlertChannel[] {
    return [...this.options.webhookUrls.map((url, index) => this.webhook(url, index)), ...(this.options.channels ?? [])];
  }

  /** Collects, then sends everything pending as one message to every channel. */
  async tick(): Promise<void> {
    await this.collect();
    const channels = this.channels();
    if (this.pending.length === 0 || channels.length === 0) {
      this.pending = [];
      return;
    }
    const lines = this.pending.slice(0, MAX_LINES).map(clip);
    if (this.pending.length > MAX_LINES) lines.push(`… and ${this.pending.length - MAX_LINES} more (see the console)`);
    const text = `cosell-sync:\n${lines.map((l) => `• ${l}`).join('\n')}`;
    const subject = clip(`cosell-sync: ${this.pending.length === 1 ? (lines[0] ?? '') : `${this.pending.length} alerts`}`);
    // A channel that accepted is not sent the same message again when another one is retried.
    const results = await Promise.all(channels.map((channel) => (this.delivered.has(channel.label) ? true : channel.send({ subject, text }))));
    results.forEach((ok, index) => ok && this.delivered.add(channels[index]?.label ?? ''));
    this.attempts += 1;
    if (results.every(Boolean) || this.attempts >= MAX_DELIVERY_ATTEMPTS) {
      if (!results.every(Boolean)) this.options.logger.error({ alerts: this.pending.length }, 'alerts dropped after repeated delivery failures');
      this.pending = [];
      this.attempts = 0;
      this.delivered.clear();
    }
  }

  private webhook(url: string, index: number): AlertChannel {
    // The URL is the credential: name the webhook by its position in the configuration only.
    const label = `alerts.webhooks[${index}]`;
    const logger = this.options.logger;
    return {
      label,
      async send({ text }) {
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ text }),
            signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
            redirect: 'error',
          });
          await response.body?.cancel().catch(() => undefined);
          if (response.ok) return true;
          logger.warn({ webhook: label, status: response.status }, 'alert delivery refused');
        } catch (error) {
          logger.warn({ webhook: label, reason: (error as Error).name }, 'alert delivery failed');
        }
        return false;
      },
    };
  }

  /** Runs `tick` every `intervalMs` until stopped; a tick never overlaps the previous one. */
  start(intervalMs: number): { stop(): Promise<void> } {
    let running: Promise<void> | undefined;
    const timer = setInterval(() => {
      if (running) return;
      running = this.tick()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'alert check failed'))
        .finally(() => {
          running = undefined;
        });
    }, intervalMs);
    timer.unref();
    return {
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }
}
