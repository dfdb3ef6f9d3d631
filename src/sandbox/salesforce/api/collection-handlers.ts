import { z } from 'zod';
import { isPlainObject } from '../../shared/deep-merge.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import type { SalesforceContext } from '../context.ts';
import type { WriteContext } from '../data/record-changes.ts';
import { renderRecord } from '../data/record-wire.ts';
import { badRequest, ErrorCode, SalesforceError } from '../errors.ts';
import { toId18 } from '../ids.ts';
import type { SObjectType } from '../schema/object-model.ts';
import { param, type ApiRequest, type ApiResponse, type ApiRoute } from './api-types.ts';

/** sObject Collections take at most 200 records per call (REST API "sObject Collections"). */
export const MAX_COLLECTION_SIZE = 200;

const collectionBody = z
  .object({
    allOrNone: z.boolean().optional(),
    records: z.array(z.record(z.string(), z.unknown())),
  })
  // Clients add options such as collateSubrequests; ignoring unknown members is the tolerant reading.
  .loose();

const retrieveBody = z.object({ ids: z.array(z.string()).min(1), fields: z.array(z.string()).optional() }).loose();

/** Collections report failures per record with `statusCode` (not `errorCode`) inside `errors`. */
interface CollectionError {
  statusCode: string;
  message: string;
  fields: string[];
}

interface CollectionResult {
  id?: string | null;
  success: boolean;
  errors: CollectionError[];
  created?: boolean;
}

const ROLLED_BACK: CollectionError = {
  statusCode: ErrorCode.AllOrNoneRolledBack,
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

class RollbackRequested extends Error {}

function asCollectionErrors(error: unknown): CollectionError[] {
  if (!(error instanceof SalesforceError)) throw error;
  return error.entries.map((entry) => ({ statusCode: entry.errorCode, message: entry.message, fields: entry.fields ?? [] }));
}

function tooMany(count: number): SalesforceError | undefined {
  return count > MAX_COLLECTION_SIZE ? badRequest(ErrorCode.ExceededIdLimit, `record limit reached. cannot submit more than ${MAX_COLLECTION_SIZE} records into this call`) : undefined;
}

function parseCollection(body: unknown): { allOrNone: boolean; records: Array<Record<string, unknown>> } {
  const parsed = parseWithProblems(collectionBody, body ?? {});
  if (!parsed.ok) throw badRequest(ErrorCode.JsonParserError, `Invalid sObject Collections request: ${summarizeProblems(parsed.problems)}`);
  const limit = tooMany(parsed.value.records.length);
  if (limit) throw limit;
  return { allOrNone: parsed.value.allOrNone ?? false, records: parsed.value.records };
}

/**
 * Runs one operation per item. With allOrNone the whole batch is one transaction: any failure rolls everything back,
 * and items that had succeeded report ALL_OR_NONE_OPERATION_ROLLED_BACK. Without it each item commits on its own.
 */
function runBatch<T>(ctx: SalesforceContext, write: WriteContext, items: T[], allOrNone: boolean, operation: (item: T) => CollectionResult): CollectionResult[] {
  if (!allOrNone) {
    return items.map((item) => {
      const mark = write.changes.mark();
      try {
        return ctx.store.transaction(() => operation(item));
      } catch (error) {
        write.changes.rollbackTo(mark);
        return { success: false, errors: asCollectionErrors(error), ...idOf(item) };
      }
    });
  }
  const mark = write.changes.mark();
  const results: CollectionResult[] = [];
  let failed = false;
  try {
    ctx.store.transaction(() => {
      for (const item of items) {
        try {
          results.push(ctx.store.transaction(() => operation(item)));
        } catch (error) {
          failed = true;
          results.push({ success: false, errors: asCollectionErrors(error), ...idOf(item) });
        }
      }
      if (failed) throw new RollbackRequested();
    });
  } catch (error) {
    if (!(error instanceof RollbackRequested)) throw error;
  }
  if (!failed) return results;
  write.changes.rollbackTo(mark);
  return results.map((result, index) => (result.success ? { success: false, errors: [ROLLED_BACK], ...idOf(items[index]) } : result));
}

/** Update/delete results name the record they were about; create results have no id to name once rolled back. */
function idOf(item: unknown): { id?: string } {
  if (typeof item === 'string') return { id: item };
  if (isPlainObject(item)) {
    const id = item.Id ?? item.id;
    if (typeof id === 'string') return { id };
  }
  return {};
}

function recordType(ctx: SalesforceContext, record: Record<string, unknown>, fallback?: string): SObjectType {
  const attributes = record.attributes;
  const name = isPlainObject(attributes) && typeof attributes.type === 'string' ? attributes.type : fallback;
  if (!name) throw badRequest(ErrorCode.InvalidType, 'Must specify a type in the attributes property of each record');
  const type = ctx.registry.get(name);
  if (!type) throw badRequest(ErrorCode.InvalidType, `sObject type '${name}' is not supported.`);
  return type;
}

function stripKeys(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const lower = keys.map((key) => key.toLowerCase());
  return Object.fromEntries(Object.entries(record).filter(([key]) => !lower.includes(key.toLowerCase())));
}

function retrieve(ctx: SalesforceContext, request: ApiRequest, ids: string[], fieldNames: string[] | undefined): ApiResponse {
  const type = ctx.records.requireType(param(request, 'sobject'));
  const limit = tooMany(ids.length);
  if (limit) throw limit;
  const fields = (fieldNames ?? type.fields.map((field) => field.name)).map((name) => {
    const field = type.field(name.trim());
    if (!field) throw badRequest(ErrorCode.InvalidField, `No such column '${name.trim()}' on entity '${type.name}'.`, [name.trim()]);
    return field;
  });
  const body = ids.map((id) => {
    const record = ctx.records.find(type, id.trim());
    return record && record.deletedAt === null ? renderRecord(type, record, request.version, fields) : null;
  });
  return { status: 200, body };
}

/** A collection write: the body's records (200 at most), each through `write`, all-or-none when the body asks. */
function collectionWrite(
  ctx: SalesforceContext,
  route: { method: 'POST' | 'PATCH'; path: string },
  write: (item: Record<string, unknown>, request: ApiRequest) => CollectionResult,
): ApiRoute {
  return {
    ...route,
    composite: true,
    handler: (request) => {
      const { allOrNone, records: items } = parseCollection(request.body);
      return { status: 200, body: runBatch(ctx, request.write, items, allOrNone, (item) => write(item, request)) };
    },
  };
}

/**
 * sObject Collections (REST API "sObject Collections"): create, update, upsert, delete and retrieve up to 200 records
 * per call.
 */
export function collectionRoutes(ctx: SalesforceContext): ApiRoute[] {
  const { records } = ctx;
  return [
    collectionWrite(ctx, { method: 'POST', path: '/composite/sobjects' }, (item, request) => {
      const type = recordType(ctx, item);
      if (item.Id !== undefined || item.id !== undefined) throw badRequest(ErrorCode.InvalidField, 'cannot specify Id in an insert call', ['Id']);
      const created = records.create(type, stripKeys(item, ['attributes']), request.write);
      return { id: created.id, success: true, errors: [] };
    }),
    collectionWrite(ctx, { method: 'PATCH', path: '/composite/sobjects' }, (item, request) => {
      const type = recordType(ctx, item);
      const id = item.Id ?? item.id;
      if (typeof id !== 'string' || id === '') throw badRequest('MISSING_ARGUMENT', 'Id not specified in an update call', ['Id']);
      const existing = records.requireRecord(type, id);
      records.update(type, existing, stripKeys(item, ['attributes', 'Id']), request.write);
      return { id: existing.id, success: true, errors: [] };
    }),
    collectionWrite(ctx, { method: 'PATCH', path: '/composite/sobjects/:sobject/:field' }, (item, request) => {
      const type = recordType(ctx, item, param(request, 'sobject'));
      const field = records.externalIdField(type, param(request, 'field'));
      const key = Object.entries(item).find(([name]) => name.toLowerCase() === field.name.toLowerCase())?.[1];
      if (key === undefined || key === null || key === '') throw badRequest('MISSING_ARGUMENT', `${field.name} not specified`, [field.name]);
      const outcome = records.upsert(type, field.name, String(key), stripKeys(item, ['attributes', field.name]), request.write);
      if (outcome.kind === 'multiple') {
        throw badRequest('DUPLICATE_EXTERNAL_ID', `${field.name}: more than one record found for external id field: [${outcome.ids.join(', ')}]`, [field.name]);
      }
      return { id: outcome.record.id, success: true, errors: [], created: outcome.kind === 'created' };
    }),
    {
      method: 'DELETE',
      path: '/composite/sobjects',
      composite: true,
      handler: (request) => {
        const ids = (request.query.get('ids') ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '');
        const limit = tooMany(ids.length);
        if (limit) throw limit;
        const allOrNone = request.query.get('allOrNone') === 'true';
        const results = runBatch(ctx, request.write, ids, allOrNone, (id) => {
          const id18 = toId18(id);
          const type = id18 ? ctx.registry.byKeyPrefix(id18.slice(0, 3)) : undefined;
          if (!id18 || !type) throw badRequest(ErrorCode.MalformedId, `malformed id ${id}`);
          const existing = records.requireRecord(type, id18);
          records.delete(type, existing, request.write);
          return { id: existing.id, success: true, errors: [] };
        });
        return { status: 200, body: results };
      },
    },
    {
      method: 'GET',
      path: '/composite/sobjects/:sobject',
      composite: true,
      handler: (request) => {
        const ids = (request.query.get('ids') ?? '').split(',').filter((id) => id.trim() !== '');
        if (ids.length === 0) throw badRequest('MISSING_ARGUMENT', 'ids parameter is required');
        const fields = request.query.get('fields');
        return retrieve(ctx, request, ids, fields ? fields.split(',') : undefined);
      },
    },
    {
      method: 'POST',
      path: '/composite/sobjects/:sobject',
      composite: true,
      handler: (request) => {
        const parsed = parseWithProblems(retrieveBody, request.body ?? {});
        if (!parsed.ok) throw badRequest(ErrorCode.JsonParserError, `Invalid retrieve request: ${summarizeProblems(parsed.problems)}`);
        return retrieve(ctx, request, parsed.value.ids, parsed.value.fields);
      },
    },
  ];
}
