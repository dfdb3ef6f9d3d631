import { WEBHOOK_PATH } from '../../partner-center/webhook-event.ts';
import type { Logger } from '../../util/logger.ts';

/**
 * Partner Center holds one webhook registration per tenant (Partner Center webhooks, "Register for events"), so
 * another tool registering its own URL silently takes the events away from us. This checks it periodically.
 */
export interface RegistrationState {
  /** `ours`: points at this service. `elsewhere`: at another URL. `missing`: none. `unknown`: not checked yet or the check failed. */
  status: 'ours' | 'elsewhere' | 'missing' | 'unknown';
  /** The registered URL (when there is one). */
  url: string | null;
  checkedAt: string | null;
  /** Why the last check failed. */
  error: string | null;
}

export interface RegistrationSource {
  getRegistration(): Promise<{ webhookUrl: string } | null>;
}

export class RegistrationWatch {
  private current: RegistrationState = { status: 'unknown', url: null, checkedAt: null, error: null };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly source: RegistrationSource,
    /** server.publicUrl, or undefined: then any URL on our port with our path counts as ours. */
    private readonly publicUrl: string | undefined,
    private readonly port: number,
    private readonly logger: Logger,
  ) {}

  get state(): RegistrationState {
    return this.current;
  }

  isOurs(url: string): boolean {
    if (this.publicUrl) return url.replace(/\/+$/, '') === `${this.publicUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}`;
    if (!URL.canParse(url)) return false;
    const parsed = new URL(url);
    const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
    return parsed.pathname.replace(/\/+$/, '') === WEBHOOK_PATH && port === this.port;
  }

  async check(): Promise<RegistrationState> {
    const checkedAt = new Date().toISOString();
    try {
      const registration = await this.source.getRegistration();
      const status = registration === null ? 'missing' : this.isOurs(registration.webhookUrl) ? 'ours' : 'elsewhere';
      if (status !== 'ours' && this.current.status !== status) {
        this.logger.warn({ status, url: registration?.webhookUrl ?? null }, "Partner Center's webhook registration does not point at this service");
      }
      this.current = { status, url: registration?.webhookUrl ?? null, checkedAt, error: null };
    } catch (error) {
      this.current = { ...this.current, status: 'unknown', checkedAt, error: error instanceof Error ? error.message : String(error) };
    }
    return this.current;
  }

  /** Checks every `intervalMs` (the first one an interval after start, so a start costs no call); 0: never. */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.check()
        .then(() => undefined)
        .finally(() => {
          this.running = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
