import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter } from '../../../src/server/alerts/alerter.ts';
import { FAILING_AFTER, Readiness } from '../../../src/server/readiness.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/config/errors.ts';
import { resolveAlertEmailPassword, resolveAlertWebhooks } from '../../../src/service.ts';
import { EmailChannel } from '../../../src/server/alerts/email.ts';
import { startSmtpReceiver } from '../../support/smtp-receiver.ts';

/* Alerts to a chat webhook: each new dead letter, conflict and outage once, batched per tick, the URL never logged. */

describe('Alerter', () => {
  let receiver: Server;
  let url: string;
  const received: string[] = [];
  let answer = 200;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push((JSON.parse(body) as { text: string }).text);
        response.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/SECRET-PART`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  const setup = () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const readiness = new Readiness(store, ':memory:', { dynamics: 'dataverse' }, () => now);
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(chunk.toString()), done()) }));
    const deadLetter = async (referralId: string) => {
      await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId }]);
      await store.jobs.deadLetter((await store.jobs.claim(1, 1000))[0]!, `400 invalid ${referralId}`);
    };
    const make = () => new Alerter({ store, readiness, webhookUrls: [url], connectionFailingMs: 5 * 60_000, logger, consoleUrl: 'http://127.0.0.1:4180', now: () => now });
    return { store, readiness, logs, deadLetter, make, advance: (ms: number) => (now += ms) };
  };

  it('announces each new dead letter and held conflict once, not what existed at start', async () => {
    const { store, deadLetter, make } = setup();
    await deadLetter('old');
    const alerter = make();
    received.length = 0;
    await alerter.tick();
    expect(received).toEqual([]);

    await deadLetter('r1');
    await store.sync.commit({
      link: { connection: 'dynamics', referralId: 'r2', crmEntity: 'opportunity', crmId: 'o2', base: {}, pcEtag: null, crmVersion: null, syncState: 'ok', lastError: null },
      audit: [],
      holdConflicts: [{ field: 'notes', base: 'a', pc: 'b', crm: 'c' }],
      releaseConflicts: [],
    });
    await alerter.tick();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatch(/Dead letter #2 on dynamics \(referral r1\): 400 invalid r1 http:\/\/127\.0\.0\.1:4180\/deals\/dynamics\/r1/);
    expect(received[0]).toContain('Held conflict on dynamics, referral r2, field notes');
    expect(received[0]).not.toContain('old');
    await alerter.tick();
    expect(received).toHaveLength(1);
    await store.close();
  });

  it('reports a connection failing for the configured time once, and its recovery', async () => {
    const { store, readiness, make, advance } = setup();
    const alerter = make();
    received.length = 0;
    for (let i = 0; i < FAILING_AFTER; i++) readiness.recordCall({ api: 'dataverse', method: 'GET', route: 'opportunities', status: 503 });
    await alerter.tick();
    advance(4 * 60_000);
    await alerter.tick();
    expect(received).toEqual([]);
    advance(60_000);
    await alerter.tick();
    await alerter.tick();
    expect(received).toHaveLength(1);
    expect(received[0]).toContain(`dynamics is failing: ${FAILING_AFTER} calls in a row, last HTTP 503 on GET opportunities`);
    readiness.recordCall({ api: 'dataverse', status: 200 });
    await alerter.tick();
    expect(received[1]).toContain('dynamics is working again');
    await store.close();
  });

  it('batches a burst into one bounded message, retries a refused delivery and never logs the URL', async () => {
    const { store, deadLetter, make, logs } = setup();
    const alerter = make();
    received.length = 0;
    for (let i = 0; i < 30; i++) await deadLetter(`burst-${i}`);
    answer = 500;
    await alerter.tick();
    await alerter.tick();
    answer = 200;
    await alerter.tick();
    expect(received).toHaveLength(3);
    expect(received[2]?.split('\n').filter((l) => l.startsWith('• Dead letter'))).toHaveLength(20);
    expect(received[2]).toContain('… and 10 more (see the console)');
    await alerter.tick();
    expect(received).toHaveLength(3);
    expect(logs.join('')).toContain('alerts.webhooks[0]');
    expect(logs.join('')).not.toContain('SECRET-PART');
    await store.close();
  });
});

describe('alerts configuration', () => {
  const LOCAL_PC = { referralsApiUrl: 'http://127.0.0.1:4101', webhooksApiUrl: 'http://127.0.0.1:4101' };

  it('takes webhook URLs as secret references and names the entry whose reference does not resolve', async () => {
    delete process.env.COSELL_TEST_ALERT_URL;
    const config = parseConfig('test.yaml', { partnerCenter: LOCAL_PC, alerts: { webhooks: [{ url: { env: 'COSELL_TEST_ALERT_URL' } }] } });
    const error = await resolveAlertWebhooks(config, 'test.yaml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('alerts.webhooks[0].url');
    process.env.COSELL_TEST_ALERT_URL = 'https://hooks.example/x';
    expect(await resolveAlertWebhooks(config)).toEqual(['https://hooks.example/x']);
    delete process.env.COSELL_TEST_ALERT_URL;
    expect(parseConfig('test.yaml', { partnerCenter: LOCAL_PC }).alerts).toEqual({ webhooks: [], connectionFailingMinutes: 5, registrationCheckMinutes: 15, responseDeadlineHours: 72, intervalSeconds: 60 });
    expect(() => parseConfig('test.yaml', { partnerCenter: LOCAL_PC, alerts: { webhooks: [{ url: 'https://plain.example' }] } })).toThrow(ConfigError);
  });

  it('takes the SMTP password as a secret reference, with its user', async () => {
    const email = { host: 'smtp.example', from: 'cosell-sync <alerts@example.com>', to: ['ops@example.com'] };
    expect(parseConfig('test.yaml', { partnerCenter: LOCAL_PC, alerts: { email } }).alerts.email).toMatchObject({ port: 587, secure: false, requireTls: true });
    expect(() => parseConfig('test.yaml', { partnerCenter: LOCAL_PC, alerts: { email: { ...email, user: 'u', password: 'plain' } } })).toThrow(ConfigError);
    expect(() => parseConfig('test.yaml', { partnerCenter: LOCAL_PC, alerts: { email: { ...email, user: 'u' } } })).toThrow(ConfigError);
    expect(() => parseConfig('test.yaml', { partnerCenter: LOCAL_PC, alerts: { email: { ...email, to: ['not an address'] } } })).toThrow(ConfigError);
    delete process.env.COSELL_TEST_SMTP_PASSWORD;
    const config = parseConfig('test.yaml', { partnerCenter: LOCAL_PC, alerts: { email: { ...email, user: 'u', password: { env: 'COSELL_TEST_SMTP_PASSWORD' } } } });
    const error = await resolveAlertEmailPassword(config, 'test.yaml').catch((e: unknown) => e);
    expect((error as ConfigError).path).toBe('alerts.email.password');
  });
});

describe('Alerter by e-mail', () => {
  it('sends the same batched, deduplicated alerts over SMTP, and an incoming referral near its response deadline once', async () => {
    const smtp = await startSmtpReceiver();
    const now = Date.parse('2026-01-01T00:00:00Z');
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const logger = pino({ level: 'silent' });
    const email = new EmailChannel({ host: '127.0.0.1', port: smtp.port, secure: false, requireTls: false, from: 'cosell-sync <alerts@example.com>', to: ['ops@example.com'] }, undefined, logger);
    const alerter = new Alerter({ store, readiness: new Readiness(store, ':memory:', {}), webhookUrls: [], channels: [email], connectionFailingMs: 0, responseWarningMs: 72 * 3600_000, logger, consoleUrl: 'http://127.0.0.1:4180', now: () => now });
    const label = (referralId: string, respondBy: string) =>
      store.sync.labelDeal({ connection: 'dynamics', referralId, crmEntity: null, crmId: null, name: `Deal ${referralId}`, customer: 'Contoso', respondBy });
    await label('due', '2026-01-02T12:00:00Z');
    await label('not-yet', '2026-01-10T00:00:00Z');
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r-dead' }]);
    await store.jobs.deadLetter((await store.jobs.claim(1, 1000))[0]!, '400 invalid');

    await alerter.tick();
    await alerter.tick();
    expect(smtp.messages).toHaveLength(1);
    const [mail] = smtp.messages;
    expect(mail?.to).toEqual(['ops@example.com']);
    expect(mail?.subject).toBe('cosell-sync: 2 alerts');
    expect(mail?.text).toContain('• Dead letter #1 on dynamics (referral r-dead): 400 invalid http://127.0.0.1:4180/deals/dynamics/r-dead');
    expect(mail?.text).toContain('• Incoming referral Deal due (Contoso), due: accept or decline it in Partner Center before 2026-01-02T12:00:00Z, or it expires');
    expect(mail?.text).not.toContain('not-yet');
    // A new alerter (a restart) does not announce the deadline again.
    const again = new Alerter({ store, readiness: new Readiness(store, ':memory:', {}), webhookUrls: [], channels: [email], connectionFailingMs: 0, responseWarningMs: 72 * 3600_000, logger, now: () => now });
    await again.tick();
    expect(smtp.messages).toHaveLength(1);
    email.close();
    await store.close();
    await smtp.close();
  });
});
