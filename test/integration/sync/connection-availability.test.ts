import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.ts';
import { CrmApiError } from '../../../src/crm/connector.ts';
import { TokenAcquisitionError } from '../../../src/http/tokens.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { ConnectionAvailability, isTransientStartupFailure } from '../../../src/sync/connection-availability.ts';
import { MappingError } from '../../../src/sync/mapping/index.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { makeTempDir } from '../../support/tmp.ts';

const refused = new CrmApiError('Dataverse GET EntityDefinitions failed (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1', undefined, 'ECONNREFUSED', true);

describe('connection availability', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('counts network errors, 5xx and 429 as transient; mapping, configuration and credential errors are not', () => {
    expect(isTransientStartupFailure(refused)).toBe(true);
    expect(isTransientStartupFailure(new CrmApiError('busy', 503, undefined, true))).toBe(true);
    expect(isTransientStartupFailure(new CrmApiError('throttled', 429, undefined, true, 1000))).toBe(true);
    expect(isTransientStartupFailure(new CrmApiError('unauthorized', 401, undefined, false))).toBe(false);
    expect(isTransientStartupFailure(new TokenAcquisitionError('invalid_client', 401, 'invalid_client'))).toBe(false);
    expect(isTransientStartupFailure(new MappingError([{ file: 'm.yaml', path: 'entities', reason: 'unknown column x' }]))).toBe(false);
    expect(isTransientStartupFailure(new ConfigError('cosell.yaml', 'dynamics.clientSecret', 'missing'))).toBe(false);
  });

  it('rethrows a non-transient start-up failure and marks a transient one unavailable, reported with its host', async () => {
    const reported = new Map<string, string | undefined>();
    const availability = new ConnectionAvailability({ logger: silentLogger(), reporter: { setUnavailable: (n, r) => reported.set(n, r) } });
    await expect(availability.checkAtStart('dynamics', 'org.example', () => Promise.reject(new CrmApiError('no', 401, undefined, false)))).rejects.toThrow('no');
    expect(availability.isAvailable('dynamics')).toBe(true);
    await availability.checkAtStart('dynamics', 'org.example', () => Promise.reject(refused));
    expect(availability.isAvailable('dynamics')).toBe(false);
    expect(reported.get('dynamics')).toMatch(/^unavailable \(org\.example\): .*ECONNREFUSED/);
  });

  it("postpones the unavailable connection's jobs without counting an attempt and hands out the others", async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'gate.db'), synchronous: 'normal' });
    const availability = new ConnectionAvailability({ logger: silentLogger() });
    await availability.checkAtStart('dynamics', 'org.example', () => Promise.reject(refused));
    await store.jobs.enqueue([
      { connection: 'dynamics', cause: 'event', referralId: 'r1' },
      { connection: 'salesforce', cause: 'event', referralId: 'r1' },
    ]);
    const claimed = await availability.gate(store.jobs).claim(10, 60_000);
    expect(claimed.map((j) => j.connection)).toEqual(['salesforce']);
    expect(await store.jobs.claim(10, 60_000)).toEqual([]);
    const [waiting] = await store.jobs.claim(10, 60_000, Date.now() + 10_000);
    expect(waiting?.connection).toBe('dynamics');
    expect(waiting?.attempts).toBe(0);
    expect(waiting?.lastError).toMatch(/^waiting for dynamics \(org\.example\)/);
    await store.close();
  });

  it('retries the check until the CRM answers, then starts the connection; a mapping error then keeps it unavailable', async () => {
    const policy = { baseDelayMs: 1, maxDelayMs: 2 };
    let mappingReported: () => void = () => undefined;
    const bGaveUp = new Promise<void>((resolve) => (mappingReported = resolve));
    const reporter = { setUnavailable: (name: string, reason: string | undefined) => (name === 'b' && reason?.includes('unknown column') ? mappingReported() : undefined) };
    const availability = new ConnectionAvailability({ logger: silentLogger(), policy, reporter });
    await availability.checkAtStart('a', 'a.example', () => Promise.reject(refused));
    await availability.checkAtStart('b', 'b.example', () => Promise.reject(refused));
    let calls = 0;
    const upA = new Promise<void>((resolve) =>
      availability.recover('a', async () => {
        calls += 1;
        if (calls < 3) throw refused;
      }, resolve),
    );
    await upA;
    expect(calls).toBe(3);
    expect(availability.isAvailable('a')).toBe(true);
    let started = false;
    let checkedB = 0;
    availability.recover('b', async () => {
      checkedB += 1;
      throw new MappingError([{ file: 'm.yaml', path: 'entities', reason: 'unknown column x' }]);
    }, () => (started = true));
    await bGaveUp;
    await availability.stop();
    expect(checkedB).toBe(1);
    expect(started).toBe(false);
    expect(availability.isAvailable('b')).toBe(false);
  });
});
