import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { partnerCenterClients, type PartnerCenterClients } from '../../src/partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES } from '../../src/partner-center/webhook-event.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { makeTempDir } from '../support/tmp.ts';
import { waitFor } from '../support/service-harness.ts';
import { runCli } from '../support/cli.ts';
import { adminFetch, testAdminConfig } from '../support/admin.ts';

interface EventsResponse {
  events: Array<{ id: number; eventName: string; resourceId: string | null }>;
}

/**
 * The foundation end to end, as a new user meets it: the Partner Center sandbox signs and delivers webhooks, the
 * service verifies them against the sandbox's root CA and stores them; the CLI manages the registration.
 */
describe('Partner Center sandbox → verified inbox, and the cosell webhooks commands', () => {
  const tmp = makeTempDir();
  let sandbox: PartnerCenterSandbox;
  let service: RunningService;
  let clients: PartnerCenterClients;
  let configFile: string;

  const events = async (query = ''): Promise<EventsResponse['events']> =>
    ((await (await adminFetch(`${service.adminUrl}/api/events?limit=500${query}`)).json()) as EventsResponse).events;

  beforeAll(async () => {
    sandbox = await startPartnerCenterSandbox({ port: 0, delivery: { initialDelayMs: 50, maxDelayMs: 200 } });
    const anchor = join(tmp.path, 'sandbox-root.pem');
    writeFileSync(anchor, sandbox.rootCertificatePem);
    const pcHost = new URL(sandbox.url).host;
    const raw = {
      server: { host: '127.0.0.1', port: 0 },
      admin: testAdminConfig(),
      store: { path: join(tmp.path, 'cosell.db') },
      log: { level: 'silent' as const },
      partnerCenter: {
        referralsApiUrl: sandbox.url,
        webhooksApiUrl: sandbox.url,
        auth: { mode: 'sandbox' as const, token: 'test-token' },
        webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
      },
    };
    service = await startService(parseConfig('test', raw), silentLogger());
    configFile = join(tmp.path, 'cosell.yaml');
    writeFileSync(configFile, stringify({ ...raw, server: { ...raw.server, publicUrl: service.url } }));
    clients = await partnerCenterClients(parseConfig('test', raw).partnerCenter);
  });

  afterAll(async () => {
    await service?.close();
    await sandbox?.close();
    tmp.cleanup();
  });

  it('register via the CLI; a second register fails with exit code 2 unless --overwrite', async () => {
    const first = await runCli(['webhooks', 'register', '--config', configFile, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const registered = JSON.parse(first.stdout) as { replaced: boolean; registration: { webhookUrl: string; webhookEvents: string[] } };
    expect(registered.replaced).toBe(false);
    expect(registered.registration.webhookUrl).toBe(`${service.url}/webhooks/partner-center`);
    expect([...registered.registration.webhookEvents].sort()).toEqual([...REFERRAL_EVENT_NAMES].sort());

    const again = await runCli(['webhooks', 'register', '--config', configFile]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists.*--overwrite/);

    const overwrite = await runCli(['webhooks', 'register', '--config', configFile, '--overwrite']);
    expect(overwrite.code, overwrite.stderr).toBe(0);
    expect(overwrite.stdout).toMatch(/Replaced/);

    const show = await runCli(['webhooks', 'show', '--config', configFile, '--json']);
    expect((JSON.parse(show.stdout) as { webhookUrl: string }).webhookUrl).toBe(`${service.url}/webhooks/partner-center`);
  }, 60_000);

  it('rejects an unknown event name with exit code 2 before calling register', async () => {
    const result = await runCli(['webhooks', 'register', '--config', configFile, '--overwrite', '--events', 'referral-created,nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown event name.*nope/);
  }, 30_000);

  it('webhooks test and test-status show a delivered attempt', async () => {
    const none = await runCli(['webhooks', 'test-status', '--config', configFile]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/run "cosell webhooks test" first/);
    const test = await runCli(['webhooks', 'test', '--config', configFile, '--json']);
    expect(test.code, test.stderr).toBe(0);
    const { correlationId } = JSON.parse(test.stdout) as { correlationId: string };
    const status = await waitFor('test event delivery', async () => {
      const s = await clients.webhooks.getTestEventStatus(correlationId);
      return s.results.length > 0 ? s : undefined;
    });
    expect(status.results[0]?.responseCode).toBe('OK');
    const cli = await runCli(['webhooks', 'test-status', correlationId, '--config', configFile]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/attempt 1: OK/);
    // Without an id: the test this installation requested last.
    const remembered = await runCli(['webhooks', 'test-status', '--config', configFile]);
    expect(remembered.code, remembered.stderr).toBe(0);
    expect(remembered.stdout).toContain(`Test event ${correlationId}`);
    expect(remembered.stdout).toMatch(/attempt 1: OK/);
    const stored = await events();
    expect(stored.some((e) => e.eventName === 'test-created')).toBe(true);
  }, 60_000);

  it('a referral shared by Microsoft arrives in /api/events, and so does a change', async () => {
    const started = Date.now();
    const created = (await (
      await fetch(`${sandbox.url}/_sandbox/referrals/incoming`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Flow test deal' }),
      })
    ).json()) as { id: string; engagementId: string };
    const arrived = await waitFor('referral-created', async () =>
      (await events(`&resourceId=${created.id}`)).find((e) => e.eventName === 'referral-created'),
    );
    expect(arrived.resourceId).toBe(created.id);
    // Speed is a benchmark's business, not a test's: this only reports how long the round trip took.
    console.info(`referral-created reached /api/events ${Date.now() - started} ms after the referral was shared`);

    const patched = await fetch(`${sandbox.url}/_sandbox/referrals/${created.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ details: { dealValue: 98765 } }),
    });
    expect(patched.ok).toBe(true);
    await waitFor('referral-updated', async () =>
      (await events(`&resourceId=${created.id}`)).find((e) => e.eventName === 'referral-updated'),
    );
  });

  it('our own API write raises referral-updated that the service verifies and stores', async () => {
    const [referral] = await (async () => {
      const out = [];
      for await (const r of clients.referrals.list({ top: 1 })) {
        out.push(r);
        break;
      }
      return out;
    })();
    expect(referral).toBeDefined();
    const id = referral?.id as string;
    const before = (await events(`&resourceId=${id}`)).length;
    const current = await clients.referrals.get(id);
    // The seeded invitation may be unanswered, and Partner Center takes no other edit before it is accepted: the
    // write accepts it along with the notes (the acceptance a partner would make before editing).
    const accept = [{ path: ['status'], value: 'Active' }, { path: ['substatus'], value: 'Accepted' }];
    await clients.referrals.patch(id, [...accept, { path: ['details', 'notes'], value: 'updated by cosell-sync test' }], {
      ifMatch: current.eTag,
    });
    await waitFor('referral-updated from our own write', async () => {
      const now = await events(`&resourceId=${id}`);
      return now.length > before ? now : undefined;
    });
    const reread = await clients.referrals.get(id);
    expect(reread.referral.details?.notes).toBe('updated by cosell-sync test');
    expect(reread.eTag).not.toBe(current.eTag);
    await expect(
      clients.referrals.patch(id, [{ path: ['details', 'notes'], value: 'stale write' }], { ifMatch: current.eTag }),
    ).rejects.toMatchObject({ status: 412 });
  });

  it('lists every referral exactly once across pages', async () => {
    const seed = await fetch(`${sandbox.url}/_sandbox/referrals/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 230 }),
    });
    expect(seed.ok).toBe(true);
    const ids: string[] = [];
    for await (const r of clients.referrals.list({})) ids.push(r.id as string);
    expect(ids.length).toBeGreaterThanOrEqual(230);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
