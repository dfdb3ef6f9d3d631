import type { SalesforceContext } from '../context.ts';
import { formatRestDateTime, parseDateTime, DAY_MS } from '../data/wire-dates.ts';
import { renderRecord } from '../data/record-wire.ts';
import { badRequest, ErrorCode, resourceNotFound } from '../errors.ts';
import type { FieldDefinition } from '../schema/field-model.ts';
import type { SObjectType } from '../schema/object-model.ts';
import { describeObject, describeSummary } from '../schema/describe-wire.ts';
import { coerceFieldValue } from '../data/field-input.ts';
import type { StoredRecord } from '../data/record-store.ts';
import { param, type ApiRequest, type ApiResponse, type ApiRoute } from './api-types.ts';
import { checkWritePreconditions, notModified, rowHeaders } from './conditional-requests.ts';

/**
 * `created` appears in upsert results from API 46.0; updates answer 200 with a body from then on, 204 before (REST API
 * "sObject Rows by External ID").
 */
const UPSERT_RESULT_VERSION = 46;
/** getUpdated looks back at most 30 days, getDeleted 15 (REST API "sObject Get Updated/Deleted"). */
const UPDATED_WINDOW_DAYS = 30;
const DELETED_WINDOW_DAYS = 15;

function versionAtLeast(version: string, major: number): boolean {
  return Number.parseFloat(version) >= major;
}

function selectedFields(type: SObjectType, fieldsParam: string | null): readonly FieldDefinition[] {
  if (fieldsParam === null || fieldsParam.trim() === '') return type.fields;
  return fieldsParam.split(',').map((name) => {
    const field = type.field(name.trim());
    if (!field) {
      throw badRequest(
        ErrorCode.InvalidField,
        `No such column '${name.trim()}' on entity '${type.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    return field;
  });
}

function replicationWindow(request: ApiRequest, maxDays: number): { start: number; end: number; latestDateCovered: number } {
  const startText = request.query.get('start');
  const endText = request.query.get('end');
  if (!startText || !endText) throw badRequest(ErrorCode.InvalidReplicationDate, 'Both start and end parameters are required');
  const start = parseDateTime(startText);
  const end = parseDateTime(endText);
  if (start === undefined || end === undefined) throw badRequest(ErrorCode.InvalidReplicationDate, `Invalid date: ${start === undefined ? startText : endText}`);
  const now = Date.now();
  if (start < now - maxDays * DAY_MS) throw badRequest(ErrorCode.InvalidReplicationDate, `startDate cannot be more than ${maxDays} days ago`);
  if (end < start) throw badRequest(ErrorCode.InvalidReplicationDate, 'EndDate before StartDate');
  // Coverage ends at the last whole minute that has passed, as the replication API reports it.
  const latestDateCovered = Math.floor(Math.min(end, now) / 60_000) * 60_000;
  return { start, end, latestDateCovered };
}

/**
 * The sObject resources (REST API "sObject Rows by External ID", "sObject Get Updated/Deleted"): describe, rows by id
 * and by external id, upsert, getUpdated/getDeleted.
 */
export function sobjectRoutes(ctx: SalesforceContext): ApiRoute[] {
  const { records, registry } = ctx;
  const typeOf = (request: ApiRequest): SObjectType => records.requireType(param(request, 'sobject'));

  const readRow = (request: ApiRequest, type: SObjectType, record: StoredRecord): ApiResponse => {
    if (notModified(request.headers, record)) return { status: 304, headers: rowHeaders(record) };
    return { status: 200, body: renderRecord(type, record, request.version, selectedFields(type, request.query.get('fields'))), headers: rowHeaders(record) };
  };

  const byExternalId = (request: ApiRequest, type: SObjectType): StoredRecord | ApiResponse => {
    const field = records.externalIdField(type, param(request, 'field'));
    if (field.name === 'Id') return records.requireRecord(type, param(request, 'value'));
    const matches = records.findByField(type, field, coerceFieldValue(field, param(request, 'value')));
    if (matches.length > 1) return multipleChoices(request, type, matches.map((row) => row.id));
    const match = matches[0];
    if (!match) throw resourceNotFound();
    return match;
  };

  return [
    {
      method: 'GET',
      path: '/sobjects',
      composite: true,
      handler: (request) => ({
        status: 200,
        body: { encoding: 'UTF-8', maxBatchSize: 200, sobjects: registry.all().map((type) => describeSummary(type, request.version)) },
      }),
    },
    {
      method: 'GET',
      path: '/sobjects/:sobject',
      composite: true,
      handler: (request) => ({ status: 200, body: { objectDescribe: describeSummary(typeOf(request), request.version), recentItems: [] } }),
    },
    {
      method: 'GET',
      path: '/sobjects/:sobject/describe',
      composite: true,
      handler: (request) => ({ status: 200, body: describeObject(typeOf(request), request.version, ctx.registry.all()) }),
    },
    {
      method: 'POST',
      path: '/sobjects/:sobject',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const record = ctx.store.transaction(() => records.create(type, request.body, request.write));
        return {
          status: 201,
          body: { id: record.id, success: true, errors: [] },
          headers: { location: `/services/data/v${request.version}/sobjects/${type.name}/${record.id}` },
        };
      },
    },
    {
      method: 'GET',
      path: '/sobjects/:sobject/updated',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const window = replicationWindow(request, UPDATED_WINDOW_DAYS);
        const ids = ctx.store
          .all(type.name)
          .filter((row) => {
            const stamp = Number(row.values.SystemModstamp ?? 0);
            return stamp >= window.start && stamp <= window.end;
          })
          .map((row) => row.id);
        return { status: 200, body: { ids, latestDateCovered: formatRestDateTime(window.latestDateCovered) } };
      },
    },
    {
      method: 'GET',
      path: '/sobjects/:sobject/deleted',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const window = replicationWindow(request, DELETED_WINDOW_DAYS);
        const deletedRecords = ctx.store
          .all(type.name, { includeDeleted: true })
          .filter((row) => row.deletedAt !== null && row.deletedAt >= window.start && row.deletedAt <= window.end)
          .map((row) => ({ id: row.id, deletedDate: formatRestDateTime(row.deletedAt ?? 0) }));
        return {
          status: 200,
          body: {
            deletedRecords,
            earliestDateAvailable: formatRestDateTime(Math.floor((Date.now() - DELETED_WINDOW_DAYS * DAY_MS) / 60_000) * 60_000),
            latestDateCovered: formatRestDateTime(window.latestDateCovered),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/sobjects/:sobject/:id',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        return readRow(request, type, records.requireRecord(type, param(request, 'id')));
      },
    },
    {
      method: 'PATCH',
      path: '/sobjects/:sobject/:id',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const existing = records.requireRecord(type, param(request, 'id'));
        checkWritePreconditions(request.headers, existing);
        ctx.store.transaction(() => records.update(type, existing, request.body, request.write));
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/sobjects/:sobject/:id',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const existing = records.requireRecord(type, param(request, 'id'));
        ctx.store.transaction(() => records.delete(type, existing, request.write));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/sobjects/:sobject/:field/:value',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const found = byExternalId(request, type);
        return 'status' in found ? found : readRow(request, type, found);
      },
    },
    {
      method: 'DELETE',
      path: '/sobjects/:sobject/:field/:value',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const found = byExternalId(request, type);
        if ('status' in found) return found;
        ctx.store.transaction(() => records.delete(type, found, request.write));
        return { status: 204 };
      },
    },
    {
      method: 'PATCH',
      path: '/sobjects/:sobject/:field/:value',
      composite: true,
      handler: (request) => {
        const type = typeOf(request);
        const fieldName = param(request, 'field');
        const value = param(request, 'value');
        const outcome = ctx.store.transaction(() => {
          const field = records.externalIdField(type, fieldName);
          if (field.name !== 'Id' && (request.headers['if-unmodified-since'] !== undefined || request.headers['if-match'] !== undefined)) {
            const [match, ...others] = records.findByField(type, field, coerceFieldValue(field, value));
            if (match && others.length === 0) checkWritePreconditions(request.headers, match);
          }
          return records.upsert(type, fieldName, value, request.body, request.write);
        });
        if (outcome.kind === 'multiple') return multipleChoices(request, type, outcome.ids);
        const withCreated = versionAtLeast(request.version, UPSERT_RESULT_VERSION);
        if (outcome.kind === 'created') {
          return {
            status: 201,
            body: { id: outcome.record.id, success: true, errors: [], ...(withCreated ? { created: true } : {}) },
            headers: { location: `/services/data/v${request.version}/sobjects/${type.name}/${outcome.record.id}` },
          };
        }
        // UNCONFIRMED (REST API "sObject Rows by External ID"): 200 + body for updates from v46 (what current docs and
        // jsforce both handle), 204 before.
        return withCreated ? { status: 200, body: { id: outcome.record.id, success: true, errors: [], created: false } } : { status: 204 };
      },
    },
  ];
}

/**
 * 300 Multiple Choices: several rows share the external id; the body lists their URLs and nothing is written (REST API
 * "sObject Rows by External ID").
 */
function multipleChoices(request: ApiRequest, type: SObjectType, ids: string[]): ApiResponse {
  return { status: 300, body: ids.map((id) => `/services/data/v${request.version}/sobjects/${type.name}/${id}`) };
}

