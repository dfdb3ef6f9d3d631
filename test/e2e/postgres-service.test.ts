import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { adminFetch, ADMIN_TOKEN, ADMIN_TOKEN_ENV } from '../support/admin.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { waitFor } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';

/*
 * `cosell start` with store.driver postgres, as a child process on a database of its own, against the Partner Center
 * and Dataverse sandboxes: a referral shared by Microsoft reaches the CRM, the operator commands read that database
 * through the running service, `cosell backup` refuses with exit 2, /readyz names the driver (never the password),
 * and /healthz fails once the database is gone.
 */
describe('cosell start on PostgreSQL', () => {
  const tmp = makeTempDir('cosell-pg-service-');
  let database: TestDatabase;
  let harness: SyncHarness;
  let client: pg.Client;
  let configFile = '';

  beforeAll(async () => {
    database = await createTestDatabase('cosell_service');
    const urlFile = join(tmp.path, 'database-url');
    writeFileSync(urlFile, `${database.url}\n`);
    harness = await SyncHarness.start({ mode: 'child', logLevel: 'info', store: { driver: 'postgres', url: { file: urlFile } } });
    configFile = join(harness.dir, 'cosell.yaml');
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await harness?.close();
    await database?.drop();
    tmp.cleanup();
  });

  const cli = (args: string[]) => runCli([...args, '--config', configFile], { cwd: harness.dir, env: { [ADMIN_TOKEN_ENV]: ADMIN_TOKEN } });

  it('syncs a webhook referral to the CRM, with the link in PostgreSQL', async () => {
    const referral = await harness.incomingReferral({ name: 'Contoso on PostgreSQL' });
    const opportunity = await waitFor('the opportunity in Dataverse', () => harness.opportunityFor(referral.id), 30_000).catch((error: unknown) => {
      // What the service said is the first thing to read when this fails.
      throw new Error(`${(error as Error).message}\n${harness.process?.stdout().slice(-4000) ?? ''}\n${harness.process?.stderr().slice(-2000) ?? ''}`);
    });
    expect(String(opportunity.name)).toContain('Contoso on PostgreSQL');
    // The link is committed after the CRM answered the create.
    const rows = await waitFor('the link in PostgreSQL', async () => {
      const result = await client.query<{ crm_id: string }>('SELECT crm_id FROM links WHERE referral_id = $1', [referral.id]);
      return result.rows.length > 0 ? result.rows : undefined;
    });
    expect(rows.map((row) => row.crm_id)).toEqual([String(opportunity.opportunityid)]);
    const status = await cli(['status', '--json']);
    expect((JSON.parse(status.stdout) as { lastSync: string | null }).lastSync).not.toBeNull();
    expect(harness.process?.stdout()).toMatch(/"storeDriver":"postgres"/);
    // The start-up line names the server and database, never the URL (nor a password, were there one).
    expect(harness.process?.stdout()).toContain(`"store":"${new URL(database.url).host}${new URL(database.url).pathname}"`);
    expect(harness.process?.stdout()).not.toContain(database.url);
  }, 60_000);

  it('answers status and conflicts from the PostgreSQL store', async () => {
    await client.query(
      `INSERT INTO conflicts (connection, referral_id, field, base_value, pc_value, crm_value, detected_at)
       VALUES ('dynamics', 'ref-held', 'amount', '"1"', '"2"', '"3"', $1)`,
      [new Date().toISOString()],
    );
    const status = await cli(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ connections: ['dynamics'], heldConflicts: 1 });
    const conflicts = await cli(['conflicts', '--json']);
    expect(conflicts.code, conflicts.stderr).toBe(0);
    expect((JSON.parse(conflicts.stdout) as { referralId: string; field: string }[]).map((c) => [c.referralId, c.field])).toEqual([['ref-held', 'amount']]);
  }, 30_000);

  it('refuses cosell backup with exit 2, naming store.driver and pg_dump', async () => {
    const result = await cli(['backup', join(tmp.path, 'copy.db')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('store.driver');
    expect(result.stderr).toContain('pg_dump');
    expect(result.stderr).toContain('pg_restore');
  });

  it('names the driver in /readyz, and /healthz fails when the database is unreachable', async () => {
    const report = (await (await adminFetch(`${harness.adminUrl}/readyz`)).json()) as { store: string; storeDriver: string; storeLocation: string; leader: boolean };
    expect(report).toMatchObject({ store: 'writable', storeDriver: 'postgres', leader: true, storeLocation: `${new URL(database.url).host}${new URL(database.url).pathname}` });
    expect((await fetch(`${harness.url}/healthz`)).status).toBe(200);

    await client.end();
    await database.drop();
    const health = await waitFor('/healthz to fail', async () => {
      const response = await fetch(`${harness.url}/healthz`);
      return response.status === 503 ? response : undefined;
    });
    expect(await health.json()).toEqual({ status: 'unavailable' });
    const readiness = (await (await adminFetch(`${harness.adminUrl}/readyz`)).json()) as { store: string };
    expect(readiness.store).toBe('unavailable');
  }, 30_000);
});

describe('cosell start with invalid PostgreSQL settings', () => {
  const tmp = makeTempDir('cosell-pg-config-');
  afterAll(() => tmp.cleanup());

  const start = async (store: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    const file = join(tmp.path, `config-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      stringify({
        server: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0, auth: 'none' },
        store,
        log: { level: 'silent' },
        partnerCenter: { referralsApiUrl: 'http://127.0.0.1:9', webhooksApiUrl: 'http://127.0.0.1:9', webhooks: { certificateHosts: ['127.0.0.1:9'] } },
      }),
    );
    return { ...(await runCli(['start', '--config', file], { cwd: tmp.path, env })), file };
  };

  it('exits 2 naming store.url when its secret is not set', async () => {
    const result = await start({ driver: 'postgres', url: 'env:COSELL_TEST_UNSET_DATABASE_URL' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('store.url');
    expect(result.stderr).toContain(result.file);
  });

  it('exits 2 naming store.url when it is not a postgres:// URL, without echoing it', async () => {
    const result = await start({ driver: 'postgres', url: 'env:COSELL_TEST_DATABASE_URL_BAD' }, { COSELL_TEST_DATABASE_URL_BAD: 'mysql://root:hunter2@db/cosell' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('store.url');
    expect(result.stderr).not.toContain('hunter2');
  });

  it('exits 2 naming store.ssl.ca when the CA file cannot be read', async () => {
    const result = await start(
      { driver: 'postgres', url: 'env:COSELL_TEST_DATABASE_URL_CA', ssl: { mode: 'verify-full', ca: join(tmp.path, 'missing-ca.pem') } },
      { COSELL_TEST_DATABASE_URL_CA: 'postgres://cosell@db.example.invalid/cosell' },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('store.ssl.ca');
  });

  it('exits 2 naming store.pool.max when it is below 2', async () => {
    const result = await start({ driver: 'postgres', url: 'env:X', pool: { max: 1 } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('store.pool.max');
  });
});
