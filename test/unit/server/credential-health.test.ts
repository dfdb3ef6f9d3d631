import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Alerter } from '../../../src/server/alerts/alerter.ts';
import { credentialHealth } from '../../../src/server/console/credential-health.ts';
import { overviewSection } from '../../../src/server/console/views.ts';
import { buildOverview } from '../../../src/server/console/overview.ts';
import { Readiness } from '../../../src/server/readiness.ts';
import { SealedRefreshTokenVault, PARTNER_CENTER_REFRESH_TOKEN } from '../../../src/http/refresh-token-vault.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { silentLogger } from '../../../src/util/logger.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const TOKEN = 'rotated-refresh-token-value';

/* Partner Center's refresh token on the overview card and in the alerts: 90-day inactivity, refusals explained. */

describe('credential health', () => {
  it('counts down the 90 days from the last use and warns under the configured margin', async () => {
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const vault = new SealedRefreshTokenVault({ records: store.credentials, key: randomBytes(32), now: () => T0 });
    await vault.exchanged(TOKEN, 'configured');
    const record = await store.credentials.get(PARTNER_CENTER_REFRESH_TOKEN);
    expect(JSON.stringify(record)).not.toContain(TOKEN);
    expect(credentialHealth(record, 14, null, T0 + 10 * DAY)).toMatchObject({
      lastUsedAt: '2026-01-01T00:00:00.000Z',
      rotatedAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-04-01T00:00:00.000Z',
      daysLeft: 80,
      expiringSoon: false,
      problem: null,
    });
    expect(credentialHealth(record, 14, null, T0 + 77 * DAY)).toMatchObject({ daysLeft: 13, expiringSoon: true });
    expect(credentialHealth(record, 30, null, T0 + 61 * DAY)).toMatchObject({ daysLeft: 29, expiringSoon: true });
    expect(credentialHealth(undefined, 14, null, T0)).toMatchObject({ lastUsedAt: null, daysLeft: null, expiringSoon: false });
  });

  it("explains a refused exchange and Partner Center's 900421 answer on the card", async () => {
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const vault = new SealedRefreshTokenVault({ records: store.credentials, key: undefined });
    await vault.refused('Entra refresh-token exchange failed: invalid_grant: AADSTS700082: The refresh token has expired due to inactivity.');
    const readiness = new Readiness(store, ':memory:', { 'partner-center': 'referrals' });
    const overview = await buildOverview(store, undefined, readiness, undefined, 14);
    const card = overview.connections.find((c) => c.kind === 'partner-center');
    expect(card?.credential?.problem).toMatch(/90 days without use \(AADSTS700082\): run `cosell init` again/);
    expect(overviewSection(overview, [], []).toString()).toMatch(/Refresh token<\/dt><dd><span class="err">[^<]*AADSTS700082/);
    // Sandbox tokens: no refresh token to watch, no card line.
    expect((await buildOverview(store, undefined, readiness)).connections.find((c) => c.kind === 'partner-center')?.credential).toBeNull();
    expect(credentialHealth(undefined, 14, 'GET /v1.0/engagements/referrals: 401 900421 MFA required')?.problem).toMatch(/no multifactor authentication claim/);
  });

  it('alerts once per problem and once per near expiry date', async () => {
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    let now = T0;
    const vault = new SealedRefreshTokenVault({ records: store.credentials, key: randomBytes(32), now: () => now });
    await vault.exchanged(TOKEN, 'configured');
    const alerter = new Alerter({
      store,
      readiness: new Readiness(store, ':memory:', {}),
      webhookUrls: [],
      connectionFailingMs: 0,
      logger: silentLogger(),
      credential: async () => credentialHealth(await store.credentials.get(PARTNER_CENTER_REFRESH_TOKEN), 14, null, now),
    });
    expect(await alerter.collect()).toEqual([]);
    now = T0 + 80 * DAY;
    expect(await alerter.collect()).toEqual([expect.stringMatching(/expires by inactivity on 2026-04-01T00:00:00.000Z \(10 days left\)/)]);
    now += DAY;
    expect(await alerter.collect()).toEqual([]);
    await vault.refused('invalid_grant: AADSTS50076: you must use multi-factor authentication');
    const [line, ...rest] = await alerter.collect();
    expect(rest).toEqual([]);
    expect(line).toMatch(/requires multifactor authentication .*AADSTS50076.*cosell init/);
    expect(line).not.toContain(TOKEN);
    expect(await alerter.collect()).toEqual([]);
    // A later successful exchange clears the problem and resets the countdown: nothing more to say.
    await vault.exchanged(TOKEN, 'configured');
    expect(await alerter.collect()).toEqual([]);
  });
});
