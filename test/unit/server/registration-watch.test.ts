import { describe, expect, it } from 'vitest';
import { Alerter } from '../../../src/server/alerts/alerter.ts';
import { RegistrationWatch, type RegistrationSource } from '../../../src/server/console/registration-watch.ts';
import { Readiness } from '../../../src/server/readiness.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { silentLogger } from '../../../src/util/logger.ts';

/* Partner Center's one webhook registration per tenant: ours, missing, or taken by another tool. */

const sourceAnswering = (answers: Array<{ webhookUrl: string } | null | Error>): RegistrationSource => ({
  async getRegistration() {
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return next ?? null;
  },
});

describe('RegistrationWatch', () => {
  it('compares with server.publicUrl when set, else with our path and port', () => {
    const withPublic = new RegistrationWatch(sourceAnswering([]), 'https://cosell.example.com/', 4100, silentLogger());
    expect(withPublic.isOurs('https://cosell.example.com/webhooks/partner-center')).toBe(true);
    expect(withPublic.isOurs('https://other.example.com/webhooks/partner-center')).toBe(false);
    const withoutPublic = new RegistrationWatch(sourceAnswering([]), undefined, 4100, silentLogger());
    expect(withoutPublic.isOurs('http://10.0.0.5:4100/webhooks/partner-center')).toBe(true);
    expect(withoutPublic.isOurs('http://10.0.0.5:4100/other-tool/hook')).toBe(false);
    expect(withoutPublic.isOurs('https://10.0.0.5/webhooks/partner-center')).toBe(false);
    expect(withoutPublic.isOurs('not a url')).toBe(false);
  });

  it('reports ours, elsewhere, missing and a failed check, and the alerter announces each change once', async () => {
    const watch = new RegistrationWatch(
      sourceAnswering([{ webhookUrl: 'https://cosell.example.com/webhooks/partner-center' }, { webhookUrl: 'https://other-tool.example/hook' }, null, new Error('HTTP 503')]),
      'https://cosell.example.com',
      4100,
      silentLogger(),
    );
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const alerter = new Alerter({ store, readiness: new Readiness(store, ':memory:', {}), webhookUrls: [], connectionFailingMs: 0, logger: silentLogger(), registration: () => watch.state });
    const pendingAfterCollect = () => alerter.collect();
    expect(watch.state).toMatchObject({ status: 'unknown', checkedAt: null });
    expect(await pendingAfterCollect()).toEqual([]);

    expect(await watch.check()).toMatchObject({ status: 'ours', error: null, checkedAt: expect.any(String) });
    expect(await pendingAfterCollect()).toEqual([]);
    expect(await watch.check()).toMatchObject({ status: 'elsewhere', url: 'https://other-tool.example/hook' });
    expect(await pendingAfterCollect()).toEqual([expect.stringContaining('points elsewhere (https://other-tool.example/hook)')]);
    expect(await pendingAfterCollect()).toEqual([]);
    expect(await watch.check()).toMatchObject({ status: 'missing', url: null });
    expect(await pendingAfterCollect()).toEqual([expect.stringContaining('registration is missing')]);
    expect(await watch.check()).toMatchObject({ status: 'unknown', error: 'HTTP 503' });
    expect(await pendingAfterCollect()).toEqual([]);
    await store.close();
  });
});
