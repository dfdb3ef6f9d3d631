import { z } from 'zod';
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
import { COLLECTION_LIMIT } from './bulk-create.ts';
import { idWithPrefix } from './ids.ts';
import { apiError, errorEntrySchema } from './salesforce-errors.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { SOLUTION_FIELDS, SOLUTION_OBJECTS } from './solution-objects.ts';
import { soqlString } from './soql.ts';

const collectionResultSchema = z.array(z.looseObject({ id: z.string().nullish(), success: z.boolean(), errors: z.array(errorEntrySchema).default([]) }));

interface CatalogueRow extends MicrosoftSolution {
  recordId: string;
}

/**
 * Microsoft Solutions in Salesforce: the Microsoft_Solution__c catalogue, upserted by its Solution_Id__c external id
 * through sObject Collections (REST API "sObject Collections": 200 records per call, `allOrNone` so a batch lands
 * whole or not at all), and the Opportunity_Microsoft_Solution__c junction rows of a deal.
 */
export class SalesforceSolutions implements MicrosoftSolutionsApi {
  constructor(private readonly client: SalesforceClient) {}

  private async query(soql: string, route: string): Promise<Array<Record<string, unknown>>> {
    try {
      return await this.client.query(soql, { route });
    } catch (error) {
      if (error instanceof CrmApiError && error.code === 'INVALID_TYPE') {
        throw new CrmApiError(`the Microsoft Solutions objects do not exist: run "cosell setup salesforce" first (${error.message})`, error.status, 'solutionsNotProvisioned', false);
      }
      throw error;
    }
  }

  private async catalogue(): Promise<CatalogueRow[]> {
    const f = SOLUTION_FIELDS;
    const rows = await this.query(`SELECT Id, Name, ${f.solutionId}, ${f.coSellReady} FROM ${SOLUTION_OBJECTS.catalogue} ORDER BY ${f.solutionId}`, SOLUTION_OBJECTS.catalogue);
    return rows
      .filter((row) => typeof row[f.solutionId] === 'string' && row[f.solutionId] !== '')
      .map((row) => ({ recordId: String(row.Id), solutionId: String(row[f.solutionId]), name: typeof row.Name === 'string' ? row.Name : '', coSellReady: row[f.coSellReady] === true }))
      .sort(bySolutionId);
  }

  async list(): Promise<MicrosoftSolution[]> {
    return (await this.catalogue()).map(({ solutionId, name, coSellReady }) => ({ solutionId, name, coSellReady }));
  }

  async upsert(solutions: readonly MicrosoftSolution[], onProgress?: UpsertProgress): Promise<SolutionUpsertResult> {
    const plan = planUpsert(await this.list(), solutions);
    const writes = [...plan.create, ...plan.update];
    let done = 0;
    onProgress?.(done, writes.length);
    for (let start = 0; start < writes.length; start += COLLECTION_LIMIT) {
      const batch = writes.slice(start, start + COLLECTION_LIMIT);
      const raw = await this.client.send({
        method: 'PATCH',
        path: `/composite/sobjects/${SOLUTION_OBJECTS.catalogue}/${SOLUTION_FIELDS.solutionId}`,
        route: `composite/sobjects/${SOLUTION_OBJECTS.catalogue}/${SOLUTION_FIELDS.solutionId}`,
        // Keyed by the external id: resending after a lost answer writes the same rows again.
        idempotent: true,
        body: {
          allOrNone: true,
          records: batch.map((solution) => ({
            attributes: { type: SOLUTION_OBJECTS.catalogue },
            [SOLUTION_FIELDS.solutionId]: solution.solutionId,
            Name: solution.name,
            [SOLUTION_FIELDS.coSellReady]: solution.coSellReady,
          })),
        },
      });
      assertAllSucceeded(raw, `upsert ${SOLUTION_OBJECTS.catalogue}`);
      done += batch.length;
      onProgress?.(done, writes.length);
    }
    const ids = (list: MicrosoftSolution[]) => list.map((solution) => solution.solutionId);
    return { created: ids(plan.create), updated: ids(plan.update), unchanged: ids(plan.unchanged) };
  }

  private opportunityId(ref: CrmRecordRef): string {
    if (ref.entity !== 'opportunity') throw new CrmApiError(`Microsoft Solutions are chosen on opportunities, not on ${ref.entity}`, undefined, 'unsupportedEntity', false);
    const id = idWithPrefix(ref.id, '006');
    if (!id) throw new CrmApiError(`${ref.id} is not an Opportunity id`, undefined, 'invalidId', false);
    return id;
  }

  private async junctions(ref: CrmRecordRef): Promise<Array<{ junctionId: string; solutionId: string }>> {
    const f = SOLUTION_FIELDS;
    const rows = await this.query(
      `SELECT Id, ${f.junctionSolutionRelationship}.${f.solutionId} FROM ${SOLUTION_OBJECTS.junction} WHERE ${f.junctionOpportunity} = ${soqlString(this.opportunityId(ref))}`,
      SOLUTION_OBJECTS.junction,
    );
    return rows
      .map((row) => {
        const parent = row[f.junctionSolutionRelationship] as Record<string, unknown> | null | undefined;
        return { junctionId: String(row.Id), solutionId: typeof parent?.[f.solutionId] === 'string' ? (parent[f.solutionId] as string) : '' };
      })
      .filter((row) => row.solutionId !== '')
      .sort((a, b) => a.solutionId.localeCompare(b.solutionId));
  }

  async readDealSolutions(ref: CrmRecordRef): Promise<string[]> {
    return [...new Set((await this.junctions(ref)).map((row) => row.solutionId))];
  }

  async writeDealSolutions(ref: CrmRecordRef, solutionIds: readonly string[]): Promise<DealSolutionsChange> {
    const opportunityId = this.opportunityId(ref);
    const catalogue = new Map((await this.catalogue()).map((row) => [solutionKey(row.solutionId), row]));
    const unknown = solutionIds.filter((id) => !catalogue.has(solutionKey(id)));
    if (unknown.length > 0) throw new UnknownSolutionError(unknown);
    const current = await this.junctions(ref);
    const change = planDealSolutions([...new Set(current.map((row) => row.solutionId))], solutionIds);
    const removedKeys = new Set(change.removed.map(solutionKey));
    const toDelete = current.filter((row) => removedKeys.has(solutionKey(row.solutionId))).map((row) => row.junctionId);
    for (let start = 0; start < toDelete.length; start += COLLECTION_LIMIT) {
      const ids = toDelete.slice(start, start + COLLECTION_LIMIT);
      const raw = await this.client.send({ method: 'DELETE', path: `/composite/sobjects?ids=${ids.join(',')}&allOrNone=true`, route: 'composite/sobjects (delete)', idempotent: true });
      assertAllSucceeded(raw, `delete ${SOLUTION_OBJECTS.junction}`);
    }
    const toCreate = change.added.map((id) => catalogue.get(solutionKey(id))).filter((row): row is CatalogueRow => row !== undefined);
    for (let start = 0; start < toCreate.length; start += COLLECTION_LIMIT) {
      const batch = toCreate.slice(start, start + COLLECTION_LIMIT);
      const raw = await this.client.send({
        method: 'POST',
        path: '/composite/sobjects',
        route: 'composite/sobjects (create)',
        body: {
          allOrNone: true,
          records: batch.map((row) => ({
            attributes: { type: SOLUTION_OBJECTS.junction },
            Name: row.solutionId,
            [SOLUTION_FIELDS.junctionOpportunity]: opportunityId,
            [SOLUTION_FIELDS.junctionSolution]: row.recordId,
          })),
        },
      });
      assertAllSucceeded(raw, `create ${SOLUTION_OBJECTS.junction}`);
    }
    return { added: toCreate.map((row) => row.solutionId), removed: change.removed };
  }
}

/** An sObject Collections answer is 200 even when records failed; the first failure becomes the error. */
function assertAllSucceeded(raw: unknown, operation: string): void {
  const parsed = collectionResultSchema.safeParse(raw);
  if (!parsed.success) throw new CrmApiError(`Salesforce ${operation} returned an unexpected body`, undefined, 'invalidResponse', false);
  const failed = parsed.data.find((result) => !result.success);
  if (failed) throw apiError(operation, 400, failed.errors);
}
