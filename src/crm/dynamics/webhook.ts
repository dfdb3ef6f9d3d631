import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { CrmEntityName } from '../connector.ts';
import type { DealPeople } from '../deal-contacts.ts';
import { entityOfLogicalName } from './tables.ts';

/*
 * Dataverse webhooks ("Use webhooks to create external handlers for server events"): the body is a JSON-serialized
 * RemoteExecutionContext. It is a hint only — the worker re-reads the row — so parsing extracts just what routes and
 * deduplicates a job, and stays tolerant: unknown fields are ignored, property names are matched case-insensitively,
 * and collections may come either as the WCF `[{ "key": …, "value": … }]` arrays of the verbatim sample or as plain
 * JSON objects keyed by name.
 */

export interface DataverseWebhookEvent {
  entity: CrmEntityName;
  /** The row's id, lower case. */
  id: string;
  /** `Create`, `Update`, `Delete`, `Win`, `Lose`, … */
  messageName: string;
  /** Who actually made the call: compare with the connector's application user to recognise an echo of our writes. */
  initiatingUserId: string | undefined;
  /** Whom the operation ran as (differs under impersonation). */
  userId: string | undefined;
  correlationId: string | undefined;
  /** 1 for a user's own operation; higher when a plug-in or workflow caused it. */
  depth: number | undefined;
  /** Unique per operation: a redelivered webhook repeats it, so it is the natural dedup key. */
  operationId: string | undefined;
  /** The step that fired (`OwningExtension.Id`). */
  stepId: string | undefined;
  /** `OperationCreatedOn`, as an ISO instant. */
  occurredAt: string | undefined;
}

export class DataverseWebhookParseError extends Error {
  override readonly name = 'DataverseWebhookParseError';
}

const GUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** Looks a property up ignoring case: PascalCase in the docs' sample, but nothing promises every serializer keeps it. */
function property(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return undefined;
  const record = object as Record<string, unknown>;
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === lower);
  return key === undefined ? undefined : record[key];
}

/** A value from a WCF `{key, value}` array or a plain object. */
function entry(collection: unknown, name: string): unknown {
  if (Array.isArray(collection)) {
    const lower = name.toLowerCase();
    const found = collection.find((item) => {
      const key = property(item, 'key');
      return typeof key === 'string' && key.toLowerCase() === lower;
    });
    return found === undefined ? undefined : property(found, 'value');
  }
  return property(collection, name);
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

/** A GUID, lower case; the empty GUID names nothing (what a context without a primary row may carry), so it is absent. */
function guid(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = GUID.exec(value.trim())?.[1]?.toLowerCase();
  return id === EMPTY_GUID ? undefined : id;
}

/**
 * Win and Lose (the WinOpportunity / LoseOpportunity messages) carry no `Target`: their InputParameters are
 * `OpportunityClose`, the close activity whose `opportunityid` references the opportunity, and `Status`. Whether their
 * `PrimaryEntityId` holds the opportunity's id or the empty GUID is not documented, so the reference is what routes.
 */
function closedOpportunity(inputs: unknown): { logicalName: string; id: string | undefined } | undefined {
  const close = entry(inputs, 'OpportunityClose');
  if (close === undefined || close === null) return undefined;
  const reference = entry(property(close, 'Attributes'), 'opportunityid');
  const logicalName = property(reference, 'LogicalName');
  return { logicalName: typeof logicalName === 'string' && logicalName !== '' ? logicalName : 'opportunity', id: guid(property(reference, 'Id')) };
}

/** `"/Date(1506384247000)/"` or `"/Date(1506409448000-0700)/"` (the offset is display information: ms are UTC). */
export function parseWcfDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const wcf = /^\\?\/Date\((-?\d+)(?:[+-]\d{4})?\)\\?\/$/.exec(value.trim());
  if (wcf?.[1]) return new Date(Number(wcf[1])).toISOString();
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}

const optionalText = z.string().nullish();

/** Top-level fields, keys lower-cased first (see `property`): only what routing and deduplication need. */
const contextSchema = z.looseObject({
  messagename: z.string({ error: 'MessageName is missing' }).min(1, 'MessageName is missing'),
  primaryentityname: optionalText,
  primaryentityid: optionalText,
  initiatinguserid: optionalText,
  userid: optionalText,
  correlationid: optionalText,
  depth: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).nullish(),
  operationid: optionalText,
  operationcreatedon: optionalText,
  inputparameters: z.unknown().optional(),
  owningextension: z.unknown().optional(),
});

function lowerCaseKeys(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key.toLowerCase(), value]));
}

/**
 * Parses a webhook body (already-parsed JSON, or the raw text/bytes) into the event the ingress enqueues. Throws
 * DataverseWebhookParseError, with a reason fit for a 400 answer, when it is not a RemoteExecutionContext about a
 * table the engine syncs.
 */
export function parseDataverseWebhook(body: unknown): DataverseWebhookEvent {
  let json: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      json = JSON.parse(body.toString());
    } catch {
      throw new DataverseWebhookParseError('the body is not JSON');
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DataverseWebhookParseError('the body is not a RemoteExecutionContext object');
  const parsed = contextSchema.safeParse(lowerCaseKeys(json as Record<string, unknown>));
  if (!parsed.success) throw new DataverseWebhookParseError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '));
  const context = parsed.data;

  const target = entry(context.inputparameters, 'Target');
  const closed = target === undefined ? closedOpportunity(context.inputparameters) : undefined;
  const logicalName = closed?.logicalName ?? context.primaryentityname ?? property(target, 'LogicalName');
  if (typeof logicalName !== 'string' || logicalName === '') throw new DataverseWebhookParseError('PrimaryEntityName is missing');
  const entity = entityOfLogicalName(logicalName);
  if (!entity) throw new DataverseWebhookParseError(`the table ${logicalName} is not one cosell-sync syncs`);

  // The Target's Id as a fallback: an oversized payload keeps PrimaryEntityId, but a hand-made test body may not have it.
  const id = closed ? (closed.id ?? guid(context.primaryentityid)) : (guid(context.primaryentityid) ?? guid(property(target, 'Id')));
  if (!id) throw new DataverseWebhookParseError('PrimaryEntityId is missing or not a GUID');

  return {
    entity,
    id,
    messageName: context.messagename,
    initiatingUserId: guid(context.initiatinguserid),
    userId: guid(context.userid),
    correlationId: context.correlationid ?? undefined,
    depth: context.depth ?? undefined,
    operationId: guid(context.operationid),
    stepId: guid(property(context.owningextension, 'Id')),
    occurredAt: parseWcfDate(context.operationcreatedon),
  };
}

/**
 * A notification about an opportunity's people rather than its columns, where Dataverse raises one:
 * - Create / Update / Delete of a `connection` ("Connection entities"): a stakeholder linked to, or unlinked from, the
 *   opportunity. The connection's `record1id` / `record2id` name it (Create and Update carry them in `Target`; a Delete's
 *   Target is a bare reference, so only a pre-image with them routes it). The platform creates the reciprocal
 *   connection too, so one change may arrive twice: deduplicated by the job, not here.
 * - AddUserToRecordTeam / RemoveUserFromRecordTeam ("AddUserToRecordTeam Action"): a user added to or removed from the
 *   opportunity's access team; `Record` names the opportunity. That these messages can carry a webhook step is
 *   UNCONFIRMED (they are SDK messages of systemuser; setup registers them where the org lists a filter).
 * - Assign of an opportunity, where an org still raises it for the legacy AssignRequest: its owner changed. An Update
 *   sending `ownerid` (what the Web API does, "Behavior of specialized update operations") is read as that by its columns.
 * `opportunityId` undefined: a connection between two other rows (nothing to sync). Undefined: not such a notification.
 */
export interface DataversePeopleEvent {
  people: DealPeople;
  opportunityId: string | undefined;
  messageName: string;
  initiatingUserId: string | undefined;
  depth: number | undefined;
  operationId: string | undefined;
  correlationId: string | undefined;
  stepId: string | undefined;
}

const RECORD_TEAM_MESSAGES = new Set(['addusertorecordteam', 'removeuserfromrecordteam']);

function opportunityReference(reference: unknown): string | undefined {
  const logicalName = property(reference, 'LogicalName');
  return typeof logicalName === 'string' && logicalName.toLowerCase() === 'opportunity' ? guid(property(reference, 'Id')) : undefined;
}

/** The opportunity a connection row names at either end, from its Target's or its pre-image's attributes. */
function connectedOpportunity(context: Record<string, unknown>, target: unknown): string | undefined {
  const preImages = property(context, 'PreEntityImages');
  const images = Array.isArray(preImages) ? preImages.map((item) => property(item, 'value')) : preImages && typeof preImages === 'object' ? Object.values(preImages) : [];
  for (const source of [target, ...images]) {
    const attributes = property(source, 'Attributes');
    const found = opportunityReference(entry(attributes, 'record1id')) ?? opportunityReference(entry(attributes, 'record2id'));
    if (found) return found;
  }
  return undefined;
}

/** Reads a body as a people notification (see DataversePeopleEvent); undefined for any other notification. */
export function parseDataversePeople(body: unknown): DataversePeopleEvent | undefined {
  let json: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      json = JSON.parse(body.toString());
    } catch {
      return undefined; // the general parser says why
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const context = json as Record<string, unknown>;
  const message = property(context, 'MessageName');
  if (typeof message !== 'string') return undefined;
  const inputs = property(context, 'InputParameters');
  const target = entry(inputs, 'Target');
  const table = property(context, 'PrimaryEntityName') ?? property(target, 'LogicalName');
  let found: { people: DealPeople; opportunityId: string | undefined } | undefined;
  if (RECORD_TEAM_MESSAGES.has(message.toLowerCase())) found = { people: 'team', opportunityId: opportunityReference(entry(inputs, 'Record')) };
  else if (typeof table === 'string' && table.toLowerCase() === 'connection') found = { people: 'contacts', opportunityId: connectedOpportunity(context, target) };
  else if (message.toLowerCase() === 'assign' && typeof table === 'string' && table.toLowerCase() === 'opportunity') {
    found = { people: 'team', opportunityId: guid(property(context, 'PrimaryEntityId')) ?? guid(property(target, 'Id')) };
  }
  if (!found) return undefined;
  const depth = property(context, 'Depth');
  const text = (name: string) => {
    const value = property(context, name);
    return typeof value === 'string' ? value : undefined;
  };
  return {
    ...found,
    messageName: message,
    initiatingUserId: guid(property(context, 'InitiatingUserId')),
    depth: typeof depth === 'number' ? depth : typeof depth === 'string' && /^\d+$/.test(depth) ? Number(depth) : undefined,
    operationId: guid(property(context, 'OperationId')),
    correlationId: text('CorrelationId'),
    stepId: guid(property(property(context, 'OwningExtension'), 'Id')),
  };
}

/**
 * The columns a Create / Update notification says were sent (its `Target`'s attributes) and when the operation ran:
 * what dates a change field by field. Null when the body carries no Target (Win / Lose, Delete, a trimmed payload).
 */
export function changedColumns(body: string): { columns: string[]; at: string | undefined } | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const target = entry(property(json, 'InputParameters'), 'Target');
  // A stakeholder connection's columns are not the opportunity's, though its notification is filed under it.
  const table = property(target, 'LogicalName');
  if (typeof table === 'string' && entityOfLogicalName(table) === undefined) return null;
  const attributes = property(target, 'Attributes');
  const names = Array.isArray(attributes)
    ? attributes.map((item) => property(item, 'key')).filter((key): key is string => typeof key === 'string')
    : attributes !== null && typeof attributes === 'object'
      ? Object.keys(attributes)
      : null;
  if (names === null) return null;
  return { columns: names.map((name) => name.toLowerCase()), at: parseWcfDate(property(json, 'OperationCreatedOn')) };
}

/**
 * How the service endpoint authenticates to us ("Use webhooks to create external handlers for server events"):
 * `HttpHeader` sends a header we choose; `WebhookKey` sends the key as `?code=` (the Azure Functions convention, where
 * it may equally arrive as `x-functions-key`).
 */
export type DynamicsWebhookAuth = { kind: 'HttpHeader'; headerName: string; secret: string } | { kind: 'WebhookKey'; secret: string };

export const DEFAULT_WEBHOOK_HEADER = 'x-cosell-webhook-key';

export type WebhookAuthResult = { ok: true } | { ok: false; reason: string };

type HeaderBag = Record<string, string | string[] | undefined>;
type QueryBag = Record<string, unknown> | URLSearchParams;

function headerValue(headers: HeaderBag, name: string): string | undefined {
  const lower = name.toLowerCase();
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === lower);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

function queryValue(query: QueryBag, name: string): string | undefined {
  if (query instanceof URLSearchParams) return query.get(name) ?? undefined;
  const value = query[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Compares in constant time. Both sides are hashed first so the buffers always have equal length: timingSafeEqual
 * throws on unequal lengths, and returning early on a length mismatch would tell an attacker the secret's length.
 */
export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Checks the credential the service endpoint sends. The result's reason never contains either value. */
export function verifyWebhookAuth(headers: HeaderBag, query: QueryBag, auth: DynamicsWebhookAuth): WebhookAuthResult {
  if (auth.secret === '') return { ok: false, reason: 'no webhook secret is configured' };
  let presented: string | undefined;
  let where: string;
  if (auth.kind === 'HttpHeader') {
    presented = headerValue(headers, auth.headerName);
    where = `header ${auth.headerName}`;
  } else {
    presented = queryValue(query, 'code') ?? headerValue(headers, 'x-functions-key');
    where = 'code query parameter or x-functions-key header';
  }
  if (presented === undefined || presented === '') return { ok: false, reason: `missing ${where}` };
  return secretsEqual(presented, auth.secret) ? { ok: true } : { ok: false, reason: `wrong ${where}` };
}

/**
 * The service endpoint's `authvalue` for an auth setting (HttpHeader: the settings XML of "Use webhooks to create
 * external handlers for server events", UNCONFIRMED).
 */
export function endpointAuthValue(auth: DynamicsWebhookAuth): { authtype: number; authvalue: string } {
  if (auth.kind === 'WebhookKey') return { authtype: 4, authvalue: auth.secret };
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return { authtype: 5, authvalue: `<settings><setting name="${escape(auth.headerName)}" value="${escape(auth.secret)}" /></settings>` };
}

/** Who made the change a stored notification reports (InitiatingUserId, Depth); undefined when the body says nothing. */
export function webhookActor(payload: string): { initiatingUserId: string | undefined; depth: number | undefined } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const initiatingUserId = guid(property(json, 'InitiatingUserId'));
  if (initiatingUserId === undefined) return undefined;
  const depth = property(json, 'Depth');
  return { initiatingUserId, depth: typeof depth === 'number' ? depth : typeof depth === 'string' && /^\d+$/.test(depth) ? Number(depth) : undefined };
}
