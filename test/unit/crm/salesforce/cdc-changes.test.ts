import { describe, expect, it } from 'vitest';
import { cdcChangedFields, cdcNotification } from '../../../../src/crm/salesforce/cdc-changes.ts';

const header = (changeType: string, fields: Partial<Record<'changedFields' | 'nulledFields' | 'diffFields', string[]>> = {}) => ({
  entityName: 'Opportunity',
  recordIds: ['006000000000001AAA'],
  changeType,
  commitTimestamp: Date.parse('2026-12-04T12:00:00.150Z'),
  changedFields: [],
  nulledFields: [],
  diffFields: [],
  ...fields,
});

describe('Salesforce CDC changed fields', () => {
  it('an UPDATE names its changed, nulled and diff fields, dated by commitTimestamp, without keeping values', () => {
    const stored = cdcNotification(
      { ChangeEventHeader: header('UPDATE', { changedFields: ['Description', 'LastModifiedDate', 'BillingAddress.City'], nulledFields: ['NextStep'] }), Description: 'secret notes' },
      '/data/OpportunityChangeEvent',
      '42',
    );
    expect(stored.dedupKey).toBe('cdc:/data/OpportunityChangeEvent:42');
    expect(stored.payload).not.toContain('secret notes');
    expect(cdcChangedFields(stored.payload)).toEqual({
      columns: ['description', 'lastmodifieddate', 'billingcity', 'city', 'nextstep'],
      at: '2026-12-04T12:00:00.150Z',
    });
  });

  it('a CREATE names the fields its body carried; a DELETE and an Outbound Message name none', () => {
    const created = cdcNotification({ ChangeEventHeader: header('CREATE'), Name: 'Deal', Amount: 5 }, '/data/OpportunityChangeEvent', '7');
    expect(cdcChangedFields(created.payload)?.columns).toEqual(['name', 'amount']);
    const deleted = cdcNotification({ ChangeEventHeader: header('DELETE') }, '/data/OpportunityChangeEvent', '8');
    expect(cdcChangedFields(deleted.payload)).toBeNull();
    expect(cdcChangedFields(JSON.stringify({ organizationId: '00D', actionId: '04k', notifications: [] }))).toBeNull();
    expect(cdcChangedFields('not json')).toBeNull();
  });
});
