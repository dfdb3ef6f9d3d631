import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectJsforceError, opportunity, startHarness, type SalesforceHarness } from './helpers.ts';

/*
 * Tooling API "CustomObject" and relationship fields (Metadata API "CustomField": Lookup / MasterDetail with referenceTo
 * and relationshipName), driven through jsforce the way `cosell setup salesforce` uses them.
 */

const customObject = (fullName: string, sharingModel = 'ReadWrite') => ({
  FullName: fullName,
  Metadata: { label: 'Microsoft Solution', pluralLabel: 'Microsoft Solutions', nameField: { type: 'Text', label: 'Solution Name' }, deploymentStatus: 'Deployed', sharingModel },
});

describe('Tooling API CustomObject and relationship fields', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('creates a custom object usable at once for records and SOQL, with a custom key prefix and its fields named by the object id', async () => {
    const created = await h.conn.tooling.sobject('CustomObject').create(customObject('Microsoft_Solution__c'));
    expect(created).toMatchObject({ id: expect.stringMatching(/^01I/), success: true });
    const objectId = (created as { id: string }).id;
    await h.conn.tooling.sobject('CustomField').create({ FullName: 'Microsoft_Solution__c.Solution_Id__c', Metadata: { label: 'Solution ID', type: 'Text', length: 100, externalId: true, unique: true } });
    const fields = await h.conn.tooling.query<{ DeveloperName: string; TableEnumOrId: string }>(`SELECT DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = '${objectId}'`);
    expect(fields.records.map((row) => row.DeveloperName)).toEqual(['Solution_Id']);

    const listed = await h.conn.tooling.query<{ Id: string; DeveloperName: string }>("SELECT Id, DeveloperName FROM CustomObject WHERE DeveloperName = 'Microsoft_Solution'");
    expect(listed.records.map((row) => row.Id)).toEqual([objectId]);

    const row = await h.conn.sobject('Microsoft_Solution__c').create({ Name: 'Contoso Analytics', Solution_Id__c: 'SOL-1' });
    expect((row as { id: string }).id).toMatch(/^a00/);
    const found = await h.conn.query<{ Name: string }>("SELECT Name FROM Microsoft_Solution__c WHERE Solution_Id__c = 'sol-1'");
    expect(found.records.map((record) => record.Name)).toEqual(['Contoso Analytics']);
    const duplicate = await expectJsforceError(h.conn.sobject('Microsoft_Solution__c').create({ Name: 'Again', Solution_Id__c: 'SOL-1' }));
    expect(duplicate.errorCode).toBe('DUPLICATE_VALUE');
    const noName = await expectJsforceError(h.conn.sobject('Microsoft_Solution__c').create({ Solution_Id__c: 'SOL-9' }));
    expect(noName.errorCode).toBe('REQUIRED_FIELD_MISSING');
  });

  it('refuses a duplicate object, a name without __c, and a definition missing its sharing model', async () => {
    expect((await expectJsforceError(h.conn.tooling.sobject('CustomObject').create(customObject('Microsoft_Solution__c')))).errorCode).toBe('DUPLICATE_DEVELOPER_NAME');
    expect((await expectJsforceError(h.conn.tooling.sobject('CustomObject').create(customObject('Microsoft_Solution')))).errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const { sharingModel: _dropped, ...noSharing } = customObject('Other__c').Metadata;
    expect((await expectJsforceError(h.conn.tooling.sobject('CustomObject').create({ FullName: 'Other__c', Metadata: noSharing }))).errorCode).toBe('INVALID_INPUT');
  });

  it('makes a junction: master-detail fields to existing objects only, on custom objects only, with parent traversal in SOQL', async () => {
    await h.conn.tooling.sobject('CustomObject').create(customObject('Opportunity_Microsoft_Solution__c', 'ControlledByParent'));
    const fields = h.conn.tooling.sobject('CustomField');
    const unknownParent = await expectJsforceError(
      fields.create({ FullName: 'Opportunity_Microsoft_Solution__c.Nothing__c', Metadata: { label: 'Nothing', type: 'MasterDetail', referenceTo: 'Nothing__c', relationshipName: 'Things' } }),
    );
    expect(unknownParent.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const onStandard = await expectJsforceError(
      fields.create({ FullName: 'Opportunity.Solution__c', Metadata: { label: 'Solution', type: 'MasterDetail', referenceTo: 'Microsoft_Solution__c', relationshipName: 'Deals' } }),
    );
    expect(onStandard.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const noRelationshipName = await expectJsforceError(fields.create({ FullName: 'Opportunity_Microsoft_Solution__c.Opportunity__c', Metadata: { label: 'Opportunity', type: 'MasterDetail', referenceTo: 'Opportunity' } }));
    expect(noRelationshipName.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');

    await fields.create({ FullName: 'Opportunity_Microsoft_Solution__c.Opportunity__c', Metadata: { label: 'Opportunity', type: 'MasterDetail', referenceTo: 'Opportunity', relationshipName: 'Microsoft_Solutions' } });
    await fields.create({ FullName: 'Opportunity_Microsoft_Solution__c.Microsoft_Solution__c', Metadata: { label: 'Microsoft Solution', type: 'MasterDetail', referenceTo: 'Microsoft_Solution__c', relationshipName: 'Opportunities' } });
    const third = await expectJsforceError(fields.create({ FullName: 'Opportunity_Microsoft_Solution__c.Account__c', Metadata: { label: 'Account', type: 'MasterDetail', referenceTo: 'Account', relationshipName: 'Solutions' } }));
    expect(third.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');

    const deal = (await h.conn.sobject('Opportunity').create(opportunity({ Name: 'Junction deal' }))) as { id: string };
    const solution = (await h.conn.query<{ Id: string }>("SELECT Id FROM Microsoft_Solution__c WHERE Solution_Id__c = 'SOL-1'")).records[0]?.Id ?? '';
    const missingMaster = await expectJsforceError(h.conn.sobject('Opportunity_Microsoft_Solution__c').create({ Name: 'x', Opportunity__c: deal.id }));
    expect(missingMaster.errorCode).toBe('REQUIRED_FIELD_MISSING');
    const wrongType = await expectJsforceError(h.conn.sobject('Opportunity_Microsoft_Solution__c').create({ Name: 'x', Opportunity__c: solution, Microsoft_Solution__c: solution }));
    expect(wrongType.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    await h.conn.sobject('Opportunity_Microsoft_Solution__c').create({ Name: 'SOL-1', Opportunity__c: deal.id, Microsoft_Solution__c: solution });

    // The master-detail to Opportunity is Opportunity's "Microsoft Solutions" related list.
    const described = await h.conn.sobject('Opportunity').describe();
    expect(described.childRelationships).toEqual(
      expect.arrayContaining([expect.objectContaining({ childSObject: 'Opportunity_Microsoft_Solution__c', field: 'Opportunity__c', relationshipName: 'Microsoft_Solutions__r', cascadeDelete: true })]),
    );

    const rows = await h.conn.query<{ Microsoft_Solution__r: { Solution_Id__c: string } }>(`SELECT Microsoft_Solution__r.Solution_Id__c FROM Opportunity_Microsoft_Solution__c WHERE Opportunity__c = '${deal.id}'`);
    expect(rows.records.map((row) => row.Microsoft_Solution__r.Solution_Id__c)).toEqual(['SOL-1']);

    // Deleting the master takes the detail with it.
    await h.conn.sobject('Microsoft_Solution__c').destroy(solution);
    expect((await h.conn.query(`SELECT Id FROM Opportunity_Microsoft_Solution__c WHERE Opportunity__c = '${deal.id}'`)).records).toEqual([]);
  });

  it('refuses a master-detail field on an object that already has rows', async () => {
    await h.conn.tooling.sobject('CustomObject').create(customObject('Filled__c'));
    await h.conn.sobject('Filled__c').create({ Name: 'a row' });
    const error = await expectJsforceError(
      h.conn.tooling.sobject('CustomField').create({ FullName: 'Filled__c.Opportunity__c', Metadata: { label: 'Opportunity', type: 'MasterDetail', referenceTo: 'Opportunity', relationshipName: 'Filled' } }),
    );
    expect(error.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    expect(error.message).toMatch(/records already exist/);
  });
});
