import { createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CrmApiError, CrmPreconditionFailedError } from '../../../../src/crm/connector.ts';
import { ApiUsageMonitor, parseLimitInfo } from '../../../../src/crm/salesforce/api-usage.ts';
import { parseIdentityUrl, signJwtAssertion, type SalesforceAuthenticator } from '../../../../src/crm/salesforce/auth.ts';
import { salesforceConnectorOptions } from '../../../../src/crm/salesforce/factory.ts';
import { isOwnChange } from '../../../../src/crm/salesforce/change-stream.ts';
import { salesforceConfigSchema } from '../../../../src/config/salesforce.ts';
import { sameId, toId18 } from '../../../../src/crm/salesforce/ids.ts';
import { DAILY_LIMIT_RETRY_MS, toCrmError } from '../../../../src/crm/salesforce/salesforce-errors.ts';
import { soqlDateTime, soqlString } from '../../../../src/crm/salesforce/soql.ts';
import { fromWire, toWire } from '../../../../src/crm/salesforce/wire-values.ts';
import { auditText, stripIndicator, withIndicator } from '../../../../src/crm/salesforce/sync-status.ts';
import { silentLogger } from '../../../../src/util/logger.ts';

describe('salesforce config', () => {
  const base = { instanceUrl: 'https://contoso.my.salesforce.com' };

  it('fills defaults and requires what each auth mode needs', () => {
    const config = salesforceConfigSchema.parse({ ...base, clientId: 'key', clientSecret: 'env:SF_SECRET' });
    expect(config).toMatchObject({ name: 'salesforce', mode: 'client-credentials', apiVersion: '62.0', notifications: 'cdc', onHoldStage: 'Prospecting', syncCoSellOnly: false, callOptionsClient: 'cosell-sync', clientSecret: { env: 'SF_SECRET' } });
    const paths = (input: object) => (salesforceConfigSchema.safeParse(input).error?.issues ?? []).map((issue) => issue.path.join('.'));
    expect(paths(base)).toEqual(['clientId', 'clientSecret']);
    expect(paths({ ...base, mode: 'jwt', clientId: 'key' })).toEqual(['username', 'privateKey']);
    expect(paths({ ...base, mode: 'sandbox' })).toEqual(['mode']);
    expect(paths({ instanceUrl: 'http://127.0.0.1:4103', mode: 'sandbox', notifications: 'outbound-messages', outboundMessageSecret: 'env:SF_OM_SECRET' })).toEqual(['organizationId']);
    expect(paths({ instanceUrl: 'http://127.0.0.1:4103', mode: 'sandbox', notifications: 'outbound-messages', organizationId: '00D000000000001' })).toEqual(['outboundMessageSecret']);
    expect(paths({ instanceUrl: 'http://127.0.0.1:4103', mode: 'sandbox', activeStage: 'prospecting' })).toEqual(['activeStage']);
    expect(paths({ ...base, clientId: 'key', clientSecret: 'inline-secret' })).toEqual(['clientSecret']);
  });
});

describe('SOQL literals and ids', () => {
  it('escapes quotes, backslashes and control characters', () => {
    expect(soqlString("O'Brien \\ \"Co\"\n")).toBe("'O\\'Brien \\\\ \\\"Co\\\"\\n'");
    expect(soqlDateTime(new Date('2026-03-04T05:06:07.890Z'))).toBe('2026-03-04T05:06:07Z');
  });

  it('converts 15-character ids and rejects inconsistent 18-character ones', () => {
    expect(toId18('00Dxx0000001gPL')).toBe('00Dxx0000001gPLEAY');
    expect(toId18('00Dxx0000001gPLeay')).toBe('00Dxx0000001gPLEAY');
    expect(toId18('00Dxx0000001gPLAAA')).toBeUndefined();
    expect(sameId('00Dxx0000001gPL', '00Dxx0000001gPLEAY')).toBe(true);
    expect(parseIdentityUrl('https://x.my.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6wAAC')).toEqual({ organizationId: '00Dxx0000001gPLEAY', userId: '005xx000001Sv6wAAC' });
  });
});

describe('change origin', () => {
  it('recognises exactly our client tag', () => {
    expect(isOwnChange('com/salesforce/api/rest/62.0;client=cosell-sync', 'cosell-sync')).toBe(true);
    expect(isOwnChange('com/salesforce/api/soap/62.0;client=SfdcInternalAPI/', 'cosell-sync')).toBe(false);
    expect(isOwnChange('com/salesforce/api/rest/62.0;client=cosell-sync-other', 'cosell-sync')).toBe(false);
    expect(isOwnChange(null, 'cosell-sync')).toBe(false);
  });
});

describe('JWT bearer assertion', () => {
  it('is an RS256 JWT with iss, sub, aud and a short exp (Salesforce OAuth 2.0 JWT bearer flow), verifiable with the certificate key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const jwt = signJwtAssertion({ issuer: 'consumer-key', subject: 'integration@contoso.com', audience: 'https://login.salesforce.com', privateKeyPem: pem, now: 1_700_000_000_000 });
    const [header = '', claims = '', signature = ''] = jwt.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(claims, 'base64url').toString())).toEqual({ iss: 'consumer-key', sub: 'integration@contoso.com', aud: 'https://login.salesforce.com', exp: 1_700_000_120 });
    expect(createVerify('RSA-SHA256').update(`${header}.${claims}`).verify(publicKey, Buffer.from(signature, 'base64url'))).toBe(true);
    expect(() => signJwtAssertion({ issuer: 'a', subject: 'b', audience: 'c', privateKeyPem: 'not a key' })).toThrow(CrmApiError);
  });
});

describe('error classification', () => {
  const jsforceError = (errorCode: string, message: string, data: unknown) => Object.assign(new Error(message), { name: errorCode, errorCode, data });

  it('maps REST API error bodies, the daily request limit, 412 and network failures', () => {
    const limit = toCrmError(jsforceError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.', { errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }), { status: 403 }, 'GET query');
    expect(limit).toMatchObject({ status: 403, code: 'REQUEST_LIMIT_EXCEEDED', retryable: true, retryAfterMs: DAILY_LIMIT_RETRY_MS });
    const several = toCrmError(
      jsforceError('MULTIPLE_API_ERRORS', 'Multiple errors returned.', [
        { message: "no 'ACME' accounts", errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: [] },
        { message: "no '123' phone", errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: ['Phone'] },
      ]),
      { status: 400 },
      'POST sobjects/Account',
    );
    expect(several).toMatchObject({ status: 400, code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', retryable: false });
    expect(several.message).toBe("Salesforce POST sobjects/Account failed (400 FIELD_CUSTOM_VALIDATION_EXCEPTION): no 'ACME' accounts; no '123' phone (Phone)");
    expect(toCrmError(jsforceError('UNABLE_TO_LOCK_ROW', 'locked', { errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' }), { status: 400 }, 'PATCH')).toMatchObject({ retryable: true });
    expect(toCrmError(jsforceError('ERROR_HTTP_503', 'down', {}), { status: 503, headers: { 'retry-after': '7' } }, 'GET')).toMatchObject({ retryable: true, retryAfterMs: 7_000 });
    expect(toCrmError(jsforceError('PRECONDITION_FAILED', 'modified', { errorCode: 'PRECONDITION_FAILED', message: 'modified' }), { status: 412 }, 'PATCH')).toBeInstanceOf(CrmPreconditionFailedError);
    expect(toCrmError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { error: new Error('x') }, 'GET')).toMatchObject({ status: undefined, code: 'ECONNRESET', retryable: true });
  });

  it('reads Sforce-Limit-Info and warns once per 5 % above 80 %', () => {
    expect(parseLimitInfo('api-usage=12/15000')).toEqual({ used: 12, max: 15_000 });
    expect(parseLimitInfo('per-app-api-usage=1/2')).toBeUndefined();
    expect(parseLimitInfo('api-usage=18/5000, per-app-api-usage=17/250(appName=sample-app)')).toEqual({ used: 18, max: 5_000 });
    const warnings: unknown[] = [];
    const logger = silentLogger();
    logger.warn = ((object: unknown) => {
      warnings.push(object);
    }) as typeof logger.warn;
    const monitor = new ApiUsageMonitor(logger);
    for (const used of [100, 801, 820, 849, 851, 990]) monitor.observe(`api-usage=${used}/1000`);
    expect(warnings).toEqual([
      expect.objectContaining({ used: 801, percent: 80 }),
      expect.objectContaining({ used: 851, percent: 85 }),
      expect.objectContaining({ used: 990, percent: 99 }),
    ]);
  });
});

describe('values and status text', () => {
  it('converts dates, datetimes, multi-select picklists and lookups', () => {
    const field = (type: string) => ({ name: 'F', type });
    expect(fromWire('2026-11-21T05:00:00.000+0000', field('datetime'))).toBe('2026-11-21T05:00:00.000Z');
    expect(fromWire('A;B', field('multipicklist'))).toEqual(['A', 'B']);
    expect(toWire('2026-11-30T23:30:00-02:00', field('date'))).toBe('2026-12-01');
    expect(toWire(['A', 'B'], field('multipicklist'))).toBe('A;B');
    expect(toWire([], field('multipicklist'))).toBeNull();
    expect(toWire({ entity: 'account', id: '001xx000003DGb2AAG' }, field('reference'))).toBe('001xx000003DGb2AAG');
  });

  it('keeps the indicator within the name length and the audit to whole lines', () => {
    expect(withIndicator(`${'n'.repeat(130)}`, true, 120)).toBe(`${'n'.repeat(118)} ✔`);
    expect(stripIndicator('Deal ✔ ✖')).toBe('Deal ✔');
    expect(auditText(['new', 'old'], 7)).toBe('new\nold');
    expect(auditText(['new', 'older'], 7)).toBe('new');
    expect(auditText(['x'.repeat(10)], 5)).toBe('xxxx…');
  });
});

describe('change poll overlap', () => {
  const grant: SalesforceAuthenticator = { grant: async () => ({ accessToken: 't', instanceUrl: 'http://127.0.0.1:9', userId: undefined, organizationId: undefined }) };
  const base = { instanceUrl: 'http://127.0.0.1:9', mode: 'sandbox' };

  it("follows sync.reconcileOverlapSeconds unless the connection sets its own pollOverlapSeconds", async () => {
    const inherited = await salesforceConnectorOptions(salesforceConfigSchema.parse(base), { logger: silentLogger(), authenticator: grant, reconcileOverlapMs: 45_000 });
    expect(inherited.pollOverlapMs).toBe(45_000);
    const own = await salesforceConnectorOptions(salesforceConfigSchema.parse({ ...base, pollOverlapSeconds: 10 }), { logger: silentLogger(), authenticator: grant, reconcileOverlapMs: 45_000 });
    expect(own.pollOverlapMs).toBe(10_000);
  });
});
