import { afterAll, describe, expect, it } from 'vitest';
import { buildOverview } from '../../../src/server/console/overview.ts';
import { overviewSection } from '../../../src/server/console/views.ts';
import { Readiness } from '../../../src/server/readiness.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Engine } from '../../../src/sync/engine.ts';

/* The overview's API budgets: Dataverse's 5-minute limit against our calls, Salesforce's daily allocation as reported. */

describe('the overview API budgets', () => {
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  afterAll(() => store.close());

  it("shows Salesforce's reported daily allocation, red past 80 %, and Dataverse's calls against 6,000 per 5 min", async () => {
    const readiness = new Readiness(store, ':memory:', { 'partner-center': 'referrals', salesforce: 'salesforce', dynamics: 'dataverse' });
    for (let i = 0; i < 12; i++) readiness.recordCall({ api: 'dataverse', status: 200 });
    readiness.recordCall({ api: 'salesforce', status: 200 });
    // Only what the overview reads of the engine: each connection's connector.
    const usage = { used: 13_000, max: 15_000, window: '24 h' };
    const engine = { connections: new Map([['salesforce', { connector: { apiUsage: () => usage } }]]), worker: { inFlight: 0 } } as unknown as Engine;
    const overview = await buildOverview(store, engine, readiness);
    const card = (name: string) => overview.connections.find((c) => c.name === name);
    expect(card('salesforce')?.budget).toEqual({ used: 13_000, limit: 15_000, window: '24 h', source: 'Sforce-Limit-Info (daily API allocation)' });
    expect(card('dynamics')?.budget).toMatchObject({ used: 12, limit: 6_000, window: '5 min' });
    expect(card('partner-center')?.budget).toBeNull();
    const text = overviewSection(overview, [], []).toString();
    expect(text).toContain('<span class="err" title="Sforce-Limit-Info (daily API allocation)">13,000 of 15,000 per 24 h (87 %)</span>');
    expect(text).toContain('12 of 6,000 per 5 min (0 %)');
  });

  it('shows no Salesforce budget before an answer reported one', async () => {
    const readiness = new Readiness(store, ':memory:', { salesforce: 'salesforce' });
    const engine = { connections: new Map([['salesforce', { connector: { apiUsage: () => undefined } }]]), worker: { inFlight: 0 } } as unknown as Engine;
    expect((await buildOverview(store, engine, readiness)).connections[0]?.budget).toBeNull();
  });
});
