import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { partnerCenterClients } from '../../src/partner-center/from-config.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { openDatabase } from '../../src/store/sqlite/driver.ts';
import { PARTNER_CENTER_REFRESH_TOKEN } from '../../src/http/refresh-token-vault.ts';
import { makeTempDir } from '../support/tmp.ts';
import { FAKE_ENTRA_HOST, fakeEntraDiscovery } from '../support/fake-entra.ts';

/*
 * Entra's refresh-token rotation against the Partner Center sandbox's token route (a new refresh token per exchange,
 * the old one still accepted, as Entra does) in strict mode, so only the access tokens it issued open the API. MSAL
 * refuses non-https authorities, so its documented network-client hook forwards the token request to the sandbox;
 * everything else (MSAL, the vault, the store file, the Referrals client) is the service's own code.
 */

const CONFIGURED = 'configured-refresh-token-from-cosell-init';
const KEY_ENV = 'COSELL_TEST_TOKEN_KEY';
const CONFIGURED_ENV = 'COSELL_TEST_REFRESH_TOKEN';
const SECRET_ENV = 'COSELL_TEST_CLIENT_SECRET';
const HOST = FAKE_ENTRA_HOST;

/** Forwards MSAL's token requests to the sandbox; records the refresh tokens presented and returned; refuses those listed. */
function entraViaSandbox(sandbox: PartnerCenterSandbox) {
  const presented: string[] = [];
  const returned: string[] = [];
  const refused = new Set<string>();
  const client: INetworkModule = {
    sendGetRequestAsync: (url) => fakeEntraDiscovery(url),
    async sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
      const form = new URLSearchParams(options?.body ?? '');
      const refreshToken = form.get('refresh_token') ?? '';
      presented.push(refreshToken);
      if (refused.has(refreshToken)) {
        const body = { error: 'invalid_grant', error_description: 'AADSTS700082: The refresh token has expired due to inactivity.' };
        return { status: 400, headers: {}, body: body as T };
      }
      const response = await fetch(`${sandbox.url}${new URL(url).pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: options?.body ?? '',
      });
      const body = (await response.json()) as { refresh_token?: string };
      if (body.refresh_token) returned.push(body.refresh_token);
      return { status: response.status, headers: {}, body: body as T };
    },
  };
  return { client, presented, returned, refused };
}

describe('Entra refresh-token rotation, kept sealed in the store', () => {
  const dir = makeTempDir();
  const storePath = join(dir.path, 'cosell.db');
  let sandbox: PartnerCenterSandbox;
  let entra: ReturnType<typeof entraViaSandbox>;
  /** Every log line the runs wrote (debug and up): no refresh token may appear in any. */
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

  const config = (withKey = true): Config['partnerCenter'] =>
    configSchema.parse({
      partnerCenter: {
        referralsApiUrl: sandbox.url,
        webhooksApiUrl: sandbox.url,
        auth: {
          mode: 'entra',
          tenantId: 'contoso.onmicrosoft.com',
          clientId: 'client-id',
          clientSecret: `env:${SECRET_ENV}`,
          refreshToken: `env:${CONFIGURED_ENV}`,
          authorityHost: HOST,
          ...(withKey ? { tokenEncryptionKey: `env:${KEY_ENV}` } : {}),
        },
      },
    }).partnerCenter;

  /** One "run" of the service: open the store, make one authenticated Referrals call, close. */
  async function run(withKey = true): Promise<void> {
    const store = SqliteStore.open({ path: storePath, synchronous: 'full' });
    try {
      const { referrals } = await partnerCenterClients(config(withKey), { credentials: store.credentials, entraNetworkClient: entra.client, logger });
      // Strict tokens: a list answered at all proves the access token came from the exchange.
      const listed = [];
      for await (const referral of referrals.list({})) listed.push(referral);
      expect(Array.isArray(listed)).toBe(true);
    } finally {
      await store.close();
    }
  }

  function rawRow(): string {
    const db = openDatabase(storePath, { readonly: true, fileMustExist: true });
    try {
      return JSON.stringify(db.prepare('SELECT * FROM credentials').all());
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    process.env[KEY_ENV] = randomBytes(32).toString('base64');
    process.env[CONFIGURED_ENV] = CONFIGURED;
    process.env[SECRET_ENV] = 'client-secret';
    sandbox = await startPartnerCenterSandbox({ port: 0, strictTokens: true });
    entra = entraViaSandbox(sandbox);
  });

  afterAll(async () => {
    await sandbox.close();
    dir.cleanup();
    for (const name of [KEY_ENV, CONFIGURED_ENV, SECRET_ENV]) Reflect.deleteProperty(process.env, name);
  });

  it('keeps the rotated token sealed, uses it after a restart, and falls back to the configured one when it is refused', async () => {
    await run();
    expect(entra.presented).toEqual([CONFIGURED]);
    const firstRow = rawRow();
    expect(firstRow).not.toContain(CONFIGURED);
    expect(firstRow).not.toContain('sandbox-refresh.');
    expect(firstRow).toMatch(/"sealed":"v1\./);

    // Restart: the token the sandbox rotated to is presented, not the configured one.
    const rotated = entra.returned.at(-1) ?? '';
    expect(rotated).toMatch(/^sandbox-refresh\./);
    entra.presented.length = 0;
    await run();
    expect(entra.presented).toEqual([rotated]);
    expect(rawRow()).not.toContain(rotated);

    // Each exchange rotates again: the next run presents a newer token still.
    const newer = entra.returned.at(-1) ?? '';
    expect(newer).not.toBe(rotated);
    entra.presented.length = 0;
    await run();
    expect(entra.presented).toEqual([newer]);

    // Entra refuses the kept token: the configured one is tried, and what that exchange returns is kept instead.
    const kept = entra.returned.at(-1) ?? '';
    entra.refused.add(kept);
    entra.presented.length = 0;
    await run();
    expect(entra.presented).toEqual([kept, CONFIGURED]);
    const replacement = entra.returned.at(-1) ?? '';
    entra.presented.length = 0;
    await run();
    expect(entra.presented).toEqual([replacement]);
  });

  it('a newly configured token (cosell init run again) supersedes the kept one', async () => {
    const reconsented = 'refresh-token-of-a-new-consent';
    process.env[CONFIGURED_ENV] = reconsented;
    try {
      entra.presented.length = 0;
      await run();
      expect(entra.presented).toEqual([reconsented]);
      const next = entra.returned.at(-1) ?? '';
      entra.presented.length = 0;
      await run();
      expect(entra.presented).toEqual([next]);
    } finally {
      process.env[CONFIGURED_ENV] = CONFIGURED;
    }
  });

  it('without an encryption key keeps nothing but when the token was used', async () => {
    const before = JSON.parse(rawRow()) as Array<{ sealed: string | null }>;
    const store = SqliteStore.open({ path: storePath, synchronous: 'full' });
    await store.credentials.dropSealed(PARTNER_CENTER_REFRESH_TOKEN);
    await store.close();
    entra.presented.length = 0;
    await run(false);
    expect(entra.presented).toEqual([CONFIGURED]);
    const after = JSON.parse(rawRow()) as Array<{ sealed: string | null; last_used_at: string | null }>;
    expect(before[0]?.sealed).toMatch(/^v1\./);
    expect(after[0]?.sealed).toBeNull();
    expect(after[0]?.last_used_at).not.toBeNull();
  });

  it('rejects an unusable key as configuration, naming the setting', async () => {
    process.env[KEY_ENV] = 'too-short';
    try {
      const error = await partnerCenterClients(config(), { credentials: SqliteStore.open({ path: ':memory:', synchronous: 'full' }).credentials }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('partnerCenter.auth.tokenEncryptionKey');
      expect((error as Error).message).not.toContain('too-short');
    } finally {
      process.env[KEY_ENV] = randomBytes(32).toString('base64');
    }
  });

  it('never writes a refresh token into the store file in clear, nor into a log line', () => {
    const bytes = readFileSync(storePath).toString('latin1');
    expect(bytes).not.toContain(CONFIGURED);
    expect(bytes).not.toContain('sandbox-refresh.');
    expect(logLines.join('\n')).toContain('tokenEncryptionKey is not set');
    for (const token of [CONFIGURED, ...entra.returned]) expect(logLines.join('\n')).not.toContain(token);
  });
});
