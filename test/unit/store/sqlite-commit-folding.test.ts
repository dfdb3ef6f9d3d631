import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Job, SyncCommit, WriteIntent } from '../../../src/store/types.ts';
import { makeTempDir } from '../../support/tmp.ts';

/*
 * A sync on SQLite writes its intent and its commit, and nothing else: the claim is a lease in memory and the commit
 * completes the job. These cases "crash" the process between the steps (the store is closed without the steps that
 * follow, and opened again as a restarted service opens it) and check that what is left is what the next run needs.
 */

const request = { connection: 'dynamics', cause: 'event' as const, referralId: 'r1' };

const intent: WriteIntent = { connection: 'dynamics', referralId: 'r1', crmEntity: 'opportunity', base: { dealValue: 1 }, toCrm: { dealValue: 2 }, toPc: {} };

const commitOf = (completes?: Job): SyncCommit => ({
  link: { connection: 'dynamics', referralId: 'r1', crmEntity: 'opportunity', crmId: 'o1', base: { dealValue: 2 }, pcEtag: 'e2', crmVersion: 'v2', syncState: 'ok', lastError: null },
  audit: [],
  holdConflicts: [],
  releaseConflicts: [],
  ...(completes ? { completes } : {}),
});

describe('SQLite: the commits of one sync, and crashes between them', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  const path = () => join(tmp.path, `fold-${++n}.db`);
  const open = (file: string) => SqliteStore.open({ path: file, synchronous: 'full' });

  async function claimOne(store: SqliteStore): Promise<Job> {
    const [job] = await store.jobs.claim(1, 60_000);
    if (!job) throw new Error('nothing was claimed');
    return job;
  }

  it('a sync that writes costs two commits: its intent, and the commit that also completes its job', async () => {
    const store = open(path());
    await store.jobs.enqueue([request]);
    const before = store.writeCommits;
    const job = await claimOne(store);
    expect(store.writeCommits - before).toBe(0);
    await store.sync.recordIntents([intent]);
    await store.sync.commit(commitOf(job));
    await store.jobs.complete(job);
    expect(store.writeCommits - before).toBe(2);
    expect(await store.jobs.depth()).toBe(0);
    await store.close();
  });

  it('a crash after the claim, or after the intent, leaves the job to run again at once, with the intent', async () => {
    const file = path();
    const store = open(file);
    await store.jobs.enqueue([request]);
    const job = await claimOne(store);
    await store.sync.recordIntents([intent]);
    await store.close();

    const restarted = open(file);
    const again = await claimOne(restarted);
    expect(again).toMatchObject({ key: job.key, generation: job.generation, attempts: 0 });
    expect(await restarted.sync.getIntent('dynamics', 'r1', 'opportunity')).toEqual(intent);
    await restarted.close();
  });

  it('a crash right after the commit that completed the job leaves nothing to run again, and the pair committed', async () => {
    const file = path();
    const store = open(file);
    await store.jobs.enqueue([request]);
    const job = await claimOne(store);
    await store.sync.recordIntents([intent]);
    await store.sync.commit(commitOf(job));
    await store.close();

    const restarted = open(file);
    expect(await restarted.jobs.depth()).toBe(0);
    expect((await restarted.sync.getLink('dynamics', 'r1'))?.crmVersion).toBe('v2');
    expect(await restarted.sync.getIntent('dynamics', 'r1', 'opportunity')).toBeNull();
    await restarted.close();
  });

  it('a job enqueued again while it ran still runs again after a crash right after its commit', async () => {
    const file = path();
    const store = open(file);
    await store.jobs.enqueue([request]);
    const job = await claimOne(store);
    await store.sync.recordIntents([intent]);
    await store.jobs.enqueue([request]);
    await store.sync.commit(commitOf(job));
    // Still the running job's until the worker completes it: the rerun is not claimed twice meanwhile.
    expect(await store.jobs.claim(1, 60_000)).toEqual([]);
    await store.close();

    const restarted = open(file);
    const rerun = await claimOne(restarted);
    expect(rerun).toMatchObject({ key: job.key, generation: job.generation + 1, attempts: 0 });
    await restarted.close();
  });

  it('without a crash, the rerun is claimed once the worker completes the run its commit completed', async () => {
    const store = open(path());
    await store.jobs.enqueue([request]);
    const job = await claimOne(store);
    await store.jobs.enqueue([request]);
    await store.sync.commit(commitOf(job));
    const before = store.writeCommits;
    await store.jobs.complete(job);
    expect(store.writeCommits - before).toBe(0);
    expect(await claimOne(store)).toMatchObject({ generation: job.generation + 1 });
    await store.close();
  });

  it('a failure after the commit that completed the job is retried, not lost', async () => {
    const store = open(path());
    await store.jobs.enqueue([request]);
    const now = Date.now();
    const [job] = await store.jobs.claim(1, 60_000, now);
    await store.sync.commit(commitOf(job));
    await store.jobs.retry(job!, 'HTTP 503 after the commit', 1_000, now);
    expect(await store.jobs.claim(1, 60_000, now)).toEqual([]);
    const [retried] = await store.jobs.claim(1, 60_000, now + 1_000);
    expect(retried).toMatchObject({ key: job!.key, attempts: 1, lastError: 'HTTP 503 after the commit' });
    await store.close();
  });

  it("the commit that completes the job resolves the pair's dead letters, unless it leaves the pair in error", async () => {
    const store = open(path());
    await store.jobs.enqueue([request]);
    await store.jobs.deadLetter(await claimOne(store), 'HTTP 400');
    await store.jobs.enqueue([request]);
    const failing = await claimOne(store);
    await store.sync.commit({ ...commitOf(failing), link: { ...commitOf().link, syncState: 'error', lastError: 'gone' } });
    await store.jobs.complete(failing);
    expect(await store.sync.deadLetters({ open: true, limit: 10 })).toHaveLength(1);
    await store.jobs.enqueue([request]);
    const job = await claimOne(store);
    await store.sync.commit(commitOf(job));
    expect(await store.sync.deadLetters({ open: true, limit: 10 })).toEqual([]);
    await store.jobs.complete(job);
    await store.close();
  });
});
