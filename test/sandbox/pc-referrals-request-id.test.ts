import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { makeTempDir } from '../support/tmp.ts';
import { clone, DOC_CREATE_REQUEST } from './helpers/doc-samples.ts';
import { startSandbox, type Json, type SandboxClient } from './helpers/sandbox-client.ts';

/*
 * MS-RequestId is the create's idempotency key (Partner Center Swagger: "reuse on timeout retry"): the same key is the
 * same create, answered with the first referral. The store hands out one key per CRM record until its link commits, so
 * a create repeated after a crash reuses it.
 */

const REFERRALS = '/v1.0/engagements/referrals';

describe('referral creates keyed by MS-RequestId', () => {
  let client: SandboxClient;
  const tmp = makeTempDir();

  beforeAll(async () => {
    client = await startSandbox({ organization: { id: '11111111-2222-3333-4444-555555555555', name: 'Sandbox Partner' } });
  });
  afterAll(async () => {
    await client.sandbox.close();
    tmp.cleanup();
  });

  it('answers a repeated MS-RequestId with the first referral, and a new key with a new one', async () => {
    const body = clone(DOC_CREATE_REQUEST);
    const first = await client.api<Json>('POST', REFERRALS, body, { 'ms-requestid': 'create-key-1' });
    const again = await client.api<Json>('POST', REFERRALS, { ...body, name: 'changed meanwhile' }, { 'ms-requestid': 'create-key-1' });
    const other = await client.api<Json>('POST', REFERRALS, body, { 'ms-requestid': 'create-key-2' });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    expect(other.json.id).not.toBe(first.json.id);
    const listed = await client.api<{ value: Json[] }>('GET', REFERRALS);
    expect(listed.json.value.filter((r) => r.id === first.json.id)).toHaveLength(1);
  });

  it('keeps one create key per CRM record until the record is linked', async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'keys.db'), synchronous: 'normal' });
    const key = await store.sync.createKey('salesforce', 'opportunity', '006A');
    expect(await store.sync.createKey('salesforce', 'opportunity', '006A')).toBe(key);
    expect(await store.sync.createKey('dynamics', 'opportunity', '006A')).not.toBe(key);
    await store.sync.commit({
      link: { connection: 'salesforce', referralId: 'r1', crmEntity: 'opportunity', crmId: '006A', base: {}, pcEtag: null, crmVersion: null, syncState: 'ok', lastError: null },
      audit: [],
      holdConflicts: [],
      releaseConflicts: [],
    });
    expect(await store.sync.createKey('salesforce', 'opportunity', '006A')).not.toBe(key);
    await store.close();
  });
});
