import type { SalesforceContext } from '../context.ts';
import { renderRecord } from '../data/record-wire.ts';
import { resourceNotFound } from '../errors.ts';
import { param, type ApiRequest, type ApiRoute } from './api-types.ts';
import { queryRoutes } from './query-handlers.ts';

/**
 * The Tooling API subset setup needs (Tooling API "CustomField", "CustomObject"): create/read/update/delete
 * CustomField, create and read CustomObject, and query both.
 */
export function toolingRoutes(ctx: SalesforceContext): ApiRoute[] {
  const { tooling } = ctx;
  const requireCustomFieldType = (request: ApiRequest): void => {
    if (param(request, 'sobject').toLowerCase() !== 'customfield') throw resourceNotFound();
  };
  const isCustomObjectType = (request: ApiRequest): boolean => param(request, 'sobject').toLowerCase() === 'customobject';
  return [
    {
      method: 'POST',
      path: '/tooling/sobjects/:sobject',
      composite: false,
      handler: (request) => {
        const customObject = isCustomObjectType(request);
        if (!customObject) requireCustomFieldType(request);
        const record = customObject ? tooling.createCustomObject(request.body, request.user.id) : tooling.createCustomField(request.body, request.user.id);
        return {
          status: 201,
          body: { id: record.id, success: true, errors: [], warnings: [], infos: [] },
          headers: { location: `/services/data/v${request.version}/tooling/sobjects/${customObject ? 'CustomObject' : 'CustomField'}/${record.id}` },
        };
      },
    },
    {
      method: 'GET',
      path: '/tooling/sobjects/:sobject/:id',
      composite: false,
      handler: (request) => {
        if (isCustomObjectType(request)) {
          const record = tooling.requireCustomObject(param(request, 'id'));
          const type = tooling.registry.get('CustomObject');
          if (!type) throw resourceNotFound();
          return { status: 200, body: renderRecord(type, record, request.version, type.fields, '/tooling') };
        }
        requireCustomFieldType(request);
        const record = tooling.requireCustomField(param(request, 'id'));
        const type = tooling.registry.get('CustomField');
        if (!type) throw resourceNotFound();
        const body = renderRecord(type, record, request.version, type.fields, '/tooling');
        return { status: 200, body: { ...body, Metadata: tooling.metadataOf(record.id) ?? null } };
      },
    },
    {
      method: 'PATCH',
      path: '/tooling/sobjects/:sobject/:id',
      composite: false,
      handler: (request) => {
        requireCustomFieldType(request);
        tooling.updateCustomField(param(request, 'id'), request.body, request.user.id);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/tooling/sobjects/:sobject/:id',
      composite: false,
      handler: (request) => {
        requireCustomFieldType(request);
        tooling.deleteCustomField(param(request, 'id'));
        return { status: 204 };
      },
    },
    ...queryRoutes(ctx, { registry: tooling.registry, store: tooling.store }, '/tooling'),
  ];
}
