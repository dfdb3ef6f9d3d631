import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../support/cli.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { adminJson, type ServiceHarness } from '../support/service-harness.ts';
import { suiteHarness } from '../support/suite-harness.ts';

/**
 * The suite's harness, and the file `cosell mapping preview --config` reads: the service's own configuration, written
 * once it started.
 */
function previewSuite<H extends ServiceHarness>(start: () => Promise<H>): { harness: H; configFile: () => string } {
  const configFile = (harness: H): string => join(harness.dir, 'preview.yaml');
  const harness = suiteHarness(start, { afterStart: (started) => writeFileSync(configFile(started), stringify(started.configInput)) });
  return { harness, configFile: () => configFile(harness) };
}

/**
 * `cosell mapping preview` against the real create: the preview of a referral with no CRM record yet must list the
 * columns the service's create then writes to Dataverse — no fewer (issue 11: it listed 4 where the create wrote 9).
 */
describe('cosell mapping preview shows what the create writes', () => {
  const { harness, configFile } = previewSuite(() => SyncHarness.start());

  it('lists exactly the columns of the opportunity a real create then writes, with the referral status', async () => {
    // Its webhook is lost, so the service does not create the record before it is previewed; then a manual sync
    // creates it through the one-pair create (as the webhook would), not a reconcile pass's bulk backfill.
    await harness.pcFaults({ delivery: { dropRate: 1 } });
    const referral = await harness.incomingReferral({ name: 'Preview equals create', details: { dealValue: 5100 } });
    const result = await runCli(['mapping', 'preview', '--referral', referral.id, '--config', configFile(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const preview = JSON.parse(result.stdout) as {
      partnerCenterStatus: { status: string; substatus: string };
      create: { entity: string; columns: Record<string, unknown>; customerColumns: string[] };
    };
    expect(preview.partnerCenterStatus).toEqual({ status: referral.status, substatus: referral.substatus });
    expect(preview.create.entity).toBe('opportunity');
    // The human form: the status, and each column's value whole (wrapped, never cut).
    const human = await runCli(['mapping', 'preview', '--referral', referral.id, '--config', configFile()]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`Partner Center status: ${String(referral.status)} / ${String(referral.substatus)}`);
    expect(human.stdout).toContain(`would create this opportunity (${Object.keys(preview.create.columns).length} columns):`);
    const unwrapped = human.stdout.replace(/\s+/g, '');
    for (const value of Object.values(preview.create.columns)) if (typeof value === 'string' && !/\d{4}-\d\d-\d\dT/.test(value)) expect(unwrapped).toContain(JSON.stringify(value).replace(/\s+/g, ''));

    await harness.waitForWebhooks();
    await harness.clearPcFaults();
    expect(await harness.opportunityFor(referral.id), 'nothing created before the preview').toBeUndefined();
    await adminJson(`${harness.adminUrl}/api/sync/referral/${referral.id}`, { method: 'POST' });
    await harness.waitForIdle();
    const row = await harness.opportunityFor(referral.id);
    expect(row, 'the service created the opportunity').toBeDefined();

    // A lookup is sent as `<navigation>@odata.bind` and read back as `_<column>_value`.
    const written = (column: string): string => {
      const bind = /^(.+?)(?:_account|_contact)?@odata\.bind$/.exec(column);
      return bind ? `_${bind[1]}_value` : column;
    };
    const expected = Object.keys(preview.create.columns).map(written).sort();
    for (const column of expected) expect(row, `the create wrote ${column}`).toHaveProperty(column);
    for (const [column, value] of Object.entries(preview.create.columns)) {
      if (preview.create.customerColumns.includes(column) || column.endsWith('@odata.bind')) continue;
      if (typeof value === 'string' && /\d{4}-\d\d-\d\dT/.test(value)) continue; // the audit line's time is the create's
      expect(row?.[column], column).toEqual(value);
    }
    expect(expected.length).toBeGreaterThanOrEqual(9);
    // And nothing else: the row as the Create left it (the Target of Dataverse's Create notification, before any later
    // update) holds a value in exactly the preview's columns, besides those Dataverse fills on every create. A lookup
    // is named by its column there, not by its navigation property.
    const { value: deliveries } = await harness.dvDeliveries();
    type Notification = { MessageName: string; PrimaryEntityId: string; InputParameters: Array<{ key: string; value: { Attributes?: Array<{ key: string; value: unknown }> } }> };
    const create = deliveries.map((d) => JSON.parse(d.body) as Notification).find((c) => c.MessageName === 'Create' && c.PrimaryEntityId === row?.opportunityid);
    expect(create, 'the Create notification').toBeDefined();
    const filledByDataverse = new Set(['opportunityid', 'statecode', 'statuscode', 'isrevenuesystemcalculated', 'opportunityratingcode', 'prioritycode', 'ownerid', 'createdby', 'createdon', 'modifiedby', 'modifiedon', 'versionnumber']);
    const created = (create?.InputParameters.find((p) => p.key === 'Target')?.value.Attributes ?? [])
      .filter((a) => a.value !== null && !filledByDataverse.has(a.key))
      .map((a) => a.key);
    const lookupColumn = (column: string): string => /^(.+?)(?:_account|_contact)?@odata\.bind$/.exec(column)?.[1] ?? column;
    const previewed = Object.entries(preview.create.columns)
      .filter(([, value]) => value !== null)
      .map(([column]) => lookupColumn(column));
    expect(created.sort()).toEqual(previewed.sort());
  }, 90_000);
});

/** The same for Salesforce: the preview's columns are the ones the real create leaves on the Opportunity, with its values. */
describe('cosell mapping preview shows what the create writes (Salesforce)', () => {
  const { harness, configFile } = previewSuite(() => SalesforceSyncHarness.start());

  it('every previewed field is on the created Opportunity with the previewed value', async () => {
    // Its webhook is lost, so the service does not create the record before it is previewed; then a manual sync
    // creates it through the one-pair create (as the webhook would), not a reconcile pass's bulk backfill.
    await harness.pcFaults({ delivery: { dropRate: 1 } });
    const referral = await harness.incomingReferral({ name: 'Preview equals create in Salesforce', details: { dealValue: 7300 } });
    const result = await runCli(['mapping', 'preview', '--referral', referral.id, '--config', configFile(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const preview = JSON.parse(result.stdout) as { create: { entity: string; columns: Record<string, unknown>; customerColumns: string[] } };
    expect(preview.create.entity).toBe('opportunity');
    expect(Object.keys(preview.create.columns)).toEqual(expect.arrayContaining(['Referral_Identifier__c', 'StageName', 'CloseDate', 'AccountId']));

    await harness.waitForWebhooks();
    await harness.clearPcFaults();
    expect(await harness.opportunityFor(referral.id), 'nothing created before the preview').toBeUndefined();
    await adminJson(`${harness.adminUrl}/api/sync/referral/${referral.id}`, { method: 'POST' });
    await harness.waitForIdle();
    const row = await harness.opportunityFor(referral.id);
    expect(row, 'the service created the opportunity').toBeDefined();
    for (const [field, value] of Object.entries(preview.create.columns)) {
      expect(row, `the create wrote ${field}`).toHaveProperty(field);
      if (preview.create.customerColumns.includes(field)) continue;
      if (typeof value === 'string' && /\d{4}-\d\d-\d\dT/.test(value)) continue; // the audit line's time is the create's
      expect(row?.[field], field).toEqual(value);
    }
  }, 90_000);
});
