import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, expectJsforceError, opportunity, startHarness, type SalesforceHarness } from './helpers.ts';

const base = `/services/data/v${API_VERSION}`;

describe('Tooling API CustomField', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('creates fields the way setup will, and each is usable at once in describe, writes and SOQL', async () => {
    const tooling = h.conn.tooling.sobject('CustomField');
    const referral = await tooling.create({
      FullName: 'Opportunity.Referral_Identifier__c',
      Metadata: { label: 'Referral', type: 'Text', length: 100, externalId: true, unique: true },
    });
    expect(referral).toMatchObject({ id: expect.stringMatching(/^00N/), success: true, errors: [] });
    await tooling.create({ FullName: 'Opportunity.Sync_with_Partner_Center__c', Metadata: { label: 'Sync with Partner Center', type: 'Checkbox', defaultValue: 'false' } });
    await tooling.create({ FullName: 'Opportunity.Referral_Link__c', Metadata: { label: 'Referral Link', type: 'Url' } });
    await tooling.create({ FullName: 'Opportunity.Audit__c', Metadata: { label: 'Audit', type: 'LongTextArea', length: 100000, visibleLines: 4 } });
    await tooling.create({
      FullName: 'Opportunity.How_can_Microsoft_help__c',
      Metadata: {
        label: 'How can Microsoft help?',
        type: 'Picklist',
        valueSet: { restricted: true, valueSetDefinition: { value: [{ fullName: 'Proof of concept or demo', default: false }, { fullName: 'General or other', default: false }] } },
      },
    });

    const fields = (await h.conn.sobject('Opportunity').describe()).fields;
    const byName = (name: string): Record<string, unknown> | undefined => fields.find((field) => field.name === name) as unknown as Record<string, unknown> | undefined;
    expect(byName('Sync_with_Partner_Center__c')).toMatchObject({ type: 'boolean', custom: true, defaultValue: false });
    expect(byName('Referral_Link__c')).toMatchObject({ type: 'url', length: 255 });
    expect(byName('Audit__c')).toMatchObject({ type: 'textarea', length: 100000 });
    expect(byName('How_can_Microsoft_help__c')).toMatchObject({ type: 'picklist', restrictedPicklist: true });

    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity({ Referral_Identifier__c: 'REF-42', How_can_Microsoft_help__c: 'proof of concept or demo' }));
    const record = await h.conn.sobject('Opportunity').retrieve(id);
    expect(record).toMatchObject({ Referral_Identifier__c: 'REF-42', Sync_with_Partner_Center__c: false, How_can_Microsoft_help__c: 'Proof of concept or demo', Audit__c: null });
    const found = await h.conn.query<{ Id: string }>("SELECT Id, Referral_Link__c FROM Opportunity WHERE Referral_Identifier__c = 'ref-42' AND Sync_with_Partner_Center__c = false");
    expect(found.records.map((row) => row.Id)).toEqual([id]);
    const badPick = await expectJsforceError(h.conn.sobject('Opportunity').update({ Id: id, How_can_Microsoft_help__c: 'Free lunch' }));
    expect(badPick.errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
  });

  it('refuses a second field with the same name with DUPLICATE_DEVELOPER_NAME', async () => {
    const error = await expectJsforceError(
      h.conn.tooling.sobject('CustomField').create({ FullName: 'Opportunity.Referral_Identifier__c', Metadata: { label: 'Again', type: 'Text', length: 10 } }),
    );
    expect(error.errorCode).toBe('DUPLICATE_DEVELOPER_NAME');
    expect(error.message).toBe('There is already a field named Referral_Identifier on Opportunity.');
  });

  it('lets setup check for existing fields with a tooling query', async () => {
    const result = await h.conn.tooling.query<{ Id: string; DeveloperName: string; TableEnumOrId: string }>(
      "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Opportunity' AND DeveloperName IN ('Referral_Identifier', 'Missing_Field')",
    );
    expect(result.totalSize).toBe(1);
    expect(result.records[0]).toMatchObject({ DeveloperName: 'Referral_Identifier', TableEnumOrId: 'Opportunity', attributes: { type: 'CustomField' } });
    const read = await h.http<{ FullName: string; Metadata: { type: string; externalId: boolean } }>('GET', `${base}/tooling/sobjects/CustomField/${result.records[0]?.Id}`);
    expect(read.body).toMatchObject({ FullName: 'Opportunity.Referral_Identifier__c', Metadata: { type: 'Text', externalId: true } });
  });

  it('validates metadata like the Metadata API does', async () => {
    const create = (body: Record<string, unknown>): Promise<unknown> => h.conn.tooling.sobject('CustomField').create(body);
    const noLength = await expectJsforceError(create({ FullName: 'Lead.Partner_Code__c', Metadata: { label: 'Code', type: 'Text' } }));
    expect(noLength).toMatchObject({ errorCode: 'FIELD_INTEGRITY_EXCEPTION', message: "Must specify 'length' for a CustomField of type Text" });
    const badName = await expectJsforceError(create({ FullName: 'Lead.Bad__Name__c', Metadata: { label: 'Bad', type: 'Text', length: 5 } }));
    expect(badName.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const noDefault = await expectJsforceError(create({ FullName: 'Lead.Flag__c', Metadata: { label: 'Flag', type: 'Checkbox' } }));
    expect(noDefault.message).toContain("'defaultValue'");
    const unknownObject = await expectJsforceError(create({ FullName: 'Deal__c.Code__c', Metadata: { label: 'Code', type: 'Text', length: 5 } }));
    expect(unknownObject.errorCode).toBe('INVALID_TYPE');
    const fields = (await h.conn.sobject('Lead').describe()).fields.map((field) => field.name);
    expect(fields.filter((name) => name.endsWith('__c'))).toEqual([]);
  });

  it('deletes a field and its values', async () => {
    const { id: fieldId = '' } = await h.conn.tooling.sobject('CustomField').create({ FullName: 'Account.Temp__c', Metadata: { label: 'Temp', type: 'Text', length: 5 } });
    const { id = '' } = await h.conn.sobject('Account').create({ Name: 'Temp holder', Temp__c: 'x' });
    expect((await h.http('DELETE', `${base}/tooling/sobjects/CustomField/${fieldId}`)).status).toBe(204);
    const record = await h.conn.sobject('Account').retrieve(id);
    expect('Temp__c' in record).toBe(false);
    expect((await expectJsforceError(h.conn.query('SELECT Temp__c FROM Account'))).errorCode).toBe('INVALID_FIELD');
  });

  it('updates a picklist value set with a PATCH of the whole Metadata; duplicates and unknown fields are refused', async () => {
    const valueSet = (values: string[]) => ({ restricted: true, valueSetDefinition: { sorted: false, value: values.map((value) => ({ fullName: value, label: value, default: false })) } });
    const { id: fieldId = '' } = await h.conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Stage_Flag__c', Metadata: { label: 'Stage Flag', type: 'Picklist', valueSet: valueSet(['Red', 'Green']) } });
    const { id = '' } = await h.conn.sobject('Lead').create({ LastName: 'Flagged', Company: 'Acme', Status: 'Open - Not Contacted', Stage_Flag__c: 'Red' });
    expect((await expectJsforceError(h.conn.sobject('Lead').update({ Id: id, Stage_Flag__c: 'Amber' }))).errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');

    const updated = await h.http('PATCH', `${base}/tooling/sobjects/CustomField/${fieldId}`, { Metadata: { label: 'Stage Flag', type: 'Picklist', valueSet: valueSet(['Red', 'Green', 'Amber']) } });
    expect(updated.status).toBe(204);
    await h.conn.sobject('Lead').update({ Id: id, Stage_Flag__c: 'Amber' });
    expect((await h.conn.sobject('Lead').retrieve(id)).Stage_Flag__c).toBe('Amber');
    const read = await h.http<{ Metadata: { valueSet: { valueSetDefinition: { value: Array<{ fullName: string }> } } } }>('GET', `${base}/tooling/sobjects/CustomField/${fieldId}`);
    expect(read.body.Metadata.valueSet.valueSetDefinition.value.map((value) => value.fullName)).toEqual(['Red', 'Green', 'Amber']);

    const duplicate = await h.http<Array<{ errorCode: string }>>('PATCH', `${base}/tooling/sobjects/CustomField/${fieldId}`, { Metadata: { label: 'Stage Flag', type: 'Picklist', valueSet: valueSet(['Red', 'red']) } });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body[0]?.errorCode).toBe('DUPLICATE_VALUE');
    const retyped = await h.http<Array<{ errorCode: string }>>('PATCH', `${base}/tooling/sobjects/CustomField/${fieldId}`, { Metadata: { label: 'Stage Flag', type: 'Text', length: 10 } });
    expect(retyped.body[0]?.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const unknown = await h.http('PATCH', `${base}/tooling/sobjects/CustomField/00N000000000000AAA`, { Metadata: { label: 'X', type: 'Picklist', valueSet: valueSet(['A']) } });
    expect(unknown.status).toBe(404);
    // The refused updates changed nothing.
    expect((await h.conn.sobject('Lead').describe()).fields.find((field) => field.name === 'Stage_Flag__c')?.picklistValues?.map((entry) => entry.value)).toEqual(['Red', 'Green', 'Amber']);
  });
});
