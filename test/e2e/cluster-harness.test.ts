import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterHarness } from '../support/cluster-harness.ts';
import { startBalancer, startRecorder } from '../support/cluster-http.ts';
import { freePort } from '../support/service-process.ts';
import { waitFor } from '../support/service-harness.ts';

/*
 * The cluster harness's own pieces, on what runs without a shared store: the balancer skips a backend that refuses
 * and forwards method, path, headers and body; a recorder logs what passes through it; and the whole harness with one
 * instance on SQLite syncs through them (webhooks via the balancer, vendor calls via the recorders), counts the writes
 * per record and sees the instance's CDC subscription and change-tracking passes.
 */

describe('the cluster balancer and recorders', () => {
  it('skip a refusing backend and forward method, path, headers and body', async () => {
    const seen: string[] = [];
    const backend = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['x-probe']} ${body}`);
        res.writeHead(201, { 'x-answer': 'yes' }).end('ok');
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const live = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const dead = `http://127.0.0.1:${await freePort()}`;
    const balancer = await startBalancer(() => [dead, live]);
    const recorder = await startRecorder(balancer.url);
    try {
      for (let i = 0; i < 4; i++) {
        const answer = await fetch(`${recorder.url}/hook/${i}?q=1`, { method: 'POST', headers: { 'x-probe': 'p' }, body: `body ${i}` });
        expect(answer.status).toBe(201);
        expect(answer.headers.get('x-answer')).toBe('yes');
        expect(await answer.text()).toBe('ok');
      }
      expect(seen).toEqual([0, 1, 2, 3].map((i) => `POST /hook/${i}?q=1 p body ${i}`));
      expect(balancer.served[0] ?? 0).toBe(0);
      expect(balancer.served[1]).toBe(4);
      expect(recorder.requests.map((r) => [r.method, r.path, r.body, r.status])).toEqual([0, 1, 2, 3].map((i) => ['POST', `/hook/${i}?q=1`, `body ${i}`, 201]));
    } finally {
      await recorder.close();
      await balancer.close();
      await new Promise((r) => backend.close(r));
    }
  });

  it('answer 503 when every backend refuses', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const balancer = await startBalancer(() => [nobody, nobody]);
    try {
      expect((await fetch(`${balancer.url}/x`, { method: 'POST', body: '{}' })).status).toBe(503);
    } finally {
      await balancer.close();
    }
  });
});

describe('the cluster harness with one instance (SQLite)', () => {
  let h: ClusterHarness;

  beforeAll(async () => {
    h = await ClusterHarness.start({ instances: 1, databaseUrl: 'sqlite', sync: { reconcileIntervalSeconds: 5, reconcileOnStart: true } });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('syncs through the balancer and the recorders, and sees who follows the CRMs', async () => {
    const referral = await h.incomingReferral({ name: 'Through the balancer' });
    await waitFor('the opportunity in both CRMs', async () => {
      const [dv, sf] = await Promise.all([h.dvOpportunities(), h.sfOpportunities()]);
      return dv.some((o) => o.cosell_referralidentifier === referral.id) && sf.some((o) => o.Referral_Identifier__c === referral.id);
    }, 60_000);
    await h.waitForIdle(60_000);
    expect(h.balancer.served[0]).toBeGreaterThan(0);
    const { dynamics: dvCreates, salesforce: sfCreates } = h.opportunityCreates(referral.id);
    expect(dvCreates).toHaveLength(1);
    expect(sfCreates).toHaveLength(1);
    expect([...h.writesPerRecord().values()].every((r) => r.instances.has(0))).toBe(true);
    expect(h.cdcSubscribers()).toEqual([0]);
    const since = Date.now();
    await waitFor('a change-tracking pass', async () => h.changeTrackers(since).length > 0, 30_000, 200);
    expect(h.changeTrackers(since)).toEqual([0]);

    // A SIGKILL: the subscription is gone; the restarted instance subscribes again.
    const killedAt = await h.killInstance(0);
    expect(h.cdcSubscribers()).toEqual([]);
    await h.startInstance(0);
    const again = await waitFor('a new CDC subscription', async () => {
      const first = h.firstCdcSubscribeAfter(killedAt, -1);
      return first;
    }, 30_000, 100);
    expect(again.instance).toBe(0);
    expect(await h.cdcLeader()).toBe(0);
  }, 180_000);
});
