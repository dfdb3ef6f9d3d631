import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmApiError } from '../../../src/crm/connector.ts';
import { ClientCredentialsAuthenticator, JwtBearerAuthenticator } from '../../../src/crm/salesforce/auth.ts';
import { fakeEntraDiscovery } from '../../support/fake-entra.ts';
import { EntraClientCredentialsProvider } from '../../../src/http/entra-tokens.ts';
import { credentialFailure, redactSecrets } from '../../../src/http/redact.ts';
import { ClientCredentialsTokenProvider, TokenAcquisitionError } from '../../../src/http/tokens.ts';

/*
 * Every way the service asks for a credential, against a token endpoint that echoes what it was sent — in its
 * error_description, in other fields, form-encoded and raw — the way a misconfigured proxy or a verbose provider does.
 */

const SECRET = 'Sf+Client/Secret=With Spaces&Symbols!42';

function echoBody(received: string): string {
  const form = new URLSearchParams(received);
  return JSON.stringify({
    error: 'invalid_client',
    error_description: `invalid client credentials: ${[...form.values()].join(' ')} (raw: ${received})`,
    request: received,
  });
}

describe('outgoing-credential errors never carry the secret', () => {
  let server: Server;
  let url = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end(echoBody(body)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const caught = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a failure'); }, (error: unknown) => error as Error);
  const expectClean = (message: string, secrets: string[]) => {
    for (const secret of secrets) {
      expect(message).not.toContain(secret);
      expect(message).not.toContain(encodeURIComponent(secret));
      expect(message).not.toContain(new URLSearchParams({ s: secret }).toString().slice(2));
    }
  };

  it('Partner Center client-credentials tokens: status and OAuth code kept, secret masked', async () => {
    const provider = new ClientCredentialsTokenProvider({ tokenUrl: `${url}/oauth2/token`, clientId: 'client', clientSecret: SECRET });
    const error = await caught(provider.getToken());
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    expect((error as TokenAcquisitionError).status).toBe(400);
    expect((error as TokenAcquisitionError).code).toBe('invalid_client');
    expect(error.message).toContain('(400)');
    expect(error.message).toContain('[redacted]');
    expectClean(error.message, [SECRET]);
  });

  it('Salesforce client credentials: status and OAuth code kept, secret masked', async () => {
    const authenticator = new ClientCredentialsAuthenticator({ loginUrl: url, timeoutMs: 5_000, clientId: 'client', clientSecret: SECRET });
    const error = await caught(authenticator.grant());
    expect(error).toBeInstanceOf(CrmApiError);
    expect((error as CrmApiError).status).toBe(400);
    expect((error as CrmApiError).code).toBe('invalid_client');
    expect((error as CrmApiError).retryable).toBe(false);
    expectClean(error.message, [SECRET]);
  });

  it('Salesforce JWT bearer: neither the signed assertion nor the private key leaks', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const authenticator = new JwtBearerAuthenticator({ loginUrl: url, timeoutMs: 5_000, clientId: 'client', username: 'u@example.com', privateKeyPem: pem });
    const error = await caught(authenticator.grant());
    expect(error).toBeInstanceOf(CrmApiError);
    expect((error as CrmApiError).status).toBe(400);
    // The assertion is a bearer credential for its lifetime: its signature part must not survive.
    expect(error.message).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{20,}/);
    for (const line of pem.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'))) expect(error.message).not.toContain(line);
  });

  it('Entra (Partner Center and Dataverse tokens through MSAL): secret masked in the wrapped MSAL error', async () => {
    const host = 'https://login.test.example';
    const networkClient: INetworkModule = {
      sendGetRequestAsync: (target) => fakeEntraDiscovery(target, host),
      sendPostRequestAsync<T>(_target: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
        return Promise.resolve({ status: 401, headers: {}, body: JSON.parse(echoBody(options?.body ?? '')) as T });
      },
    };
    const provider = new EntraClientCredentialsProvider({
      tenantId: 'tenant',
      clientId: 'app',
      clientSecret: SECRET,
      scope: 'https://contoso.crm.dynamics.com/.default',
      authorityHost: host,
      networkClient,
    });
    const error = await caught(provider.getToken());
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    expect((error as TokenAcquisitionError).code).toBe('invalid_client');
    expectClean(error.message, [SECRET]);
  });

  it('masks every spelling and never quotes a body that is not an OAuth error', () => {
    const failure = credentialFailure({ what: 'token request', secrets: [SECRET], status: 502, body: `<html>${SECRET}</html>` });
    expect(failure.message).toBe('token request was rejected (502)');
    expect(redactSecrets(`a ${Buffer.from(SECRET).toString('base64')} b ${JSON.stringify(SECRET)}`, [SECRET])).toBe('a [redacted] b "[redacted]"');
    // An `error` that is the secret itself is not a code.
    expect(credentialFailure({ what: 't', secrets: ['abcd-secret'], status: 400, body: '{"error":"abcd-secret"}' }).code).toBeUndefined();
  });
});
