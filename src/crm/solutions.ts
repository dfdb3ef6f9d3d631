import type { CrmRecordRef } from './entities.ts';
import { CrmApiError } from './errors.ts';

/*
 * The partner's Microsoft Solutions in the CRM: a catalogue (one row per Partner Center solution) and, per deal, the
 * solutions the seller chose. Microsoft's co-sell connectors keep the same pair ("Co-sell connector for Dynamics 365 CRM
 * overview", "Co-sell connector for Salesforce CRM - overview": a "Microsoft Partner Center Solutions" subgrid / related
 * list on the opportunity); Partner Center needs at least one solution on a co-sell referral, as
 * `details.requirements.solutions[]` with `type: Name` and the solution id.
 *
 * Where the catalogue comes from: the Partner Center references read for this project (Referrals API, Webhooks API,
 * the co-sell connector articles) document no endpoint that lists a partner's solutions — Microsoft's connector
 * pre-loads them from an Excel export — so `cosell solutions import` loads the partner's file. Whether such an
 * endpoint exists is UNCONFIRMED; if one is documented, `upsert` is the seam to feed it into.
 */

export interface MicrosoftSolution {
  /** Partner Center's solution id, e.g. `SOL-34104-EBB` (or a GUID). */
  solutionId: string;
  name: string;
  /** Co-sell ready in Partner Center: only such solutions make a deal eligible for co-sell with Microsoft. */
  coSellReady: boolean;
}

export interface SolutionUpsertResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

export interface DealSolutionsChange {
  added: string[];
  removed: string[];
}

/** Progress of a long catalogue load: rows written so far of the total. */
export type UpsertProgress = (done: number, total: number) => void;

/** What a connector offers for Microsoft Solutions; `CrmConnector.solutions`. */
export interface MicrosoftSolutionsApi {
  /** The catalogue, ordered by solution id. */
  list(): Promise<MicrosoftSolution[]>;
  /** Creates or updates catalogue rows keyed by solution id; rows already equal are left untouched. */
  upsert(solutions: readonly MicrosoftSolution[], onProgress?: UpsertProgress): Promise<SolutionUpsertResult>;
  /** The solution ids chosen on a deal (opportunity), ordered. */
  readDealSolutions(ref: CrmRecordRef): Promise<string[]>;
  /**
   * Makes the deal's chosen solutions exactly `solutionIds` (adding and removing links). Every id must be in the
   * catalogue; otherwise nothing is written and an UnknownSolutionError names the missing ones.
   */
  writeDealSolutions(ref: CrmRecordRef, solutionIds: readonly string[]): Promise<DealSolutionsChange>;
}

/** A solution id a deal names that the catalogue does not hold: the seller (or the import) must add it first. */
export class UnknownSolutionError extends CrmApiError {
  constructor(readonly solutionIds: readonly string[]) {
    super(`not in the Microsoft Solutions catalogue: ${solutionIds.join(', ')} (run "cosell solutions import" first)`, undefined, 'unknownSolution', false);
  }
}

/** Solution ids compare case-insensitively, as both CRMs' alternate keys / external ids do. */
export function solutionKey(solutionId: string): string {
  return solutionId.trim().toLowerCase();
}

/** What `upsert` has to write: rows not present, rows that differ, and rows already equal. */
export function planUpsert(existing: readonly MicrosoftSolution[], wanted: readonly MicrosoftSolution[]): { create: MicrosoftSolution[]; update: MicrosoftSolution[]; unchanged: MicrosoftSolution[] } {
  const byKey = new Map(existing.map((solution) => [solutionKey(solution.solutionId), solution]));
  const plan = { create: [] as MicrosoftSolution[], update: [] as MicrosoftSolution[], unchanged: [] as MicrosoftSolution[] };
  for (const solution of wanted) {
    const current = byKey.get(solutionKey(solution.solutionId));
    if (!current) plan.create.push(solution);
    else if (current.name !== solution.name || current.coSellReady !== solution.coSellReady) plan.update.push(solution);
    else plan.unchanged.push(solution);
  }
  return plan;
}

/** The links to add and remove to go from `current` to `wanted` (both solution ids). */
export function planDealSolutions(current: readonly string[], wanted: readonly string[]): DealSolutionsChange {
  const have = new Set(current.map(solutionKey));
  const want = new Set(wanted.map(solutionKey));
  return {
    added: [...new Map(wanted.filter((id) => !have.has(solutionKey(id))).map((id) => [solutionKey(id), id])).values()],
    removed: current.filter((id) => !want.has(solutionKey(id))),
  };
}

export function bySolutionId(a: MicrosoftSolution, b: MicrosoftSolution): number {
  return a.solutionId.localeCompare(b.solutionId);
}
