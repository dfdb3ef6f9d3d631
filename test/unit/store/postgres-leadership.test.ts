import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket, connect as connectTcp } from 'node:net';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalLeadership } from '../../../src/store/leadership.ts';
import { PostgresLeadership } from '../../../src/store/postgres/leadership.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const RETRY_MS = 100;

/** Resolves when `condition` holds, polling; the test's own timeout is the only deadline (no timed assertion). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

/**
 * In-process instances, watched: after every change it records how many lead at once, so a test can assert that two
 * never did, and when each became leader (for the takeover figures).
 */
class Cluster {
  readonly instances: PostgresLeadership[] = [];
  maxLeaders = 0;
  lastElected: { index: number; at: number } | null = null;

  add(connection: string | pg.ClientConfig, name: string, options: { healthCheckMs?: number; timeoutMs?: number } = {}): PostgresLeadership {
    const index = this.instances.length;
    const instance = new PostgresLeadership({ connection, log: silentLogger(), retryMs: RETRY_MS, applicationName: name, ...options });
    instance.onChange((leader) => {
      if (leader) this.lastElected = { index, at: performance.now() };
      this.maxLeaders = Math.max(this.maxLeaders, this.leaders().length);
    });
    this.instances.push(instance);
    return instance;
  }

  leaders(): PostgresLeadership[] {
    return this.instances.filter((instance) => instance.isLeader);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.stop()));
  }
}

describe('LocalLeadership', () => {
  it('leads from start to stop, and says so to its listeners', async () => {
    const leadership = new LocalLeadership();
    const heard: boolean[] = [];
    const unsubscribe = leadership.onChange((leader) => heard.push(leader));
    expect(leadership.isLeader).toBe(false);
    await leadership.start();
    expect(leadership.isLeader).toBe(true);
    await leadership.stop();
    unsubscribe();
    await leadership.start();
    expect(heard).toEqual([true, false]);
  });
});

describe('PostgresLeadership', () => {
  let database: TestDatabase;
  let cluster: Cluster;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('cosell_leadership');
  });
  afterEach(async () => {
    await cluster.stopAll();
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('lets exactly one of three instances lead, and hands over when it stops', async () => {
    cluster = new Cluster();
    const instances = [cluster.add(database.url, 'a'), cluster.add(database.url, 'b'), cluster.add(database.url, 'c')];
    await Promise.all(instances.map((instance) => instance.start()));
    expect(cluster.leaders()).toHaveLength(1);
    const first = cluster.leaders()[0]!;

    const stoppedAt = performance.now();
    await first.stop();
    await until(() => cluster.leaders().length === 1);
    console.log(`leadership takeover after a clean stop: ${(cluster.lastElected!.at - stoppedAt).toFixed(0)} ms (retryMs ${RETRY_MS})`);
    expect(cluster.leaders()[0]).not.toBe(first);
    expect(first.isLeader).toBe(false);
    expect(cluster.maxLeaders).toBe(1);
  });

  it('hands over when the leader process is SIGKILLed', async () => {
    cluster = new Cluster();
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/support/leadership-child.ts'), database.url, String(RETRY_MS)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('exit', (code) => {
      if (code !== null && code !== 0) output += `exited ${code}: ${errors}`;
    });
    await until(() => output.includes('leader true') || output.includes('exited'));
    expect(output).toBe('leader true\n');

    const followers = [cluster.add(database.url, 'b'), cluster.add(database.url, 'c')];
    await Promise.all(followers.map((instance) => instance.start()));
    expect(cluster.leaders()).toHaveLength(0);

    const killedAt = performance.now();
    child.kill('SIGKILL');
    await until(() => cluster.leaders().length === 1);
    console.log(`leadership takeover after SIGKILL of the leader: ${(cluster.lastElected!.at - killedAt).toFixed(0)} ms (retryMs ${RETRY_MS})`);
    expect(cluster.maxLeaders).toBe(1);
  });

  it('steps down at once when its connection is terminated, then campaigns again', async () => {
    cluster = new Cluster();
    const a = cluster.add(database.url, 'leader-a');
    await a.start();
    const b = cluster.add(database.url, 'follower-b');
    await b.start();
    expect(a.isLeader).toBe(true);
    const heard: boolean[] = [];
    a.onChange((leader) => heard.push(leader));

    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const cutAt = performance.now();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'leader-a'`);
    await admin.end();

    await until(() => heard.includes(false));
    await until(() => cluster.leaders().length === 1);
    console.log(`leadership takeover after the leader's backend was terminated: ${(cluster.lastElected!.at - cutAt).toFixed(0)} ms`);
    expect(heard[0]).toBe(false);
    expect(cluster.maxLeaders).toBe(1);
    // The one that lost its connection reconnected and is a candidate again: it leads, or takes over from b.
    if (!a.isLeader) {
      await b.stop();
      await until(() => a.isLeader);
    }
    expect(cluster.maxLeaders).toBe(1);
  });

  it('steps down when its connection goes silent (no error, no answer), before anyone else can lead', async () => {
    cluster = new Cluster();
    const target = new URL(database.url);
    const proxy = await silenceableProxy(target.hostname, Number(target.port || 5432));
    try {
      const viaProxy = new URL(database.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const a = cluster.add(viaProxy.toString(), 'silent-a', { healthCheckMs: RETRY_MS, timeoutMs: 500 });
      await a.start();
      const b = cluster.add(database.url, 'follower-b');
      await b.start();
      expect(a.isLeader).toBe(true);

      const silencedAt = performance.now();
      proxy.silence();
      await until(() => !a.isLeader);
      const steppedDown = performance.now();
      await until(() => b.isLeader);
      console.log(
        `silent connection: leader stepped down after ${(steppedDown - silencedAt).toFixed(0)} ms, follower led after ${(cluster.lastElected!.at - silencedAt).toFixed(0)} ms`,
      );
      expect(cluster.maxLeaders).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});

/**
 * A TCP proxy in front of PostgreSQL that can go silent: after `silence()` it forwards no byte either way but keeps
 * every socket open (a frozen network path), and still passes on a close from the client side, as the kernel would
 * once the instance destroys its socket.
 */
async function silenceableProxy(host: string, port: number): Promise<{ port: number; silence: () => void; close: () => Promise<void> }> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connectTcp(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk) => {
      if (!silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!silent) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!silent) client.destroy();
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    silence: () => {
      silent = true;
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveClose());
      }),
  };
}
