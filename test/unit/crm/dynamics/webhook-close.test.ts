import { describe, expect, it } from 'vitest';
import { DataverseWebhookParseError, parseDataverseWebhook } from '../../../../src/crm/dynamics/webhook.ts';

/*
 * Win / Lose contexts as Dataverse sends them for the WinOpportunity / LoseOpportunity messages: InputParameters carry
 * `OpportunityClose` (with the opportunity reference) and `Status`, no `Target`, and PrimaryEntityId may be the empty
 * GUID. The opportunity reference is what routes the event.
 */

const OPPORTUNITY = '3f2a1c4d-5b6e-4f70-8a9b-0c1d2e3f4a5b';
const CLOSE_ACTIVITY = '9e8d7c6b-5a49-4837-a625-14f3e2d1c0b9';
const EMPTY = '00000000-0000-0000-0000-000000000000';

function winContext(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    MessageName: 'Win',
    PrimaryEntityName: 'opportunity',
    PrimaryEntityId: EMPTY,
    OperationId: 'a1b2c3d4-0000-4000-8000-000000000001',
    InputParameters: [
      {
        key: 'OpportunityClose',
        value: {
          __type: 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts',
          Attributes: [
            { key: 'opportunityid', value: { __type: 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts', Id: OPPORTUNITY.toUpperCase(), LogicalName: 'opportunity', Name: null } },
            { key: 'subject', value: 'Won Opportunity' },
          ],
          Id: CLOSE_ACTIVITY,
          LogicalName: 'opportunityclose',
        },
      },
      { key: 'Status', value: { __type: 'OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts', Value: 3 } },
    ],
    ...overrides,
  });
}

describe('Win / Lose notifications route to the closed opportunity', () => {
  it('takes the opportunity from OpportunityClose when PrimaryEntityId is the empty GUID', () => {
    expect(parseDataverseWebhook(winContext())).toMatchObject({ entity: 'opportunity', id: OPPORTUNITY, messageName: 'Win' });
  });

  it('prefers the OpportunityClose reference over a primary entity naming the close activity', () => {
    const event = parseDataverseWebhook(winContext({ MessageName: 'Lose', PrimaryEntityName: 'opportunityclose', PrimaryEntityId: CLOSE_ACTIVITY }));
    expect(event).toMatchObject({ entity: 'opportunity', id: OPPORTUNITY, messageName: 'Lose' });
  });

  it('still routes by PrimaryEntityId when the close activity has no reference (trimmed or partial payloads)', () => {
    const event = parseDataverseWebhook(winContext({ PrimaryEntityId: OPPORTUNITY, InputParameters: [{ key: 'OpportunityClose', value: { Attributes: [], LogicalName: 'opportunityclose' } }] }));
    expect(event).toMatchObject({ entity: 'opportunity', id: OPPORTUNITY });
  });

  it('never files an event under the empty GUID', () => {
    const body = winContext({ InputParameters: [] });
    expect(() => parseDataverseWebhook(body)).toThrow(DataverseWebhookParseError);
    expect(() => parseDataverseWebhook(body)).toThrow(/PrimaryEntityId/);
  });
});
