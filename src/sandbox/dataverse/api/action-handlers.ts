import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { SANDBOX_ORGANIZATION } from '../auth/users.ts';
import type { DataServices } from '../data/data-services.ts';
import { badRequest } from '../errors.ts';
import type { EventCollector } from '../webhooks/events.ts';
import { emptyResponse, jsonResponse, methodNotAllowed, type DataRequest, type DataResponse } from './data-request.ts';
import { contextUrl } from './response-helpers.ts';

const publishXmlSchema = z.object({ ParameterXml: z.string().min(1) });

export const ACTION_NAMES = ['WinOpportunity', 'LoseOpportunity', 'PublishXml', 'PublishAllXml', 'WhoAmI'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

export function isActionName(name: string): name is ActionName {
  return (ACTION_NAMES as readonly string[]).includes(name);
}

/**
 * Unbound actions and functions the product needs: win/lose ("WinOpportunity Action"), publish ("Create and update
 * column definitions using the Web API"), WhoAmI (how a client learns its own systemuserid, to recognise its own
 * writes).
 */
export class ActionHandlers {
  constructor(private readonly services: DataServices) {}

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
    }
  }
}
