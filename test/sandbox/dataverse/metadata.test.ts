import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

const label = (text: string) => ({
  '@odata.type': 'Microsoft.Dynamics.CRM.Label',
  LocalizedLabels: [{ '@odata.type': 'Microsoft.Dynamics.CRM.LocalizedLabel', Label: text, LanguageCode: 1033 }],
});
const option = (value: number, text: string) => ({ Value: value, Label: label(text) });

interface AttributeRow {
  LogicalName: string;
  AttributeType: string;
  '@odata.type': string;
  MaxLength?: number;
  OptionSet?: { Options: Array<{ Value: number; Label: { UserLocalizedLabel: { Label: string } } }> };
}

let h: SandboxHarness;

beforeAll(async () => {
  h = await startHarness();
  // What `cosell setup dynamics` does: a publisher + solution, then columns and a key in that solution (Dataverse
  // "Create and update column definitions using the Web API").
  const publisherId = await h.api.create({ collection: 'publishers', data: { uniquename: 'cosell', friendlyname: 'cosell-sync', customizationprefix: 'pcs', customizationoptionvalueprefix: 72700 } });
  await h.api.create({ collection: 'solutions', data: { uniquename: 'cosellsync', friendlyname: 'cosell-sync', version: '1.0.0.0', 'publisherid@odata.bind': `/publishers(${publisherId})` } });
  const inSolution = { headers: { 'MSCRM.SolutionUniqueName': 'cosellsync' } };
  const columns = [
    { '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'pcs_ReferralIdentifier', DisplayName: label('Referral Identifier'), RequiredLevel: { Value: 'None' }, MaxLength: 100, FormatName: { Value: 'Text' } },
    { '@odata.type': 'Microsoft.Dynamics.CRM.BooleanAttributeMetadata', SchemaName: 'pcs_SyncWithPartnerCenter', DisplayName: label('Sync with Partner Center'), DefaultValue: false, OptionSet: { TrueOption: option(1, 'Yes'), FalseOption: option(0, 'No'), OptionSetType: 'Boolean' } },
    { '@odata.type': 'Microsoft.Dynamics.CRM.MemoAttributeMetadata', SchemaName: 'pcs_Audit', DisplayName: label('Audit'), Format: 'TextArea', MaxLength: 100000 },
    {
      '@odata.type': 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
      SchemaName: 'pcs_HelpType',
      DisplayName: label('How can Microsoft help?'),
      OptionSet: { '@odata.type': 'Microsoft.Dynamics.CRM.OptionSetMetadata', IsGlobal: false, OptionSetType: 'Picklist', Options: [option(727000000, 'Workload specific value proposition'), option(727000001, 'Proof of concept or demo')] },
    },
    {
      '@odata.type': 'Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata',
      SchemaName: 'pcs_Products',
      DisplayName: label('Products'),
      OptionSet: { '@odata.type': 'Microsoft.Dynamics.CRM.OptionSetMetadata', IsGlobal: false, OptionSetType: 'Picklist', Options: [{ Value: null, Label: label('Azure') }, { Value: null, Label: label('Microsoft 365') }, { Value: null, Label: label('Dynamics 365') }] },
    },
  ];
  for (const data of columns) await h.api.createAttribute({ entityKey: "LogicalName='opportunity'", data, ...inSolution });
  // No key helper in dynamics-web-api: a plain create on the Keys navigation property (collection names other than
  // EntityDefinitions get lower-cased by the client, so the key goes in `key`, not in `collection`).
  await h.api.create({
    collection: 'EntityDefinitions',
    key: "LogicalName='opportunity'",
    navigationProperty: 'Keys',
    data: { '@odata.type': 'Microsoft.Dynamics.CRM.EntityKeyMetadata', SchemaName: 'pcs_opportunity_referralidentifier_key', DisplayName: label('Referral Identifier key'), KeyAttributes: ['pcs_referralidentifier'] },
    ...inSolution,
  });
  await h.api.callAction({ actionName: 'PublishXml', action: { ParameterXml: '<importexportxml><entities><entity>opportunity</entity></entities></importexportxml>' } });
});
afterAll(async () => h.close());

describe('custom columns', () => {
  it('lists the new columns with their types, and options when OptionSet is expanded', async () => {
    const attributes = await h.api.retrieveAttributes<AttributeRow>({ entityKey: "LogicalName='opportunity'", select: ['LogicalName', 'AttributeType', 'MaxLength'], filter: "startswith(LogicalName,'pcs_')" });
    const types = Object.fromEntries(attributes.value.map((row) => [row.LogicalName, row.AttributeType]));
    expect(types).toEqual({ pcs_referralidentifier: 'String', pcs_syncwithpartnercenter: 'Boolean', pcs_audit: 'Memo', pcs_helptype: 'Picklist', pcs_products: 'Virtual' });
    expect(attributes.value.find((row) => row.LogicalName === 'pcs_referralidentifier')?.MaxLength).toBe(100);

    const picklist = await h.api.retrieveAttribute<AttributeRow>({ entityKey: "LogicalName='opportunity'", attributeKey: "LogicalName='pcs_products'", castType: 'Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata', expand: [{ property: 'OptionSet' }] });
    // Options sent with Value null get numbers from the publisher's option value prefix (72700 → 727000000).
    expect(picklist.OptionSet?.Options.map((o) => [o.Value, o.Label.UserLocalizedLabel.Label])).toEqual([[727000000, 'Azure'], [727000001, 'Microsoft 365'], [727000002, 'Dynamics 365']]);
    const entity = await h.api.retrieveEntity<{ EntitySetName: string; ChangeTrackingEnabled: boolean }>({ key: "LogicalName='opportunity'", select: ['EntitySetName', 'ChangeTrackingEnabled'] });
    expect(entity.EntitySetName).toBe('opportunities');
  });

  it('uses the new columns at once: write, read with formatted values, filter', async () => {
    const id: string = await h.api.create({
      collection: 'opportunities',
      data: { name: 'With custom columns', pcs_referralidentifier: 'ref-1', pcs_syncwithpartnercenter: true, pcs_audit: 'created', pcs_helptype: 727000001, pcs_products: '727000000,727000002' },
    });
    const row = await h.api.retrieve<Record<string, unknown>>({ collection: 'opportunities', key: id, select: ['pcs_syncwithpartnercenter', 'pcs_helptype', 'pcs_products'], includeAnnotations: 'OData.Community.Display.V1.FormattedValue' });
    expect(row.pcs_syncwithpartnercenter).toBe(true);
    expect(row['pcs_syncwithpartnercenter@OData.Community.Display.V1.FormattedValue']).toBe('Yes');
    expect(row['pcs_helptype@OData.Community.Display.V1.FormattedValue']).toBe('Proof of concept or demo');
    expect(row.pcs_products).toBe('727000000,727000002');
    expect(row['pcs_products@OData.Community.Display.V1.FormattedValue']).toBe('Azure; Dynamics 365');
    const synced = await h.api.retrieveMultiple({ collection: 'opportunities', filter: 'pcs_syncwithpartnercenter eq true', select: ['name'] });
    expect(synced.value).toHaveLength(1);
    const badOption = await expectFailure(h.api.update({ collection: 'opportunities', key: id, data: { pcs_helptype: 1 } }));
    expect(badOption.status).toBe(400);
  });

  it('addresses rows by the alternate key, upserts through it and enforces its uniqueness', async () => {
    const created = await h.api.upsert<Record<string, unknown>, { opportunityid: string; pcs_referralidentifier: string }>({
      collection: 'opportunities',
      key: "pcs_referralidentifier='ref-upsert'",
      data: { name: 'Created through the key' },
      returnRepresentation: true,
    });
    expect(created.pcs_referralidentifier).toBe('ref-upsert');
    await h.api.upsert({ collection: 'opportunities', key: "pcs_referralidentifier='ref-upsert'", data: { name: 'Updated through the key' } });
    const byKey = await h.api.retrieve<{ opportunityid: string; name: string }>({ collection: 'opportunities', key: "pcs_referralidentifier='ref-upsert'", select: ['name'] });
    expect(byKey).toMatchObject({ opportunityid: created.opportunityid, name: 'Updated through the key' });
    const duplicate = await expectFailure(h.api.create({ collection: 'opportunities', data: { name: 'dup', pcs_referralidentifier: 'REF-UPSERT' } }));
    expect(duplicate.status).toBe(412);
    expect(duplicate.code).toBe('0x80040237');
    const missing = await expectFailure(h.api.retrieve({ collection: 'opportunities', key: "pcs_referralidentifier='nope'" }));
    expect(missing.status).toBe(404);
    const notAKey = await expectFailure(h.api.retrieve({ collection: 'opportunities', key: "name='x'" }));
    expect(notAKey.status).toBe(400);
  });

  it('requires a publisher prefix on custom schema names, matching the solution publisher when one is named', async () => {
    const unprefixed = await expectFailure(h.api.createAttribute({ entityKey: "LogicalName='opportunity'", data: { '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'ReferralLink', DisplayName: label('Referral Link'), MaxLength: 200 } }));
    expect(unprefixed.status).toBe(400);
    expect(unprefixed.message).toContain('customization prefix');
    const wrongPrefix = await expectFailure(
      h.api.createAttribute({ entityKey: "LogicalName='opportunity'", data: { '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'new_ReferralLink', DisplayName: label('Referral Link') }, headers: { 'MSCRM.SolutionUniqueName': 'cosellsync' } }),
    );
    expect(wrongPrefix.status).toBe(400);
    const duplicate = await expectFailure(h.api.createAttribute({ entityKey: "LogicalName='opportunity'", data: { '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'pcs_ReferralIdentifier', DisplayName: label('Again') } }));
    expect(duplicate.status).toBe(412);
  });
  it('InsertOptionValue adds and DeleteOptionValue removes an option of a local choice column; unknown columns and values are refused', async () => {
    const inserted = await h.api.callAction<{ NewOptionValue: number }>({
      actionName: 'InsertOptionValue',
      action: { EntityLogicalName: 'opportunity', AttributeLogicalName: 'pcs_helptype', Value: 727000005, Label: label('General or other') },
    });
    expect(inserted.NewOptionValue).toBe(727000005);
    const picklist = await h.api.retrieveAttribute<AttributeRow>({ entityKey: "LogicalName='opportunity'", attributeKey: "LogicalName='pcs_helptype'", castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata', expand: [{ property: 'OptionSet' }] });
    expect(picklist.OptionSet?.Options.map((o) => [o.Value, o.Label.UserLocalizedLabel.Label])).toEqual([
      [727000000, 'Workload specific value proposition'],
      [727000001, 'Proof of concept or demo'],
      [727000005, 'General or other'],
    ]);
    // The new value is writable at once.
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'option check', pcs_helptype: 727000005 } });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const duplicate = await expectFailure(
      h.api.callAction({ actionName: 'InsertOptionValue', action: { EntityLogicalName: 'opportunity', AttributeLogicalName: 'pcs_helptype', Value: 727000005, Label: label('Again') } }),
    );
    expect(duplicate.status).toBe(400);
    expect(duplicate.message).toContain('already exists');
    const unknownColumn = await expectFailure(
      h.api.callAction({ actionName: 'InsertOptionValue', action: { EntityLogicalName: 'opportunity', AttributeLogicalName: 'pcs_nosuchcolumn', Value: 727000009, Label: label('X') } }),
    );
    expect(unknownColumn.status).toBe(404);
    const notAChoice = await expectFailure(
      h.api.callAction({ actionName: 'InsertOptionValue', action: { EntityLogicalName: 'opportunity', AttributeLogicalName: 'pcs_audit', Value: 727000009, Label: label('X') } }),
    );
    expect(notAChoice.status).toBe(400);
    const noLabel = await expectFailure(h.api.callAction({ actionName: 'InsertOptionValue', action: { EntityLogicalName: 'opportunity', AttributeLogicalName: 'pcs_helptype', Value: 727000010 } }));
    expect(noLabel.status).toBe(400);

    await h.api.callAction({ actionName: 'DeleteOptionValue', action: { EntityLogicalName: 'opportunity', AttributeLogicalName: 'pcs_helptype', Value: 727000005 } });
    const after = await h.api.retrieveAttribute<AttributeRow>({ entityKey: "LogicalName='opportunity'", attributeKey: "LogicalName='pcs_helptype'", castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata', expand: [{ property: 'OptionSet' }] });
    expect(after.OptionSet?.Options.map((o) => o.Value)).toEqual([727000000, 727000001]);
    const refused = await expectFailure(h.api.create({ collection: 'opportunities', data: { name: 'removed option', pcs_helptype: 727000005 } }));
    expect(refused.status).toBe(400);
    const deletedTwice = await expectFailure(h.api.callAction({ actionName: 'DeleteOptionValue', action: { EntityLogicalName: 'opportunity', AttributeLogicalName: 'pcs_helptype', Value: 727000005 } }));
    expect(deletedTwice.status).toBe(404);
  });
});
