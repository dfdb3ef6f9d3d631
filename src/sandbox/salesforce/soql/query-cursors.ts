import { badRequest, ErrorCode } from '../errors.ts';
import { type IdGenerator, KEY_PREFIX } from '../ids.ts';
import type { JsonRecord } from './query-engine.ts';

export interface QueryPage {
  totalSize: number;
  done: boolean;
  records: JsonRecord[];
  nextRecordsUrl?: string;
}

interface Cursor {
  records: JsonRecord[];
  totalSize: number;
  batchSize: number;
  version: string;
  apiPrefix: string;
  lastUsedAt: number;
}

/** Idle query cursors expire after 15 minutes in Salesforce; a sandbox also caps how many it keeps. */
const CURSOR_IDLE_MS = 15 * 60 * 1000;
const MAX_OPEN_CURSORS = 200;

/**
 * Server-side query cursors (REST API "Query"): the full result is captured when the query runs, and `nextRecordsUrl`
 * locators (`01g…-<offset>`) page through that snapshot, so writes between pages never shift or duplicate rows.
 */
export class QueryCursors {
  private readonly cursors = new Map<string, Cursor>();

  constructor(private readonly ids: IdGenerator) {}

  firstPage(records: JsonRecord[], totalSize: number, batchSize: number, version: string, apiPrefix = ''): QueryPage {
    if (records.length <= batchSize) return { totalSize, done: true, records };
    this.evictStale();
    const id = this.ids.next(KEY_PREFIX.QueryLocator);
    this.cursors.set(id, { records, totalSize, batchSize, version, apiPrefix, lastUsedAt: Date.now() });
    return this.page(id, 0);
  }

  /** `GET /query/<locator>`; an unknown, expired or out-of-range locator is INVALID_QUERY_LOCATOR. */
  next(locator: string): QueryPage {
    const match = /^([a-zA-Z0-9]{15,18})-(\d+)$/.exec(locator);
    const cursor = match ? this.cursors.get(match[1] ?? '') : undefined;
    const offset = Number(match?.[2] ?? -1);
    if (!match || !cursor || offset < 0 || offset > cursor.records.length || Date.now() - cursor.lastUsedAt > CURSOR_IDLE_MS) {
      throw badRequest(ErrorCode.InvalidQueryLocator, 'invalid query locator');
    }
    cursor.lastUsedAt = Date.now();
    return this.page(match[1] ?? '', offset);
  }

  clear(): void {
    this.cursors.clear();
  }

  private page(id: string, offset: number): QueryPage {
    const cursor = this.cursors.get(id);
    if (!cursor) throw badRequest(ErrorCode.InvalidQueryLocator, 'invalid query locator');
    const end = offset + cursor.batchSize;
    const records = cursor.records.slice(offset, end);
    if (end >= cursor.records.length) {
      this.cursors.delete(id);
      return { totalSize: cursor.totalSize, done: true, records };
    }
    return { totalSize: cursor.totalSize, done: false, nextRecordsUrl: `/services/data/v${cursor.version}${cursor.apiPrefix}/query/${id}-${end}`, records };
  }

  private evictStale(): void {
    const now = Date.now();
    for (const [id, cursor] of this.cursors) if (now - cursor.lastUsedAt > CURSOR_IDLE_MS) this.cursors.delete(id);
    while (this.cursors.size >= MAX_OPEN_CURSORS) {
      const oldest = this.cursors.keys().next().value;
      if (oldest === undefined) break;
      this.cursors.delete(oldest);
    }
  }
}
