import { createTransport, type Transporter } from 'nodemailer';
import type { Logger } from '../../util/logger.ts';
import type { EmailAlertsConfig } from '../../config/alerts.ts';

/** Where an alert message goes: a chat webhook, or e-mail. */
export interface AlertChannel {
  /** Names the channel in logs without its secret (a webhook URL is one). */
  readonly label: string;
  /** True once the receiver accepted the message. */
  send(message: { subject: string; text: string }): Promise<boolean>;
}

const SMTP_TIMEOUT_MS = 10_000;

/** Alerts by e-mail through an SMTP relay (nodemailer). */
export class EmailChannel implements AlertChannel {
  readonly label = 'alerts.email';
  private readonly transport: Transporter;

  constructor(
    private readonly config: EmailAlertsConfig,
    /** The resolved `password` reference, if any. */
    password: string | undefined,
    private readonly logger: Logger,
  ) {
    this.transport = createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: !config.secure && config.requireTls,
      ...(config.user !== undefined && password !== undefined ? { auth: { user: config.user, pass: password } } : {}),
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    });
  }

  async send(message: { subject: string; text: string }): Promise<boolean> {
    try {
      const info = (await this.transport.sendMail({ from: this.config.from, to: this.config.to, subject: message.subject, text: message.text })) as { rejected?: unknown[] };
      if (Array.isArray(info.rejected) && info.rejected.length > 0) this.logger.warn({ channel: this.label, rejected: info.rejected.length }, 'alert e-mail refused for some recipients');
      return true;
    } catch (error) {
      // nodemailer's errors name the server and the SMTP reply, never the password.
      this.logger.warn({ channel: this.label, reason: error instanceof Error ? error.message : String(error) }, 'alert e-mail failed');
      return false;
    }
  }

  close(): void {
    this.transport.close();
  }
}
