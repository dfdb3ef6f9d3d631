import type { ColumnRequest, CrmRecord, CrmRecordRef } from '../connector.ts';
import { CrmApiError } from '../connector.ts';
import type { SObjectDescribe } from './describe.ts';
import { sameId, toId18 } from './ids.ts';
import type { SObjectInfo } from './objects.ts';
import { currentIndicator, stripIndicator } from './sync-status.ts';
import { fromWire, isoInstant } from './wire-values.ts';

/*
 * One SOQL query per record read: the requested columns plus what every read needs (version, modification stamp and
 * user, title, state field), with lookups requested as `lookup: { entity, by }` read through the relationship
 * (`Account.Name`) in the same query — which is why reads use SOQL rather than `GET /sobjects/X/{id}?fields=`.
 */

/** What the connector remembers of the last read of a record, so an update can often skip re-reading it. */
export interface RecordSnapshot {
  /** SystemModstamp as an ISO instant: the optimistic-concurrency token. */
  version: string;
  /** When this connector read (or wrote) that version, by the local clock: see `SameSecondGuard`. */
  readAt: number;
  /** Name without the indicator, and the indicator shown (opportunities only). */
  title: string | undefined;
  indicator: string | undefined;
  /** StageName / Status as stored. */
  stateValue: string | undefined;
}

/**
 * Reads a virtual column (`@state`, `@salesStage`) from the record's state field value (StageName / Status); undefined
 * leaves the column out of the record's values (not readable now: the sync keeps its agreed value).
 */
export type StateReader = (stateValue: unknown, column: '@state' | '@salesStage') => Promise<string | number | null | undefined> | string | number | null | undefined;

export interface ReadPlan {
  select: string[];
  toRecord(ref: CrmRecordRef, row: Record<string, unknown>, ourUserId: string | undefined, readState: StateReader): Promise<CrmRecord>;
}

/** The fields that make a snapshot; also what `update` re-reads when it must. */
export function snapshotFields(info: SObjectInfo, markedBy?: string): string[] {
  return ['Id', 'SystemModstamp', 'LastModifiedDate', 'LastModifiedById', ...(info.titleField ? [info.titleField] : []), ...(info.stateField ? [info.stateField] : []), ...(markedBy ? [markedBy] : [])];
}

/**
 * Whether the name carries a mark we appended: only after we wrote the sync status (the mark is written with it), and
 * only where names get marks at all (`markedBy`, the status field, is undefined otherwise). A seller's own "Launch ✔"
 * on a record we never marked is the name.
 */
export function carriesOurMark(row: Record<string, unknown>, markedBy: string | undefined): boolean {
  const status = markedBy === undefined ? undefined : row[markedBy];
  return status !== undefined && status !== null && status !== '';
}

export function versionOf(row: Record<string, unknown>, sobject: string): string {
  const stamp = row.SystemModstamp;
  const version = typeof stamp === 'string' ? isoInstant(stamp) : null;
  if (version === null) throw new CrmApiError(`Salesforce returned a ${sobject} without SystemModstamp`, undefined, 'invalidResponse', false);
  return version;
}

/** `markedBy`: see carriesOurMark. */
export function snapshotOf(info: SObjectInfo, row: Record<string, unknown>, readAt: number, markedBy: string | undefined): RecordSnapshot {
  const marked = carriesOurMark(row, markedBy);
  const rawTitle = info.titleField ? row[info.titleField] : undefined;
  const title = typeof rawTitle === 'string' ? rawTitle : undefined;
  const stateValue = info.stateField ? row[info.stateField] : undefined;
  return {
    version: versionOf(row, info.sobject),
    readAt,
    title: title === undefined || !marked ? title : stripIndicator(title),
    indicator: marked ? currentIndicator(title) : undefined,
    stateValue: typeof stateValue === 'string' ? stateValue : undefined,
  };
}

export function rowId(row: Record<string, unknown>, sobject: string): string {
  const id = typeof row.Id === 'string' ? toId18(row.Id) : undefined;
  if (!id) throw new CrmApiError(`Salesforce returned a ${sobject} without a valid Id`, undefined, 'invalidResponse', false);
  return id;
}

function related(row: Record<string, unknown>, relationship: string, field: string): unknown {
  const parent = row[relationship];
  return typeof parent === 'object' && parent !== null ? ((parent as Record<string, unknown>)[field] ?? null) : null;
}

export function planRead(info: SObjectInfo, described: SObjectDescribe, columns: readonly ColumnRequest[], markedBy: string | undefined): ReadPlan {
  const select = new Map<string, string>();
  const add = (path: string) => select.set(path.toLowerCase(), path);
  for (const field of snapshotFields(info, markedBy)) add(field);
  // A converted lead names the opportunity it became (Salesforce Object Reference "Lead": IsConverted,
  // ConvertedOpportunityId); read with every lead so the engine can follow a conversion without another call.
  const followsConversion = info.entity === 'lead' && described.field('IsConverted') !== undefined && described.field('ConvertedOpportunityId') !== undefined;
  if (followsConversion) for (const field of ['IsConverted', 'ConvertedOpportunityId']) add(field);
  const extractors: Array<(row: Record<string, unknown>, readState: StateReader) => Promise<[string, unknown]> | [string, unknown]> = [];

  for (const column of columns) {
    const name = column.name;
    if (name === '@state' || name === '@salesStage') {
      const stateField = info.stateField;
      extractors.push(async (row, readState) => [name, stateField ? await readState(row[stateField], name) : null]);
      continue;
    }
    const field = described.field(name);
    const apiName = field?.name ?? name;
    if (column.lookup && field?.type === 'reference' && field.relationshipName) {
      const relationship = field.relationshipName;
      const by = column.lookup.by;
      add(`${relationship}.${by}`);
      extractors.push((row) => [name, related(row, relationship, by)]);
      continue;
    }
    add(apiName);
    if (info.titleField && apiName === info.titleField && markedBy) {
      // The indicator is ours, not the seller's: a ✔ turning into ✖ must never look like a renamed record.
      extractors.push((row) => [name, typeof row[apiName] === 'string' && carriesOurMark(row, markedBy) ? stripIndicator(row[apiName]) : (row[apiName] ?? null)]);
    } else {
      extractors.push((row) => [name, fromWire(row[apiName], field)]);
    }
  }

  return {
    select: [...select.values()],
    async toRecord(ref, row, ourUserId, readState) {
      const values: Record<string, unknown> = {};
      for (const extract of extractors) {
        const [name, value] = await extract(row, readState);
        if (value !== undefined) values[name] = value;
      }
      const modified = typeof row.LastModifiedDate === 'string' ? isoInstant(row.LastModifiedDate) : null;
      const modifiedBy = typeof row.LastModifiedById === 'string' ? row.LastModifiedById : undefined;
      const convertedTo = followsConversion ? convertedOpportunity(row) : undefined;
      return {
        ref,
        version: versionOf(row, info.sobject),
        modifiedAt: modified ?? new Date(0).toISOString(),
        modifiedByUs: ourUserId !== undefined && modifiedBy !== undefined && sameId(modifiedBy, ourUserId),
        ...(convertedTo ? { convertedTo } : {}),
        values,
      };
    },
  };
}

/** The opportunity a converted lead row names; undefined when not converted or converted without one. */
function convertedOpportunity(row: Record<string, unknown>): CrmRecordRef | undefined {
  if (row.IsConverted !== true || typeof row.ConvertedOpportunityId !== 'string') return undefined;
  const id = toId18(row.ConvertedOpportunityId);
  return id ? { entity: 'opportunity', id } : undefined;
}

export function selectSoql(sobject: string, fields: readonly string[], where: string, suffix = ''): string {
  return `SELECT ${fields.join(', ')} FROM ${sobject} WHERE ${where}${suffix ? ` ${suffix}` : ''}`;
}
