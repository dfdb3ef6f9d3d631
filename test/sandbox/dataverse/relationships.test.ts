import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

/*
 * Custom tables and many-to-many relationships as the Dataverse Web API documents them ("Create and update table
 * definitions using the Web API", "Create and update table relationships using the Web API", "Associate and
 * disassociate table rows using the Web API"), driven through dynamics-web-api.
 */

const label = (text: string) => ({
  '@odata.type': 'Microsoft.Dynamics.CRM.Label',
  LocalizedLabels: [{ '@odata.type': 'Microsoft.Dynamics.CRM.LocalizedLabel', Label: text, LanguageCode: 1033 }],
});

const table = (schemaName: string, primaryName = 'new_Name') => ({
  '@odata.type': 'Microsoft.Dynamics.CRM.EntityMetadata',
  SchemaName: schemaName,
  DisplayName: label('Bank Account'),
  DisplayCollectionName: label('Bank Accounts'),
  Description: label('A custom table'),
  OwnershipType: 'OrganizationOwned',
  IsActivity: false,
  HasActivities: false,
  HasNotes: false,
  Attributes: [
    {
      '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
      SchemaName: primaryName,
      IsPrimaryName: true,
      DisplayName: label('Name'),
      RequiredLevel: { Value: 'ApplicationRequired' },
      MaxLength: 100,
      FormatName: { Value: 'Text' },
    },
  ],
});

const manyToMany = (schemaName: string, entity2 = 'new_bankaccount') => ({
  '@odata.type': 'Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata',
  SchemaName: schemaName,
  Entity1LogicalName: 'opportunity',
  Entity2LogicalName: entity2,
  IntersectEntityName: schemaName,
});

let h: SandboxHarness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('custom tables', () => {
  it('creates a table usable for data at once, with its plural entity set and primary columns', async () => {
    await h.api.createEntity({ data: table('new_BankAccount') });
    const definition = (await h.api.retrieveEntity({ key: "LogicalName='new_bankaccount'", select: ['EntitySetName', 'PrimaryIdAttribute', 'PrimaryNameAttribute', 'IsCustomEntity', 'OwnershipType'] })) as Record<string, unknown>;
    expect(definition).toMatchObject({ EntitySetName: 'new_bankaccounts', PrimaryIdAttribute: 'new_bankaccountid', PrimaryNameAttribute: 'new_name', IsCustomEntity: true, OwnershipType: 'OrganizationOwned' });
    const id = await h.api.create({ collection: 'new_bankaccounts', data: { new_name: 'Contoso checking' } });
    const row = (await h.api.retrieve({ collection: 'new_bankaccounts', key: String(id), select: ['new_name', 'statecode'] })) as Record<string, unknown>;
    expect(row).toMatchObject({ new_name: 'Contoso checking', statecode: 0 });
  });

  it('takes columns and an alternate key on the new table, and enforces the key like any other', async () => {
    await h.api.createAttribute({
      entityKey: "LogicalName='new_bankaccount'",
      data: { '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'new_Code', DisplayName: label('Code'), RequiredLevel: { Value: 'None' }, MaxLength: 20 },
    });
    await h.api.create({ collection: 'EntityDefinitions', key: "LogicalName='new_bankaccount'", navigationProperty: 'Keys', data: { SchemaName: 'new_bankaccount_code', DisplayName: label('Code'), KeyAttributes: ['new_code'] } });
    await h.api.upsert({ collection: 'new_bankaccounts', key: "new_code='C-1'", data: { new_name: 'Keyed' } });
    await h.api.upsert({ collection: 'new_bankaccounts', key: "new_code='c-1'", data: { new_name: 'Keyed again' } });
    const keyed = (await h.api.retrieveMultiple({ collection: 'new_bankaccounts', select: ['new_name'], filter: "new_code eq 'C-1'" })).value;
    expect(keyed).toHaveLength(1);
    const duplicate = await expectFailure(h.api.create({ collection: 'new_bankaccounts', data: { new_name: 'Clash', new_code: 'C-1' } }));
    expect(duplicate).toMatchObject({ status: 412, code: '0x80040237' });
    const unknownColumn = await expectFailure(h.api.create({ collection: 'new_bankaccounts', data: { new_name: 'x', new_missing: 1 } }));
    expect(unknownColumn.status).toBe(400);
  });

  it('refuses a second table of the same name, a table without a publisher prefix, and one without its primary name column', async () => {
    expect((await expectFailure(h.api.createEntity({ data: table('new_BankAccount') }))).status).toBe(412);
    const unprefixed = await expectFailure(h.api.createEntity({ data: table('BankAccount2') }));
    expect(unprefixed).toMatchObject({ status: 400, code: '0x80047013' });
    const noName = await expectFailure(h.api.createEntity({ data: { ...table('new_Other'), Attributes: [] } }));
    expect(noName.status).toBe(400);
    expect(noName.message).toMatch(/primary name column/);
  });
});

describe('many-to-many relationships', () => {
  let opportunityId: string;
  let accountIds: string[];

  beforeAll(async () => {
    await h.api.createRelationship({ data: manyToMany('new_opportunity_bankaccount') });
    opportunityId = String(await h.api.create({ collection: 'opportunities', data: { name: 'Deal' } }));
    accountIds = [];
    for (const name of ['A', 'B', 'C']) accountIds.push(String(await h.api.create({ collection: 'new_bankaccounts', data: { new_name: name } })));
  });

  it('is read back by schema name, with the schema name as navigation property on both sides', async () => {
    const relationship = (await h.api.retrieveRelationship({ key: "SchemaName='new_opportunity_bankaccount'" })) as Record<string, unknown>;
    expect(relationship).toMatchObject({
      SchemaName: 'new_opportunity_bankaccount',
      Entity1LogicalName: 'opportunity',
      Entity2LogicalName: 'new_bankaccount',
      Entity1NavigationPropertyName: 'new_opportunity_bankaccount',
      Entity2NavigationPropertyName: 'new_opportunity_bankaccount',
    });
    expect((await expectFailure(h.api.retrieveRelationship({ key: "SchemaName='new_missing'" }))).status).toBe(404);
  });

  it('refuses a relationship to an unknown table, and a duplicate one', async () => {
    const unknown = await expectFailure(h.api.createRelationship({ data: manyToMany('new_opportunity_nothing', 'new_nothing') }));
    expect(unknown.status).toBe(400);
    expect(unknown.message).toMatch(/new_nothing/);
    expect((await expectFailure(h.api.createRelationship({ data: manyToMany('new_opportunity_bankaccount') }))).status).toBe(412);
  });

  it('associates, lists, refuses a duplicate association and disassociates through $ref', async () => {
    const relate = (index: number) =>
      h.api.associate({ collection: 'opportunities', primaryKey: opportunityId, relationshipName: 'new_opportunity_bankaccount', relatedCollection: 'new_bankaccounts', relatedKey: accountIds[index] ?? '' });
    await relate(0);
    await relate(1);
    const related = async () =>
      ((await h.api.retrieve({ collection: 'opportunities', key: opportunityId, navigationProperty: 'new_opportunity_bankaccount', select: ['new_name'] })) as { value: Array<{ new_name: string }> }).value.map((row) => row.new_name);
    expect(await related()).toEqual(['A', 'B']);
    expect((await expectFailure(relate(0))).status).toBe(412);

    // The other side sees the same link.
    const back = (await h.api.retrieve({ collection: 'new_bankaccounts', key: accountIds[1] ?? '', navigationProperty: 'new_opportunity_bankaccount', select: ['name'] })) as { value: Array<{ name: string }> };
    expect(back.value.map((row) => row.name)).toEqual(['Deal']);

    await h.api.disassociate({ collection: 'opportunities', primaryKey: opportunityId, relationshipName: 'new_opportunity_bankaccount', relatedKey: accountIds[0] ?? '' });
    expect(await related()).toEqual(['B']);
    expect((await expectFailure(h.api.disassociate({ collection: 'opportunities', primaryKey: opportunityId, relationshipName: 'new_opportunity_bankaccount', relatedKey: accountIds[0] ?? '' }))).status).toBe(404);
  });

  it('refuses to associate a row of the wrong table, a missing row, or through an unknown navigation property', async () => {
    const accountId = String(await h.api.create({ collection: 'accounts', data: { name: 'Not a bank account' } }));
    const wrongTable = await expectFailure(
      h.api.associate({ collection: 'opportunities', primaryKey: opportunityId, relationshipName: 'new_opportunity_bankaccount', relatedCollection: 'accounts', relatedKey: accountId }),
    );
    expect(wrongTable.status).toBe(400);
    const missing = await expectFailure(
      h.api.associate({ collection: 'opportunities', primaryKey: opportunityId, relationshipName: 'new_opportunity_bankaccount', relatedCollection: 'new_bankaccounts', relatedKey: '00000000-0000-0000-0000-000000000001' }),
    );
    expect(missing.status).toBe(404);
    const unknownProperty = await expectFailure(
      h.api.associate({ collection: 'opportunities', primaryKey: opportunityId, relationshipName: 'new_nothing', relatedCollection: 'new_bankaccounts', relatedKey: accountIds[2] ?? '' }),
    );
    expect(unknownProperty.status).toBeGreaterThanOrEqual(400);
  });

  it('answers $expand of the N:N with a clear not-supported error rather than an unknown property', async () => {
    const expand = await expectFailure(h.api.retrieve({ collection: 'opportunities', key: opportunityId, select: ['name'], expand: [{ property: 'new_opportunity_bankaccount' }] }));
    expect(expand.status).toBe(501);
    expect(expand.message).toMatch(/not modelled/);
  });

  it('drops the associations of a deleted row', async () => {
    await h.api.associate({ collection: 'opportunities', primaryKey: opportunityId, relationshipName: 'new_opportunity_bankaccount', relatedCollection: 'new_bankaccounts', relatedKey: accountIds[2] ?? '' });
    await h.api.deleteRecord({ collection: 'new_bankaccounts', key: accountIds[2] ?? '' });
    const related = (await h.api.retrieve({ collection: 'opportunities', key: opportunityId, navigationProperty: 'new_opportunity_bankaccount', select: ['new_name'] })) as { value: Array<{ new_name: string }> };
    expect(related.value.map((row) => row.new_name)).toEqual(['B']);
  });

  it('keeps intersect rows out of reach of direct writes', async () => {
    const write = await expectFailure(h.api.create({ collection: 'new_opportunity_bankaccountset', data: {} }));
    expect(write.status).toBe(403);
  });
});
