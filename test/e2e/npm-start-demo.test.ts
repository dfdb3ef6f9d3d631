import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEAL_NAMES, DEMO_SOLUTION } from '../../src/cli/demo-deals.ts';
import { json, waitFor, type Row } from '../support/service-harness.ts';
import { makeTempDir } from '../support/tmp.ts';

/*
 * `npm start` (`cosell dev`) as a new user runs it, in an empty directory and on ports of its own (`--port-base`, never
 * the default 4100-4103/4180): the strict Partner Center sandbox, both CRMs, the service, and the seeded co-sell demo.
 */

const REPO = resolve(import.meta.dirname, '../..');

function portFree(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const server = createServer();
    server.once('error', () => answer(false));
    server.listen(port, '127.0.0.1', () => server.close(() => answer(true)));
  });
}

/** Five free ports in a row, away from the demo's defaults. */
async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const free = await Promise.all([0, 1, 2, 3, 4].map((offset) => portFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no five free ports in a row');
}

describe('npm start: the strict sandbox and the seeded co-sell demo in each CRM', () => {
  const tmp = makeTempDir();
  let child: ChildProcess;
  let base = 0;
  let output = '';
  const url = (offset: number) => `http://127.0.0.1:${base + offset}`;

  beforeAll(async () => {
    base = await freePortBase();
    child = spawn(process.execPath, [join(REPO, 'bin/cosell.js'), 'dev', '--port-base', String(base)], {
      cwd: tmp.path,
      env: { ...process.env, CI: 'true', COSELL_ADMIN_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor('cosell dev running', async () => output.includes('cosell-sync is running in sandbox mode'), 60_000);
  }, 90_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      child.kill('SIGTERM');
      // The service bounds its own graceful stop (30 s, then exit 1 naming the step still running): wait past that
      // bound, so a stop that hangs fails here with the service's own explanation rather than a hook timeout.
      const code = await exited;
      tmp.cleanup();
      const abandoned = output.split('\n').find((line) => line.includes('graceful stop abandoned'));
      expect(abandoned ?? 'graceful stop completed').toBe('graceful stop completed');
      expect(code).toBe(0);
      return;
    }
    tmp.cleanup();
  }, 45_000);

  const referrals = async (): Promise<Row[]> => (await json<{ value: Row[] }>(`${url(1)}/_sandbox/referrals`)).value;
  const solutionIds = (referral: Row | undefined): unknown[] =>
    ((referral?.details as { requirements?: { solutions?: Array<{ id?: unknown }> } } | undefined)?.requirements?.solutions ?? []).map((s) => s.id);

  it.each(['dynamics', 'salesforce'] as const)('%s: the co-sell deal with a solution is a Shared referral with Microsoft connected', async (crm) => {
    const partner = await waitFor('the demo co-sell referral', async () =>
      (await referrals()).find((r) => r.name === DEMO_DEAL_NAMES[crm].withSolution && r.organizationId !== 'msft'),
    );
    expect(partner).toMatchObject({ type: 'Shared', direction: 'Outgoing' });
    expect(solutionIds(partner)).toEqual([DEMO_SOLUTION.solutionId]);
    expect((await referrals()).some((r) => r.engagementId === partner.engagementId && r.organizationId === 'msft')).toBe(true);
  });

  it('each CRM shows the co-sell deal without a solution with ✖ and its Audit line, and Partner Center has none', async () => {
    const dynamics = await waitFor('the Dynamics deal with ✖', async () =>
      (await json<{ value: Row[] }>(`${url(2)}/_sandbox/records/opportunities`)).value.find((o) => String(o.name) === `${DEMO_DEAL_NAMES.dynamics.withoutSolution} ✖`),
    );
    expect(String(dynamics.cosell_audit)).toContain('add at least one Microsoft solution');
    const salesforce = await waitFor('the Salesforce deal with ✖', async () => {
      const body = await json<{ value?: Row[]; records?: Row[] }>(`${url(3)}/_sandbox/records/Opportunity`);
      return (body.value ?? body.records ?? []).find((o) => String(o.Name) === `${DEMO_DEAL_NAMES.salesforce.withoutSolution} ✖`);
    });
    expect(String(salesforce.Audit__c)).toContain('add at least one Microsoft solution');
    const names = (await referrals()).map((r) => r.name);
    expect(names).not.toContain(DEMO_DEAL_NAMES.dynamics.withoutSolution);
    expect(names).not.toContain(DEMO_DEAL_NAMES.salesforce.withoutSolution);
  });

  it('the Partner Center sandbox is strict: a co-sell referral without a solution is refused', async () => {
    const response = await fetch(`${url(1)}/v1.0/engagements/referrals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-token' },
      body: JSON.stringify({ name: 'No solution', type: 'Shared', customerProfile: { name: 'X', address: { country: 'US' } }, details: {}, consent: { consentToShareReferralWithMicrosoftSellers: true } }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Solution ID is required');
  });
});
