import type { Expand } from 'dynamics-web-api';
import { z } from 'zod';
import type { ColumnRequest, CrmRecord, CrmRecordRef } from '../connector.ts';
import { CrmApiError } from '../connector.ts';
import { isLookupColumn, type ColumnInfo } from './column-catalog.ts';
import { currentIndicator, stripIndicator } from './sync-status.ts';
import { CUSTOMER_LOOKUPS, LOSS_REASON_COLUMN, stateName, type TableInfo } from './tables.ts';
import { fromWire } from './wire-values.ts';

/*
 * One GET per record read: the requested columns plus what every read needs (version, modification stamp and user,
 * state, title), with lookups requested as `lookup: { entity, by }` expanded to the `by` column so a currency comes
 * back as its ISO code in the same request.
 */

export interface ReadPlan {
  select: string[];
  expand: Expand[];
  toRecord(ref: CrmRecordRef, row: Record<string, unknown>, ourUserId: string | undefined): CrmRecord;
}

/** What the connector remembers of the last read of a record, so an update can often skip re-reading it. */
export interface RecordSnapshot {
  version: string;
  /** The title (name / subject) without the indicator, and the indicator currently shown. */
  title: string | undefined;
  indicator: string | undefined;
  statecode: number | undefined;
}

export const rowSchema = z.record(z.string(), z.unknown());

/**
 * The navigation property of a lookup: a customer lookup's is `<column>_<table>` (`customerid_account`), a system
 * lookup's its logical name, a custom lookup's its schema name (navigation names are case-sensitive, "Create a table
 * row using the Web API").
 */
export function navigationProperty(column: string, info: ColumnInfo | undefined, targetEntity?: string): string {
  if (CUSTOMER_LOOKUPS.has(column) && targetEntity) return `${column}_${targetEntity}`;
  return info?.isCustom ? info.schemaName : column;
}

function versionOf(row: Record<string, unknown>, operation: string): string {
  const etag = row['@odata.etag'];
  if (typeof etag !== 'string' || etag === '') throw new CrmApiError(`Dataverse ${operation} returned a record without @odata.etag`, undefined, 'invalidResponse', false);
  return etag;
}

/**
 * Whether the name carries a mark we appended: only after we wrote the sync status (the mark is written with it), and
 * only where names get marks at all (`markedBy`, the status column, is undefined otherwise). A seller's own "Launch ✔"
 * on a record we never marked is the name.
 */
export function carriesOurMark(row: Record<string, unknown>, markedBy: string | undefined): boolean {
  const status = markedBy === undefined ? undefined : row[markedBy];
  return status !== undefined && status !== null && status !== '';
}

/** `markedBy`: see carriesOurMark; the row must include that column. */
export function snapshotOf(table: TableInfo, row: Record<string, unknown>, markedBy: string | undefined): RecordSnapshot {
  const rawTitle = row[table.titleColumn];
  const title = typeof rawTitle === 'string' ? rawTitle : undefined;
  const marked = carriesOurMark(row, markedBy);
  const indicator = marked ? currentIndicator(title) : undefined;
  return {
    version: versionOf(row, `GET ${table.entitySet}`),
    title: title === undefined || !marked ? title : stripIndicator(title),
    indicator,
    statecode: typeof row.statecode === 'number' ? row.statecode : undefined,
  };
}

export function planRead(table: TableInfo, columns: readonly ColumnRequest[], catalog: Map<string, ColumnInfo>, markedBy: string | undefined): ReadPlan {
  const select = new Set<string>([table.primaryId, 'modifiedon', '_modifiedby_value', table.titleColumn, ...(markedBy ? [markedBy] : [])]);
  if (table.states) select.add('statecode');
  const expand: Expand[] = [];
  const extractors: Array<(row: Record<string, unknown>) => [string, unknown]> = [];

  for (const column of columns) {
    const name = column.name;
    if (name === '@state') {
      extractors.push((row) => [name, stateName(table, row.statecode) ?? null]);
      continue;
    }
    if (name === LOSS_REASON_COLUMN && table.states?.lost) {
      // The status reason of a lost opportunity (4 Canceled, 5 Out-Sold or the org's own); nothing while not lost.
      const lost = table.states.lost.statecode;
      select.add('statuscode');
      extractors.push((row) => [name, row.statecode === lost && typeof row.statuscode === 'number' ? row.statuscode : null]);
      continue;
    }
    const info = catalog.get(name);
    if (column.lookup) {
      const property = navigationProperty(name, info, column.lookup.entity);
      const by = column.lookup.by;
      if (!expand.some((item) => item.property === property)) expand.push({ property, select: [by] });
      extractors.push((row) => {
        const related = row[property];
        return [name, related && typeof related === 'object' ? fromWire((related as Record<string, unknown>)[by], undefined) : null];
      });
      continue;
    }
    if (/^_.+_value$/.test(name)) {
      select.add(name);
      extractors.push((row) => [name, row[name] ?? null]);
      continue;
    }
    if (isLookupColumn(info)) {
      const property = `_${name}_value`;
      select.add(property);
      extractors.push((row) => [name, row[property] ?? null]);
      continue;
    }
    select.add(name);
    if (name === table.titleColumn && markedBy) {
      // The indicator is ours, not the seller's: a ✔ that turns into ✖ must never look like a renamed record.
      extractors.push((row) => [name, typeof row[name] === 'string' && carriesOurMark(row, markedBy) ? stripIndicator(row[name]) : (row[name] ?? null)]);
    } else {
      extractors.push((row) => [name, fromWire(row[name], info)]);
    }
  }

  return {
    select: [...select],
    expand,
    toRecord(ref, row, ourUserId) {
      const values: Record<string, unknown> = {};
      for (const extract of extractors) {
        const [name, value] = extract(row);
        values[name] = value;
      }
      const modifiedOn = fromWire(row.modifiedon, undefined);
      const modifiedBy = row._modifiedby_value;
      return {
        ref,
        version: versionOf(row, `GET ${table.entitySet}`),
        modifiedAt: typeof modifiedOn === 'string' ? modifiedOn : new Date(0).toISOString(),
        modifiedByUs: ourUserId !== undefined && typeof modifiedBy === 'string' && modifiedBy.toLowerCase() === ourUserId.toLowerCase(),
        values,
      };
    },
  };
}
