import { z } from 'zod';
import { memoizeSuccess } from '../../util/memoize-success.ts';
import { CrmApiError, type CrmRecordRef } from '../connector.ts';
import {
  bySolutionId,
  planDealSolutions,
  planUpsert,
  solutionKey,
  UnknownSolutionError,
  type DealSolutionsChange,
  type MicrosoftSolution,
  type MicrosoftSolutionsApi,
  type SolutionUpsertResult,
  type UpsertProgress,
} from '../solutions.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { isNotFound } from './dataverse-errors.ts';
import { alternateKey, entityKey, parseResponse } from './odata.ts';
import { solutionTableNames, type SolutionTableNames } from './solution-tables.ts';

const PAGE_SIZE = 5000;
/** Upserts per $batch change set; Microsoft suggests small batches ("Service protection API limits"), at most 1000. */
const BATCH_SIZE = 100;
const entitySetSchema = z.looseObject({ EntitySetName: z.string() });

/**
 * Microsoft Solutions in Dataverse: the catalogue table, upserted by its solution-id alternate key, and the N:N between
 * opportunity and the catalogue, written with `$ref` associate / disassociate ("Associate and disassociate table rows
 * using the Web API").
 */
export class DynamicsSolutions implements MicrosoftSolutionsApi {
  private readonly names: SolutionTableNames;
  /** The catalogue's entity set name, read from its definition once (Dataverse derives it from the table's name). */
  private readonly entitySet: () => Promise<string>;

  constructor(
    private readonly client: DataverseClient,
    prefix: string,
  ) {
    this.names = solutionTableNames(prefix);
    this.entitySet = memoizeSuccess(async () => {
      try {
        const raw = await this.client.run({ method: 'GET', route: 'EntityDefinitions({key})' }, (signal) =>
          this.client.api.retrieveEntity({ key: entityKey(this.names.table), select: ['EntitySetName'], signal }),
        );
        return parseResponse(entitySetSchema, raw, `GET EntityDefinitions(${this.names.table})`).EntitySetName;
      } catch (error) {
        if (isNotFound(error)) {
          throw new CrmApiError(`the Microsoft Solutions table ${this.names.table} does not exist: run "cosell setup dynamics" first`, 404, 'solutionsNotProvisioned', false);
        }
        throw error;
      }
    });
  }

  private rowSchema() {
    const n = this.names;
    return z.looseObject({
      [n.primaryId]: z.string(),
      [n.solutionId]: z.string().nullish(),
      [n.name]: z.string().nullish(),
      [n.coSellReady]: z.boolean().nullish(),
    });
  }

  private toSolution(row: Record<string, unknown>): (MicrosoftSolution & { rowId: string }) | undefined {
    const n = this.names;
    const solutionId = row[n.solutionId];
    if (typeof solutionId !== 'string' || solutionId === '') return undefined;
    return { rowId: String(row[n.primaryId]), solutionId, name: typeof row[n.name] === 'string' ? (row[n.name] as string) : '', coSellReady: row[n.coSellReady] === true };
  }

  private async rows(): Promise<Array<MicrosoftSolution & { rowId: string }>> {
    const set = await this.entitySet();
    const n = this.names;
    const pageSchema = z.looseObject({ value: z.array(this.rowSchema()), oDataNextLink: z.string().nullish() });
    const solutions: Array<MicrosoftSolution & { rowId: string }> = [];
    let link: string | undefined;
    do {
      const next = link;
      const raw = await this.client.run({ method: 'GET', route: set }, (signal) =>
        this.client.api.retrieveMultiple(
          { collection: set, select: [n.primaryId, n.solutionId, n.name, n.coSellReady], maxPageSize: PAGE_SIZE, signal },
          next === undefined ? undefined : this.client.relativeLink(next),
        ),
      );
      const page = parseResponse(pageSchema, raw, `GET ${set}`);
      for (const row of page.value) {
        const solution = this.toSolution(row);
        if (solution) solutions.push(solution);
      }
      link = page.oDataNextLink ?? undefined;
    } while (link);
    return solutions.sort(bySolutionId);
  }

  async list(): Promise<MicrosoftSolution[]> {
    return (await this.rows()).map(({ solutionId, name, coSellReady }) => ({ solutionId, name, coSellReady }));
  }

  async upsert(solutions: readonly MicrosoftSolution[], onProgress?: UpsertProgress): Promise<SolutionUpsertResult> {
    const set = await this.entitySet();
    const plan = planUpsert(await this.list(), solutions);
    const writes = [...plan.create, ...plan.update];
    let done = 0;
    onProgress?.(done, writes.length);
    for (let start = 0; start < writes.length; start += BATCH_SIZE) {
      const batch = writes.slice(start, start + BATCH_SIZE);
      // One $batch change set per BATCH_SIZE rows ("Execute batch operations using the Web API"): all of a batch's
      // upserts land or none do, and a retried batch writes the same rows again (keyed upserts).
      await this.client.run({ method: 'POST', route: '$batch', idempotent: true, successStatus: 200 }, (signal) => {
        // startBatch … executeBatch run without an await in between, so no other call of this client joins the batch.
        this.client.api.startBatch();
        for (const solution of batch) {
          // Upsert by the alternate key ("Use Upsert to Create or Update a record"): the key value travels in the URL
          // only. In batch mode the call only queues the request.
          void this.client.api.upsert({
            collection: set,
            key: alternateKey(this.names.solutionId, solution.solutionId),
            data: { [this.names.name]: solution.name, [this.names.coSellReady]: solution.coSellReady },
          });
        }
        return this.client.api.executeBatch({ signal }).catch((error: unknown) => {
          // A failed change set rejects with the list of part errors; the one with a status says what Dataverse refused.
          throw Array.isArray(error) ? (error.find((part) => typeof (part as { status?: unknown } | null)?.status === 'number') ?? error[0]) : error;
        });
      });
      done += batch.length;
      onProgress?.(done, writes.length);
    }
    const ids = (list: MicrosoftSolution[]) => list.map((solution) => solution.solutionId);
    return { created: ids(plan.create), updated: ids(plan.update), unchanged: ids(plan.unchanged) };
  }

  private assertOpportunity(ref: CrmRecordRef): void {
    if (ref.entity !== 'opportunity') throw new CrmApiError(`Microsoft Solutions are chosen on opportunities, not on ${ref.entity}`, undefined, 'unsupportedEntity', false);
  }

  private async related(ref: CrmRecordRef): Promise<Array<MicrosoftSolution & { rowId: string }>> {
    this.assertOpportunity(ref);
    const n = this.names;
    const raw = await this.client.run({ method: 'GET', route: `opportunities({id})/${n.relationship}` }, (signal) =>
      this.client.api.retrieve({ collection: 'opportunities', key: ref.id, navigationProperty: n.relationship, select: [n.primaryId, n.solutionId, n.name, n.coSellReady], signal }),
    );
    const rows = parseResponse(z.looseObject({ value: z.array(this.rowSchema()) }), raw, `GET opportunities/${n.relationship}`).value;
    return rows.map((row) => this.toSolution(row)).filter((row): row is MicrosoftSolution & { rowId: string } => row !== undefined).sort(bySolutionId);
  }

  async readDealSolutions(ref: CrmRecordRef): Promise<string[]> {
    return (await this.related(ref)).map((solution) => solution.solutionId);
  }

  async writeDealSolutions(ref: CrmRecordRef, solutionIds: readonly string[]): Promise<DealSolutionsChange> {
    this.assertOpportunity(ref);
    const catalogue = new Map((await this.rows()).map((solution) => [solutionKey(solution.solutionId), solution]));
    const unknown = solutionIds.filter((id) => !catalogue.has(solutionKey(id)));
    if (unknown.length > 0) throw new UnknownSolutionError(unknown);
    const current = await this.related(ref);
    const change = planDealSolutions(
      current.map((solution) => solution.solutionId),
      solutionIds,
    );
    const set = await this.entitySet();
    const relationship = this.names.relationship;
    for (const id of change.removed) {
      const row = current.find((solution) => solutionKey(solution.solutionId) === solutionKey(id));
      if (!row) continue;
      await this.client.run({ method: 'DELETE', route: `opportunities({id})/${relationship}({id})/$ref`, idempotent: true }, (signal) =>
        this.client.api.disassociate({ collection: 'opportunities', primaryKey: ref.id, relationshipName: relationship, relatedKey: row.rowId, signal }),
      );
    }
    for (const id of change.added) {
      const row = catalogue.get(solutionKey(id));
      if (!row) continue;
      await this.client.run({ method: 'POST', route: `opportunities({id})/${relationship}/$ref` }, (signal) =>
        this.client.api.associate({ collection: 'opportunities', primaryKey: ref.id, relationshipName: relationship, relatedCollection: set, relatedKey: row.rowId, signal }),
      );
    }
    return { added: change.added.map((id) => catalogue.get(solutionKey(id))?.solutionId ?? id), removed: change.removed };
  }
}
