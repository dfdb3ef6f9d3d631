import { formatDeltaToken, formatSkipToken, parseDeltaToken, parseSkipToken } from '../data/change-tracking.ts';
import type { DataServices } from '../data/data-services.ts';
import type { StoredRecord } from '../data/record.ts';
import { badRequest, odataError } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import { parseQueryOptions, type QueryOptions } from '../odata/query-options.ts';
import { jsonResponse, type DataRequest, type DataResponse } from './data-request.ts';
import { contextUrl, preferenceApplied, preferencesOf, selectFragment, type RequestPreferences } from './response-helpers.ts';

/** Default and maximum page size ("Page results using OData"); `$count` is capped at the same number. */
const MAX_PAGE_SIZE = 5000;

function encodeQuery(params: Map<string, string>, extra: Record<string, string>): string {
  const parts: string[] = [];
  for (const [key, value] of params) {
    if (key === '$skiptoken' || key === '$deltatoken' || key in extra) continue;
    parts.push(`${key}=${encodeURIComponent(value)}`);
  }
  for (const [key, value] of Object.entries(extra)) parts.push(`${key}=${encodeURIComponent(value)}`);
  return parts.join('&');
}

/** GET on an entity set: query options, paging, change tracking and delta links. */
export class CollectionReader {
  constructor(private readonly services: DataServices) {}

  list(request: DataRequest, entity: EntityDefinition): DataResponse {
    const options = parseQueryOptions(request.query);
    const preferences = preferencesOf(request);
    this.services.renderer.resolveSelect(entity, options.select);
    this.services.renderer.validateExpand(entity, options.expand);
    if (options.deltaToken !== undefined) return this.delta(request, entity, options, preferences);
    if (preferences.prefer.trackChanges || options.skipToken?.includes('istracking="True"')) return this.trackedSnapshot(request, entity, options, preferences);

    let rows = this.services.query.select(entity, options.filter, options.orderBy);
    const total = rows.length;
    const maxPageSize = preferences.prefer.maxPageSize;
    if (maxPageSize !== undefined) preferences.applied.push(`odata.maxpagesize=${maxPageSize}`);
    // With odata.maxpagesize the service pages and ignores $top ("Page results using OData").
    else if (options.top !== undefined) rows = rows.slice(0, options.top);
    return this.page(request, entity, options, preferences, rows, { total, maxPageSize });
  }

  private page(
    request: DataRequest,
    entity: EntityDefinition,
    options: QueryOptions,
    preferences: RequestPreferences,
    rows: StoredRecord[],
    paging: { total: number; maxPageSize?: number; trackingVersion?: number },
  ): DataResponse {
    const pageSize = Math.min(paging.maxPageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
    const cookie = options.skipToken ? parseSkipToken(options.skipToken) : { page: 1, offset: 0 };
    const slice = rows.slice(cookie.offset, cookie.offset + pageSize);
    const more = cookie.offset + pageSize < rows.length;
    const body: Record<string, unknown> = {
      '@odata.context': contextUrl(request.serviceRoot, `${entity.entitySetName}${selectFragment(options.select)}`),
    };
    if (options.count) body['@odata.count'] = Math.min(paging.total, MAX_PAGE_SIZE);
    body.value = slice.map((row) => this.services.renderer.render(entity, row, { select: options.select, expand: options.expand, annotations: preferences.annotations }));
    if (more) {
      const next = formatSkipToken({
        page: cookie.page + 1,
        offset: cookie.offset + pageSize,
        ...(paging.trackingVersion !== undefined ? { version: paging.trackingVersion } : {}),
      });
      body['@odata.nextLink'] = `${request.serviceRoot}${entity.entitySetName}?${encodeQuery(request.query, { $skiptoken: next })}`;
    } else if (paging.trackingVersion !== undefined) {
      body['@odata.deltaLink'] = this.deltaLink(request, entity, paging.trackingVersion);
    }
    return jsonResponse(200, body, preferenceApplied(preferences.applied));
  }

  private assertTrackable(entity: EntityDefinition, options: QueryOptions): void {
    if (!entity.changeTrackingEnabled) {
      throw badRequest(`Change tracking is not enabled for the entity ${entity.logicalName}. Set ChangeTrackingEnabled on its EntityDefinition first.`);
    }
    const forbidden = [options.filter && 'filter', options.orderBy && 'orderby', options.expand.length > 0 && 'expand', options.top !== undefined && 'top'].find(Boolean);
    if (forbidden) throw odataError(`The "${forbidden}" query parameter isn't supported when Change Tracking is enabled.`);
  }

  private deltaLink(request: DataRequest, entity: EntityDefinition, version: number): string {
    return `${request.serviceRoot}${entity.entitySetName}?${encodeQuery(request.query, { $deltatoken: formatDeltaToken(version) })}`;
  }

  /**
   * Initial sync of a change-tracking session ("Use change tracking to synchronize data with external systems"): every
   * row, paged, then a delta link pinned to the start version.
   */
  private trackedSnapshot(request: DataRequest, entity: EntityDefinition, options: QueryOptions, preferences: RequestPreferences): DataResponse {
    this.assertTrackable(entity, options);
    preferences.applied.push('odata.track-changes');
    const version = options.skipToken ? (parseSkipToken(options.skipToken).version ?? this.services.store.currentVersion()) : this.services.store.currentVersion();
    const maxPageSize = preferences.prefer.maxPageSize;
    if (maxPageSize !== undefined) preferences.applied.push(`odata.maxpagesize=${maxPageSize}`);
    const rows = this.services.query.select(entity, undefined, undefined);
    return this.page(request, entity, options, preferences, rows, { total: rows.length, ...(maxPageSize !== undefined ? { maxPageSize } : {}), trackingVersion: version });
  }

  /**
   * Changes since a delta token: new/updated rows first, then deletions as `$deletedEntity` entries ("Use change
   * tracking to synchronize data with external systems").
   */
  private delta(request: DataRequest, entity: EntityDefinition, options: QueryOptions, preferences: RequestPreferences): DataResponse {
    this.assertTrackable(entity, options);
    const since = parseDeltaToken(options.deltaToken ?? '');
    const store = this.services.store;
    const current = store.currentVersion();
    const changed = store
      .all(entity.logicalName)
      .filter((row) => Number(row.values.versionnumber ?? 0) > since)
      .sort((a, b) => Number(a.values.versionnumber) - Number(b.values.versionnumber));
    const deleted = store.tombstonesSince(entity.logicalName, since).filter((tombstone) => !store.get(entity.logicalName, tombstone.id));
    const value: unknown[] = changed.map((row) => this.services.renderer.render(entity, row, { select: options.select, annotations: preferences.annotations }));
    for (const tombstone of deleted) {
      value.push({ '@odata.context': contextUrl(request.serviceRoot, `${entity.entitySetName}/$deletedEntity`), id: tombstone.id, reason: 'deleted' });
    }
    return jsonResponse(
      200,
      {
        '@odata.context': contextUrl(request.serviceRoot, `${entity.entitySetName}${selectFragment(options.select)}/$delta`),
        value,
        '@odata.deltaLink': this.deltaLink(request, entity, current),
      },
      preferenceApplied(preferences.applied),
    );
  }

  /** `GET <set>/$count` answers a bare number as text (capped at 5000), or counts a delta with `$deltatoken`. */
  count(request: DataRequest, entity: EntityDefinition): DataResponse {
    const options = parseQueryOptions(request.query);
    let count: number;
    if (options.deltaToken !== undefined) {
      const since = parseDeltaToken(options.deltaToken);
      count =
        this.services.store.all(entity.logicalName).filter((row) => Number(row.values.versionnumber ?? 0) > since).length +
        this.services.store.tombstonesSince(entity.logicalName, since).length;
    } else {
      count = this.services.query.select(entity, options.filter, undefined).length;
    }
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'OData-Version': '4.0' }, body: String(Math.min(count, MAX_PAGE_SIZE)) };
  }
}
