import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { SANDBOX_ORGANIZATION } from '../auth/users.ts';
import type { DataServices } from '../data/data-services.ts';
import { badRequest, DataverseError, ErrorCode, recordNotFound, recordNotFoundByKey } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import { parseKeyPredicate } from '../odata/resource-path.ts';
import { OPTION_KINDS, type AttributeDefinition } from '../metadata/attribute-model.ts';
import { labelText } from '../metadata/labels.ts';
import type { EventCollector } from '../webhooks/events.ts';
import { emptyResponse, jsonResponse, methodNotAllowed, type DataRequest, type DataResponse } from './data-request.ts';
import { contextUrl } from './response-helpers.ts';

const QUALIFIED_PREFIX = 'Microsoft.Dynamics.CRM.';

const publishXmlSchema = z.object({ ParameterXml: z.string().min(1) });

/**
 * InsertOptionValue (Web API action reference, "InsertOptionValue Action"; Microsoft Learn "Insert, update, delete,
 * and order local options"): a local choice column names its table and column; OptionSetName is for global choices,
 * which the sandbox does not model.
 */
const insertOptionValueSchema = z
  .object({
    EntityLogicalName: z.string().min(1).max(128),
    AttributeLogicalName: z.string().min(1).max(128),
    OptionSetName: z.string().max(128).optional(),
    Value: z.number().int().optional(),
    Label: z.looseObject({}),
    Description: z.looseObject({}).optional(),
    SolutionUniqueName: z.string().max(128).optional(),
  })
  .loose();

/** DeleteOptionValue (Web API action reference): removes one option of a local choice column. */
const deleteOptionValueSchema = z
  .object({
    EntityLogicalName: z.string().min(1).max(128),
    AttributeLogicalName: z.string().min(1).max(128),
    OptionSetName: z.string().max(128).optional(),
    Value: z.number().int(),
    SolutionUniqueName: z.string().max(128).optional(),
  })
  .loose();

export const ACTION_NAMES = ['WinOpportunity', 'LoseOpportunity', 'PublishXml', 'PublishAllXml', 'WhoAmI', 'InsertOptionValue', 'DeleteOptionValue'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

export function isActionName(name: string): name is ActionName {
  return (ACTION_NAMES as readonly string[]).includes(name);
}

/**
 * Actions bound to a row, per table: `POST leads(<id>)/Microsoft.Dynamics.CRM.QualifyLead` ("QualifyLead Action"),
 * `POST systemusers(<id>)/Microsoft.Dynamics.CRM.AddUserToRecordTeam` ("AddUserToRecordTeam Action",
 * "RemoveUserFromRecordTeam Action": bound to systemuser).
 */
const BOUND_ACTIONS = { lead: ['QualifyLead'], systemuser: ['AddUserToRecordTeam', 'RemoveUserFromRecordTeam'] } as const satisfies Record<string, readonly string[]>;
export type BoundActionName = (typeof BOUND_ACTIONS)[keyof typeof BOUND_ACTIONS][number];

/** The bound action a path segment names on this table (fully qualified or not), if any. */
export function boundActionName(entity: EntityDefinition, segment: string): BoundActionName | undefined {
  const name = segment.startsWith(QUALIFIED_PREFIX) ? segment.slice(QUALIFIED_PREFIX.length) : segment;
  const actions: readonly string[] = entity.logicalName === 'lead' ? BOUND_ACTIONS.lead : entity.logicalName === 'systemuser' ? BOUND_ACTIONS.systemuser : [];
  return actions.find((action): action is BoundActionName => action === name);
}

/**
 * Unbound actions and functions the product needs: win/lose ("WinOpportunity Action"), publish ("Create and update
 * column definitions using the Web API"), WhoAmI (how a client learns its own systemuserid, to recognise its own
 * writes), and adding an option to a choice column ("InsertOptionValue Action").
 */
export class ActionHandlers {
  constructor(private readonly services: DataServices) {}

  /**
   * QualifyLead answers the created rows as `Collection(crmbaseentity)` ("QualifyLead Action"): one entry per row with
   * its `@odata.type` and primary id (the exact `@odata.context` fragment is UNCONFIRMED).
   */
  handleBound(name: BoundActionName, request: DataRequest, entity: EntityDefinition, keyText: string, events: EventCollector): DataResponse {
    if (request.method !== 'POST') throw methodNotAllowed(request.method);
    const key = this.services.locator.resolveKey(entity, parseKeyPredicate(keyText));
    const record = this.services.locator.find(entity, key);
    if (!record) throw key.kind === 'id' ? recordNotFound(entity.logicalName, key.id) : recordNotFoundByKey(entity.logicalName, key.text);
    switch (name) {
      case 'QualifyLead': {
        const created = this.services.qualifier.qualify(record.id, request.body, {
          caller: request.caller,
          events,
          correlationId: request.correlationId,
          ...(request.query.has('tag') ? { tag: request.query.get('tag') ?? '' } : {}),
        });
        return jsonResponse(200, {
          '@odata.context': contextUrl(request.serviceRoot, 'crmbaseentities'),
          value: created.map((row) => ({ '@odata.type': `#${QUALIFIED_PREFIX}${row.entity.logicalName}`, [row.entity.primaryIdAttribute]: row.id })),
        });
      }
      case 'AddUserToRecordTeam':
      case 'RemoveUserFromRecordTeam': {
        const change =
          name === 'AddUserToRecordTeam'
            ? this.services.accessTeams.add(record, request.body, { caller: request.caller, events, correlationId: request.correlationId })
            : this.services.accessTeams.remove(record, request.body, { caller: request.caller, events, correlationId: request.correlationId });
        return jsonResponse(200, {
          '@odata.context': contextUrl(request.serviceRoot, `${QUALIFIED_PREFIX}${name}Response`),
          AccessTeamId: change.accessTeamId,
        });
      }
    }
  }

  handle(name: ActionName, request: DataRequest, events: EventCollector): DataResponse {
    if (name === 'WhoAmI') {
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return jsonResponse(200, {
        '@odata.context': contextUrl(request.serviceRoot, 'Microsoft.Dynamics.CRM.WhoAmIResponse'),
        BusinessUnitId: SANDBOX_ORGANIZATION.businessUnitId,
        UserId: request.caller.userId,
        OrganizationId: SANDBOX_ORGANIZATION.id,
      });
    }
    if (request.method !== 'POST') throw methodNotAllowed(request.method);
    switch (name) {
      case 'WinOpportunity':
      case 'LoseOpportunity':
        this.services.closer.close(name === 'WinOpportunity' ? 'Win' : 'Lose', request.body, {
          caller: request.caller,
          events,
          correlationId: request.correlationId,
          ...(request.contentIds ? { contentIds: request.contentIds } : {}),
          ...(request.query.has('tag') ? { tag: request.query.get('tag') ?? '' } : {}),
        });
        return emptyResponse(204);
      case 'PublishXml': {
        const parsed = parseWithProblems(publishXmlSchema, request.body ?? {});
        if (!parsed.ok) throw badRequest(`Invalid PublishXml request: ${summarizeProblems(parsed.problems)}`);
        // Accepted and ignored: the sandbox has no forms or views, and columns are usable without publishing ("Create
        // and update column definitions using the Web API").
        return emptyResponse(204);
      }
      case 'PublishAllXml':
        return emptyResponse(204);
      case 'InsertOptionValue':
        return jsonResponse(200, {
          '@odata.context': contextUrl(request.serviceRoot, 'Microsoft.Dynamics.CRM.InsertOptionValueResponse'),
          NewOptionValue: this.insertOptionValue(request),
        });
      case 'DeleteOptionValue':
        this.deleteOptionValue(request);
        return emptyResponse(204);
    }
  }

  private deleteOptionValue(request: DataRequest): void {
    const parsed = parseWithProblems(deleteOptionValueSchema, request.body ?? {});
    if (!parsed.ok) throw badRequest(`Invalid DeleteOptionValue request: ${summarizeProblems(parsed.problems)}`);
    const body = parsed.value;
    if (body.OptionSetName !== undefined) throw badRequest('The Dataverse sandbox models local choices only: name EntityLogicalName and AttributeLogicalName, not OptionSetName.');
    const attribute = this.choiceColumn(body.EntityLogicalName, body.AttributeLogicalName);
    const options = attribute.options ?? [];
    if (!options.some((option) => option.value === body.Value)) {
      throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `The option value ${body.Value} does not exist in the option set of attribute '${attribute.logicalName}'.`);
    }
    // Rows keep the number they hold, as in Dataverse; it is refused for new writes only.
    attribute.options = options.filter((option) => option.value !== body.Value);
  }

  /** A local Picklist / MultiSelectPicklist column, or the error Dataverse answers for a missing or non-choice column. */
  private choiceColumn(entityLogicalName: string, attributeLogicalName: string): AttributeDefinition {
    const entity = this.services.registry.requireEntity(entityLogicalName);
    const attribute = entity.attributes.get(attributeLogicalName.toLowerCase());
    if (!attribute) {
      throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `Could not find attribute '${attributeLogicalName}' on entity '${entity.logicalName}'.`);
    }
    if (!OPTION_KINDS.has(attribute.kind) || attribute.kind === 'State' || attribute.kind === 'Status' || !attribute.options) {
      throw badRequest(`Attribute '${attribute.logicalName}' is not a choice column: option actions apply to Picklist and MultiSelectPicklist columns.`);
    }
    return attribute;
  }

  private insertOptionValue(request: DataRequest): number {
    const parsed = parseWithProblems(insertOptionValueSchema, request.body ?? {});
    if (!parsed.ok) throw badRequest(`Invalid InsertOptionValue request: ${summarizeProblems(parsed.problems)}`);
    const body = parsed.value;
    if (body.OptionSetName !== undefined) throw badRequest('The Dataverse sandbox models local choices only: name EntityLogicalName and AttributeLogicalName, not OptionSetName.');
    const attribute = this.choiceColumn(body.EntityLogicalName, body.AttributeLogicalName);
    const options = attribute.options ?? [];
    const text = labelText(body.Label);
    if (text === undefined || text.trim() === '') throw badRequest('Label needs at least one LocalizedLabel.');
    const taken = new Set(options.map((option) => option.value));
    let value = body.Value;
    if (value === undefined) {
      // The platform generates a value in the publisher's option-value range when none is given.
      value = 100_000_000;
      while (taken.has(value)) value += 1;
    } else if (taken.has(value)) {
      // The exact code Dataverse returns for a duplicate option value is UNCONFIRMED; the shape is its usual error body.
      throw badRequest(`An option with the value ${value} already exists in the option set of attribute '${attribute.logicalName}'.`, ErrorCode.DuplicateRecord);
    }
    attribute.options = [...options, { value, label: text }];
    return value;
  }
}
