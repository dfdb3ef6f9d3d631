import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadinessReport } from '../../src/server/readiness.ts';
import { adminFetch } from '../support/admin.ts';
import { waitFor } from '../support/service-harness.ts';
import { freePort } from '../support/service-process.ts';
import { DualCrmHarness } from '../support/dual-crm-harness.ts';
import { PortGate } from '../support/port-gate.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { sqliteStoreConfig } from '../../src/config/schema.ts';

/** The service's log lines, parsed (the harness runs the service in-process with this logger). */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('a CRM that is down at start-up', () => {
  let h: SyncHarness;
  let gate: PortGate;
  const log = capturingLogger();

  beforeAll(async () => {
    gate = new PortGate(await freePort());
    // Two attempts before a dead letter: a job run against the refusing port would be dead-lettered within seconds.
    h = await SyncHarness.start({ serviceOrgUrl: () => `http://127.0.0.1:${gate.port}`, logger: log.logger, sync: { maxAttempts: 2 } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await gate?.close();
  });

  const readiness = async (): Promise<{ status: number; report: ReadinessReport }> => {
    const response = await adminFetch(`${h.adminUrl}/readyz`);
    return { status: response.status, report: (await response.json()) as ReadinessReport };
  };

  it('does not stop the service: the connection is unavailable, named in an error log line and in /readyz', async () => {
    expect(h.running).toBe(true);
    const line = log.lines.find((l) => l.level === 50 && l.connection === 'dynamics' && String(l.msg).includes('unavailable at start-up'));
    expect(line?.host).toBe(`127.0.0.1:${gate.port}`);
    const { status, report } = await readiness();
    expect(status).toBe(503);
    expect(report.connections.dynamics?.state).toBe('failing');
    expect(report.connections.dynamics?.lastFailure).toMatch(/^unavailable \(127\.0\.0\.1:\d+\)/);
  });

  it('takes in a Partner Center referral, keeps its job waiting without dead-lettering it, and links it once Dataverse answers', async () => {
    const referral = await h.incomingReferral({ name: 'Down at start deal', customerProfile: { name: 'Down At Start Customer', address: { postalCode: '30301' } } });
    await h.waitForWebhooks();
    const deliveries = (await h.pcDeliveries()).value;
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);
    // The job was claimed and put back more than maxAttempts times' worth of waiting, never counted as a failure.
    const db = new Database(String(sqliteStoreConfig(h.config.store, 'this test').path), { readonly: true, fileMustExist: true });
    try {
      const job = await waitFor('the referral job to be postponed', async () => {
        const row = db.prepare('SELECT attempts, last_error FROM jobs WHERE referral_id = ?').get(referral.id) as { attempts: number; last_error: string | null } | undefined;
        return row?.last_error?.startsWith('waiting for dynamics') ? row : undefined;
      });
      expect(job.attempts).toBe(0);
    } finally {
      db.close();
    }
    expect(await h.deadLetters()).toEqual([]);
    expect(await h.opportunityFor(referral.id)).toBeUndefined();

    await gate.open(h.dv.url);
    const opportunity = await waitFor('the referral linked in Dynamics', () => h.opportunityFor(referral.id), 90_000, 200);
    expect(opportunity.name).toContain('Down at start deal');
    await h.waitForIdle(60_000);
    expect(await h.deadLetters()).toEqual([]);
    const { report } = await readiness();
    expect(report.connections.dynamics?.lastFailure ?? '').not.toMatch(/^unavailable/);
    expect(log.lines.some((l) => l.connection === 'dynamics' && String(l.msg).startsWith('CRM available'))).toBe(true);
  }, 120_000);
});

describe('one CRM down at start-up, the other up', () => {
  let h: DualCrmHarness;
  let gate: PortGate;

  beforeAll(async () => {
    gate = new PortGate(await freePort());
    h = await DualCrmHarness.start({ serviceOrgUrl: () => `http://127.0.0.1:${gate.port}`, sync: { maxAttempts: 2 } });
  }, 90_000);
  afterAll(async () => {
    await h?.close();
    await gate?.close();
  });

  it('syncs the referral to Salesforce while Dynamics waits, then to Dynamics once it answers, with no dead letter', async () => {
    const referral = await h.incomingReferral({ name: 'Half down deal', customerProfile: { name: 'Half Down Customer', address: { postalCode: '30302' } } });
    await waitFor('the Salesforce opportunity of the referral', async () => (await h.sfOpportunities()).find((o) => o.Referral_Identifier__c === referral.id), 30_000);
    const inDynamics = async (): Promise<Record<string, unknown> | undefined> => (await h.dvOpportunities()).find((o) => o.cosell_referralidentifier === referral.id);
    expect(await inDynamics()).toBeUndefined();
    expect(await h.deadLetters()).toEqual([]);

    await gate.open(h.dv.url);
    await waitFor('the Dynamics opportunity of the referral', inDynamics, 90_000, 200);
    await h.waitForIdle(60_000);
    expect(await h.deadLetters()).toEqual([]);
  }, 150_000);
});
