import { z } from 'zod';
import type { StreamedNotification } from '../connector.ts';
import { dealPeopleEvent } from '../deal-contacts.ts';

/*
 * What a Change Data Capture event says changed, kept in the inbox so the sync can date each field by the event that
 * changed it (Change Data Capture Developer Guide, "Change Event Header Fields": `changedFields` lists the fields an
 * UPDATE changed, `nulledFields` those it set to null, `diffFields` the long text fields sent as a diff;
 * `commitTimestamp` is when the transaction committed, in milliseconds since the epoch; a CREATE / UNDELETE has empty
 * lists and carries every non-null field in the body instead).
 *
 * Outbound Messages do not say what changed (they carry the selected fields' current values), so a connection on
 * Outbound Messages keeps the record's own time for every field.
 */

const EVENT_NAME = 'cdc-change';

const headerSchema = z.looseObject({
  changeType: z.string(),
  commitTimestamp: z.number().optional(),
  changedFields: z.array(z.string()).default([]),
  nulledFields: z.array(z.string()).default([]),
  diffFields: z.array(z.string()).default([]),
});

/** The stored form: the header as received, and the names (never the values) of the fields the body carried. */
const storedSchema = z.object({
  ChangeEventHeader: headerSchema,
  bodyFields: z.array(z.string()),
});

/**
 * The inbox record of one change event. The values stay out: the sync reads the record itself, and the inbox need not
 * hold a second copy of a deal's data.
 */
export function cdcNotification(payload: Record<string, unknown>, channel: string, replayId: string): StreamedNotification {
  const bodyFields = Object.keys(payload).filter((name) => name !== 'ChangeEventHeader');
  return {
    dedupKey: `cdc:${channel}:${replayId}`,
    eventName: EVENT_NAME,
    payload: JSON.stringify({ ChangeEventHeader: payload.ChangeEventHeader, bodyFields }),
  };
}

/**
 * The inbox record of an OpportunityContactRole change event, filed under its opportunity: a change of the deal's
 * contacts (deal-contacts.ts), not of the opportunity's fields, so it names none (`cdcChangedFields` reads null).
 * OpportunityTeamMember has no change events (it is not in the Change Data Capture Developer Guide's "Change Event
 * Object Support" list): a team member added in Salesforce is found by the periodic re-read of open co-sell pairs, an
 * owner change by the opportunity's own event (OwnerId).
 */
export function contactRoleNotification(changeType: string, channel: string, replayId: string): StreamedNotification {
  return {
    dedupKey: `cdc:${channel}:${replayId}`,
    eventName: dealPeopleEvent('contacts', `OpportunityContactRole-${changeType}`),
    payload: JSON.stringify({ people: 'contacts', entityName: 'OpportunityContactRole', changeType }),
  };
}

/**
 * Column names a changed-field entry stands for, lower case. A compound field's component is named
 * `BillingAddress.City` or `Name.FirstName`; the record's own column is `BillingCity` / `FirstName`.
 */
function columnsOf(name: string): string[] {
  const [compound, component] = name.split('.', 2);
  if (compound === undefined || component === undefined) return [name.toLowerCase()];
  const prefix = compound.endsWith('Address') ? compound.slice(0, -'Address'.length) : '';
  return [`${prefix}${component}`.toLowerCase(), component.toLowerCase()];
}

/** The NotifiedChangesReader of Salesforce: null for anything but a stored CDC CREATE / UPDATE / UNDELETE. */
export function cdcChangedFields(stored: string): { columns: string[]; at: string | undefined } | null {
  let json: unknown;
  try {
    json = JSON.parse(stored);
  } catch {
    return null;
  }
  const parsed = storedSchema.safeParse(json);
  if (!parsed.success) return null; // an Outbound Message, which names no fields
  const header = parsed.data.ChangeEventHeader;
  let names: string[];
  if (header.changeType === 'UPDATE') names = [...header.changedFields, ...header.nulledFields, ...header.diffFields];
  else if (header.changeType === 'CREATE' || header.changeType === 'UNDELETE') names = parsed.data.bodyFields;
  else return null;
  const at = header.commitTimestamp === undefined ? undefined : new Date(header.commitTimestamp).toISOString();
  return { columns: [...new Set(names.flatMap(columnsOf))], at };
}
