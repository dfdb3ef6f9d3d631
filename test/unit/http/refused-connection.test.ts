import { describe, expect, it } from 'vitest';
import { CrmApiError } from '../../../src/crm/connector.ts';
import { ClientCredentialsAuthenticator } from '../../../src/crm/salesforce/auth.ts';
import { closedPort } from '../partner-center/scripted-server.ts';

describe('a refused connection', () => {
  it('Salesforce token request: names the refused address instead of "fetch failed", retryable, no secret', async () => {
    const port = await closedPort();
    const authenticator = new ClientCredentialsAuthenticator({ loginUrl: `http://127.0.0.1:${port}`, timeoutMs: 5_000, clientId: 'c', clientSecret: 'refused-secret-value' });
    const error = await authenticator.grant().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CrmApiError);
    const failure = error as CrmApiError;
    expect(failure.message).toContain(`ECONNREFUSED`);
    expect(failure.message).toContain(`127.0.0.1:${port}`);
    expect(failure.message).not.toContain('fetch failed');
    expect(failure.message).not.toContain('refused-secret-value');
    expect(failure.retryable).toBe(true);
  });
});
