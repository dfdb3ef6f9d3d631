import { z } from 'zod';
import type { CrmChangeBatch, CrmEntityName } from '../connector.ts';
import { CrmApiError } from '../connector.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { parseResponse } from './odata.ts';
import { tableFor } from './tables.ts';

/*
 * Dataverse change tracking ("Use change tracking to synchronize data with external systems") as the reconciler's
 * cursor: the cursor is the delta link.
 *
 * A session starts with `Prefer: odata.track-changes`, whose answer is every row of the table, paged, with the delta
 * link on the last page. `changesSince(null)` means "start now", so those rows are paged through with only the primary
 * key selected and thrown away: on a large table that is one request per 5000 rows, once. Handing them all to the
 * engine instead would enqueue a sync of every opportunity in the org on first start — exactly the flood the
 * reconciler's "start now" contract avoids.
 */

const PAGE_SIZE = 5000;

const pageSchema = z.looseObject({
  value: z.array(z.record(z.string(), z.unknown())),
  oDataNextLink: z.string().nullish(),
  oDataDeltaLink: z.string().nullish(),
});

export class ChangeTracker {
  constructor(private readonly client: DataverseClient) {}

  async changesSince(entity: CrmEntityName, cursor: string | null): Promise<CrmChangeBatch> {
    if (cursor === null) return { refs: [], cursor: await this.startSession(entity) };
    try {
      return await this.follow(entity, cursor);
    } catch (error) {
      if (!isExpiredToken(error)) throw error;
      this.client.logger.warn(
        { entity, error: error instanceof Error ? error.message : String(error) },
        'Dataverse change-tracking token rejected (expired after ExpireChangeTrackingInDays, or invalid): starting a new session from now; changes since the last pass are left to webhooks',
      );
      return { refs: [], cursor: await this.startSession(entity) };
    }
  }

  private async startSession(entity: CrmEntityName): Promise<string> {
    const table = tableFor(entity);
    let page = await this.page(entity, undefined);
    while (!page.oDataDeltaLink) {
      if (!page.oDataNextLink) {
        throw new CrmApiError(`Dataverse returned no delta link for ${table.entitySet}: is change tracking enabled on the ${table.logicalName} table?`, undefined, 'noDeltaLink', false);
      }
      page = await this.page(entity, page.oDataNextLink);
    }
    return page.oDataDeltaLink;
  }

  private async follow(entity: CrmEntityName, deltaLink: string): Promise<CrmChangeBatch> {
    const table = tableFor(entity);
    const seen = new Set<string>();
    const refs: CrmChangeBatch['refs'] = [];
    let page = await this.page(entity, deltaLink);
    for (;;) {
      for (const row of page.value) {
        // Changed rows carry the primary key; deletions are `$deletedEntity` entries with `id` and `reason: "deleted"`.
        const id = row[table.primaryId] ?? row.id;
        if (typeof id === 'string' && !seen.has(id.toLowerCase())) {
          seen.add(id.toLowerCase());
          // A changed row carries its ETag (the version a read reports): a pair committed at it needs no job.
          const etag = row['@odata.etag'];
          refs.push({ entity, id: id.toLowerCase(), version: typeof etag === 'string' ? etag : undefined });
        }
      }
      if (page.oDataDeltaLink) return { refs, cursor: page.oDataDeltaLink };
      if (!page.oDataNextLink) throw new CrmApiError(`Dataverse change-tracking response for ${table.entitySet} ended without a delta link`, undefined, 'noDeltaLink', true);
      page = await this.page(entity, page.oDataNextLink);
    }
  }

  private async page(entity: CrmEntityName, link: string | undefined): Promise<z.output<typeof pageSchema>> {
    const table = tableFor(entity);
    const raw = await this.client.run({ method: 'GET', route: link?.includes('$deltatoken') ? `${table.entitySet}?$deltatoken` : table.entitySet }, (signal) =>
      this.client.api.retrieveMultiple(
        { collection: table.entitySet, select: [table.primaryId], trackChanges: true, maxPageSize: PAGE_SIZE, signal },
        link === undefined ? undefined : this.client.relativeLink(link),
      ),
    );
    return parseResponse(pageSchema, raw, `GET ${table.entitySet} (change tracking)`);
  }
}

/**
 * UNCONFIRMED how Dataverse answers an expired delta token ("Use change tracking to synchronize data with external
 * systems" says only that it "fails -> full resync"). The tolerant reading: any 4xx other than auth, throttling and a
 * missing table, on a request that carried a delta token, means the token is unusable; a 5xx or network failure is
 * transient and goes to the caller to retry.
 */
function isExpiredToken(error: unknown): boolean {
  if (!(error instanceof CrmApiError) || error.status === undefined) return false;
  return error.status >= 400 && error.status < 500 && ![401, 403, 404, 429].includes(error.status);
}
