import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSink, CrmRecordRef, StreamedNotification } from '../../../../src/crm/connector.ts';
import { cdcChangedFields } from '../../../../src/crm/salesforce/cdc-changes.ts';
import { dealPeopleOf } from '../../../../src/crm/deal-contacts.ts';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import type { SalesforceConnector } from '../../../../src/crm/salesforce/salesforce-connector.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { sellerOpportunity, startHarness, waitFor, type Harness, type Row } from './helpers.ts';

/*
 * A seller's contact role raises an OpportunityContactRole change event (Change Data Capture Developer Guide, "Change
 * Event Object Support"): the stream files it under its opportunity as a change of the deal's contacts, naming none of
 * the opportunity's fields. OpportunityTeamMember is not in that list: adding one raises nothing; its opportunity's
 * owner change does, through the opportunity's own event (OwnerId).
 */

interface Recorded {
  refs: CrmRecordRef[];
  key: string;
  notification: StreamedNotification | undefined;
}

class MemorySink implements ChangeSink {
  readonly cursors = new Map<string, string>();
  readonly recorded: Recorded[] = [];
  async cursor(key: string): Promise<string | null> {
    return this.cursors.get(key) ?? null;
  }
  async record(refs: readonly CrmRecordRef[], key: string, cursor: string, notification?: StreamedNotification): Promise<void> {
    this.recorded.push({ refs: [...refs], key, notification });
    this.cursors.set(key, cursor);
  }
  requestReconcile(): void {}
}

describe('change events about an opportunity\'s people', () => {
  let h: Harness;
  let connector: SalesforceConnector;
  const stops: Array<() => Promise<void>> = [];
  const seller = async (sobject: string, body: Row): Promise<string> => String((await h.control<Row>('POST', `/_sandbox/records/${sobject}`, body)).body.Id);

  beforeAll(async () => {
    h = await startHarness({ streamingLongPollMs: 1_000 });
    await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    connector = await h.connect({}, { sameSecondSettleMs: 0, streamBackoff: { baseMs: 50, maxMs: 200 } });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });
  afterAll(async () => h.close());

  it('a contact role is a change of its opportunity\'s contacts; a team member raises nothing; the owner is an opportunity field', async () => {
    const opportunityId = await seller('Opportunity', sellerOpportunity({ Name: 'People deal' }));
    const sink = new MemorySink();
    stops.push(await connector.startChangeStream(sink));
    const contactId = await seller('Contact', { LastName: 'Poe', Email: 'dan.poe@fabrikam.example.com' });
    await seller('OpportunityContactRole', { OpportunityId: opportunityId, ContactId: contactId });
    await waitFor(() => sink.recorded.some((entry) => entry.key.endsWith('OpportunityContactRoleChangeEvent')), 5_000, 'the contact role event');
    const role = sink.recorded.find((entry) => entry.key.endsWith('OpportunityContactRoleChangeEvent'));
    expect(role?.refs).toEqual([{ entity: 'opportunity', id: opportunityId }]);
    expect(dealPeopleOf(role?.notification?.eventName ?? '')).toBe('contacts');
    expect(cdcChangedFields(role?.notification?.payload ?? '')).toBeNull();

    const users = (await h.control<{ seller: string; integration: string }>('GET', '/_sandbox/users')).body;
    const before = sink.recorded.length;
    await seller('OpportunityTeamMember', { OpportunityId: opportunityId, UserId: users.seller });
    expect((await h.control('PATCH', `/_sandbox/records/Opportunity/${opportunityId}`, { OwnerId: users.integration })).status).toBe(200);
    await waitFor(() => sink.recorded.length > before, 5_000, 'the owner change event');
    const after = sink.recorded.slice(before);
    expect(after.every((entry) => entry.key.endsWith('/OpportunityChangeEvent'))).toBe(true);
    expect(cdcChangedFields(after.at(-1)?.notification?.payload ?? '')?.columns).toContain('ownerid');
  });
});
