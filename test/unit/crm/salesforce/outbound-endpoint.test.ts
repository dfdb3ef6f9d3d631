import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../../../src/config/errors.ts';
import { parseConfig } from '../../../../src/config/load.ts';
import { outboundEndpointOf, OutboundEndpointSecret, outboundEndpointUrl } from '../../../../src/crm/salesforce/outbound-endpoint.ts';
import { salesforceConfigSchema } from '../../../../src/config/salesforce.ts';
import { runCli } from '../../../support/cli.ts';
import { makeTempDir } from '../../../support/tmp.ts';

/** Outbound Messages must be authenticated beyond the (public) org id: the endpoint URL carries a secret. */

const SECRET = 'a'.repeat(20) + 'B0123456789_-.~xyz';
const partnerCenter = { referralsApiUrl: 'http://127.0.0.1:9', webhooksApiUrl: 'http://127.0.0.1:9' };
const base = { instanceUrl: 'http://127.0.0.1:9', mode: 'sandbox', notifications: 'outbound-messages', organizationId: '00D000000000001' } as const;

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('salesforce.outboundMessageSecret', () => {
  it('is required in outbound-messages mode, and the error names the setting', () => {
    const error = configError(() => parseConfig('cosell.yaml', { partnerCenter, salesforce: base }));
    expect(error.path).toBe('salesforce.outboundMessageSecret');
    expect(error.reason).toMatch(/organization id alone is public/);
    // CDC mode needs no endpoint and no secret.
    expect(() => parseConfig('cosell.yaml', { partnerCenter, salesforce: { ...base, notifications: 'cdc', organizationId: undefined } })).not.toThrow();
  });

  it('an unset variable or a weak secret is a ConfigError naming the setting, never showing the value', async () => {
    const config = salesforceConfigSchema.parse({ ...base, outboundMessageSecret: 'env:COSELL_TEST_OM_SECRET' });
    await expect(outboundEndpointOf(config, {})).rejects.toMatchObject({ name: 'ConfigError', path: 'salesforce.outboundMessageSecret' });
    const weak = outboundEndpointOf(config, { COSELL_TEST_OM_SECRET: 'short-secret' });
    await expect(weak).rejects.toMatchObject({ path: 'salesforce.outboundMessageSecret' });
    await expect(weak).rejects.not.toThrow(/short-secret/);
    const unsafe = outboundEndpointOf(config, { COSELL_TEST_OM_SECRET: `${SECRET}/../x` });
    await expect(unsafe).rejects.toMatchObject({ path: 'salesforce.outboundMessageSecret' });
    const endpoint = await outboundEndpointOf(config, { COSELL_TEST_OM_SECRET: SECRET });
    expect(endpoint?.organizationId).toBe('00D000000000001');
    expect(JSON.stringify(endpoint)).not.toContain(SECRET);
  });

  it('compares the presented secret exactly', () => {
    const secret = new OutboundEndpointSecret(SECRET);
    expect(secret.matches(SECRET)).toBe(true);
    for (const wrong of [undefined, '', SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase(), 'x'.repeat(5000)]) expect(secret.matches(wrong)).toBe(false);
  });

  it('the endpoint URL to configure masks the secret unless asked', () => {
    expect(outboundEndpointUrl('https://sync.example.com/', SECRET, false)).toBe('https://sync.example.com/webhooks/salesforce/********');
    expect(outboundEndpointUrl('https://sync.example.com', SECRET, true)).toBe(`https://sync.example.com/webhooks/salesforce/${SECRET}`);
  });

  it('cosell start exits with code 2 naming the setting when the secret is missing or unreadable', async () => {
    const tmp = makeTempDir();
    try {
      const write = (name: string, salesforce: Record<string, unknown>) => {
        const file = join(tmp.path, name);
        writeFileSync(file, stringify({ partnerCenter, store: { path: join(tmp.path, 'cosell.db') }, log: { level: 'silent' }, salesforce }));
        return file;
      };
      const missing = await runCli(['start', '--config', write('missing.yaml', { ...base })]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('salesforce.outboundMessageSecret');
      const unset = await runCli(['start', '--config', write('unset.yaml', { ...base, outboundMessageSecret: 'env:COSELL_TEST_UNSET_OM_SECRET' })], {
        env: { COSELL_TEST_UNSET_OM_SECRET: '' },
      });
      expect(unset.code).toBe(2);
      expect(unset.stderr).toContain('salesforce.outboundMessageSecret');
      expect(unset.stderr).toContain('COSELL_TEST_UNSET_OM_SECRET');
    } finally {
      tmp.cleanup();
    }
  }, 60_000);
});
