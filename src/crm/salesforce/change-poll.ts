import type { CrmChangeBatch, CrmEntityName } from '../connector.ts';
import type { Logger } from '../../util/logger.ts';
import { toId18 } from './ids.ts';
import { sobjectFor } from './objects.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlDateTime } from './soql.ts';
import { isoInstant } from './wire-values.ts';

/*
 * The reconciler's backstop in both notification modes: records whose SystemModstamp moved since the cursor (an ISO
 * instant), re-read `overlap` before it, because a transaction's stamp can precede the moment its row becomes visible
 * and clocks differ. The query goes to queryAll, so rows deleted since then come back too (IsDeleted, in the recycle
 * bin): the engine's read finds nothing and marks the link — without the extra getDeleted call per pass (REST
 * API "sObject Get Updated/Deleted"). That deleting moves SystemModstamp is what the sandbox does and what Salesforce's
 * replication API relies on (UNCONFIRMED for every object).
 *
 * The new cursor is the time the pass started, not the newest stamp seen: a cursor anchored to an old stamp would make
 * every later pass re-list the rows inside the overlap forever. Anchored to "now", a changed row is listed by at most
 * ⌈overlap / interval⌉ + 1 passes.
 */

export class ChangePoller {
  constructor(
    private readonly client: SalesforceClient,
    private readonly overlapMs: number,
    private readonly logger: Logger,
  ) {}

  async changesSince(entity: CrmEntityName, cursor: string | null): Promise<CrmChangeBatch> {
    const startedAt = new Date();
    const since = cursor === null ? Number.NaN : Date.parse(cursor);
    if (cursor !== null && Number.isNaN(since)) this.logger.warn({ entity, cursor }, 'unreadable Salesforce change cursor: starting from now');
    if (Number.isNaN(since)) return { refs: [], cursor: startedAt.toISOString() };

    const info = sobjectFor(entity);
    const from = new Date(since - this.overlapMs);
    const rows = await this.client.query(`SELECT Id, SystemModstamp FROM ${info.sobject} WHERE SystemModstamp >= ${soqlDateTime(from)} ORDER BY SystemModstamp ASC`, {
      route: `${info.sobject} changes`,
      all: true,
    });
    const seen = new Set<string>();
    const refs: CrmChangeBatch['refs'] = [];
    for (const row of rows) {
      const id = typeof row.Id === 'string' ? toId18(row.Id) : undefined;
      if (id && !seen.has(id)) {
        seen.add(id);
        // The same instant form a read's version has, so the reconciler can tell a pair it already committed.
        refs.push({ entity, id, version: typeof row.SystemModstamp === 'string' ? (isoInstant(row.SystemModstamp) ?? undefined) : undefined });
      }
    }
    return { refs, cursor: startedAt.toISOString() };
  }
}
