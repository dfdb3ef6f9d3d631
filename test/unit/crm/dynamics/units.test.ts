import { describe, expect, it } from 'vitest';
import { DECLINE_REASON_OPTION_BASE, declineReasonText } from '../../../../src/crm/dynamics/custom-columns.ts';
import { dynamicsConfigSchema } from '../../../../src/config/dynamics.ts';
import { createDynamicsConnector, dynamicsWebhookAuth } from '../../../../src/crm/dynamics/factory.ts';
import { alternateKey } from '../../../../src/crm/dynamics/odata.ts';
import { auditText, stripIndicator, withIndicator } from '../../../../src/crm/dynamics/sync-status.ts';
import { multiSelectFromWire, multiSelectToWire } from '../../../../src/crm/dynamics/wire-values.ts';
import { silentLogger } from '../../../../src/util/logger.ts';

describe('sync status text', () => {
  it('strips only the one indicator we append, never a mark of the name itself', () => {
    expect(stripIndicator('Contoso deal ✔')).toBe('Contoso deal');
    expect(stripIndicator('Contoso deal ✖ ✔')).toBe('Contoso deal ✖');
    expect(stripIndicator('Contoso deal ✔\uFE0F')).toBe('Contoso deal ✔\uFE0F');
    expect(stripIndicator('Launch ✔️ ✔')).toBe('Launch ✔️');
    expect(stripIndicator('✔ first, then text')).toBe('✔ first, then text');
    expect(stripIndicator('Plain')).toBe('Plain');
  });

  it('appends the indicator to the real name and keeps the title within the column length', () => {
    expect(withIndicator('Deal', false, 300)).toBe('Deal ✖');
    expect(withIndicator('Deal ✔', false, 300)).toBe('Deal ✔ ✖');
    const long = withIndicator('x'.repeat(400), true, 300);
    expect(long).toHaveLength(300);
    expect(long.endsWith(' ✔')).toBe(true);
  });

  it('keeps whole newest lines that fit, flattens line breaks, and cuts a single oversized line', () => {
    expect(auditText(['newest', 'older', 'oldest'], 13)).toBe('newest\nolder');
    expect(auditText(['a\nb', 'c'])).toBe('a b\nc');
    expect(auditText(['y'.repeat(50)], 10)).toBe(`${'y'.repeat(9)}…`);
  });
});

describe('wire values', () => {
  it('turns multi-select strings into option-value strings and back', () => {
    expect(multiSelectFromWire('100000000,100000002')).toEqual(['100000000', '100000002']);
    expect(multiSelectFromWire(null)).toBeNull();
    expect(multiSelectToWire([100000001, '100000003'])).toBe('100000001,100000003');
    expect(multiSelectToWire([])).toBeNull();
  });

  it('builds alternate keys that survive quotes, commas and slashes in the value', () => {
    expect(alternateKey('cosell_referralidentifier', "a'b")).toBe("cosell_referralidentifier='a''b'");
    expect(alternateKey('k', 'x,y"/z')).toBe("k='x%2Cy%22%2Fz'");
  });
});

describe('dynamics config', () => {
  it('applies defaults and accepts a sandbox section', () => {
    const config = dynamicsConfigSchema.parse({ orgUrl: 'http://127.0.0.1:4102', mode: 'sandbox' });
    expect(config).toMatchObject({ name: 'dynamics', prefix: 'cosell', leadsEnabled: true, statusIndicator: { nameSuffix: true }, sandboxToken: 'sandbox-token', timeoutMs: 30_000 });
  });

  it('requires the app registration in entra mode and refuses sandbox tokens against Dynamics', () => {
    const entra = dynamicsConfigSchema.safeParse({ orgUrl: 'https://contoso.crm.dynamics.com' });
    expect(entra.success).toBe(false);
    expect(entra.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual(['clientId', 'clientSecret', 'tenantId']);
    const sandbox = dynamicsConfigSchema.safeParse({ orgUrl: 'https://contoso.crm.dynamics.com', mode: 'sandbox' });
    expect(sandbox.error?.issues[0]?.path).toEqual(['mode']);
    expect(dynamicsConfigSchema.safeParse({ orgUrl: 'https://contoso.crm.dynamics.com', prefix: 'Cosell_' }).success).toBe(false);
    expect(dynamicsConfigSchema.safeParse({ orgUrl: 'https://contoso.crm.dynamics.com', clientSecret: 'literal-secret', tenantId: 't', clientId: 'c' }).success).toBe(false);
    expect(
      dynamicsConfigSchema.safeParse({ orgUrl: 'https://contoso.crm.dynamics.com', tenantId: 't', clientId: 'c', clientSecret: 'env:DATAVERSE_SECRET' }).success,
    ).toBe(true);
  });

  it('builds the connector and resolves the webhook secret from its reference', async () => {
    const config = dynamicsConfigSchema.parse({
      orgUrl: 'http://127.0.0.1:4102',
      mode: 'sandbox',
      name: 'd365-emea',
      prefix: 'pcs',
      webhook: { secret: 'env:DYN_HOOK' },
    });
    const connector = await createDynamicsConnector(config, { logger: silentLogger() });
    expect(connector).toMatchObject({ name: 'd365-emea', kind: 'dynamics', prefix: 'pcs' });
    expect(connector.columns.referralIdentifier).toBe('pcs_referralidentifier');
    expect(await dynamicsWebhookAuth(config, { DYN_HOOK: 'hook-secret' })).toEqual({ kind: 'HttpHeader', headerName: 'x-cosell-webhook-key', secret: 'hook-secret' });
    await expect(dynamicsWebhookAuth(config, {})).rejects.toThrow(/DYN_HOOK/);
  });
});

describe('declineReasonText', () => {
  it('maps the Decline Reason options to the text sent as statusReason, and nothing else', () => {
    expect(declineReasonText(DECLINE_REASON_OPTION_BASE)).toBe('Not a fit for our solutions');
    expect(declineReasonText(DECLINE_REASON_OPTION_BASE + 4)).toBe('Other');
    expect(declineReasonText(DECLINE_REASON_OPTION_BASE + 5)).toBeUndefined();
    expect(declineReasonText(DECLINE_REASON_OPTION_BASE - 1)).toBeUndefined();
    expect(declineReasonText(null)).toBeUndefined();
  });
});
