import { z } from 'zod';

/**
 * One of the partner's published solutions (Partner Center "Solutions" / co-sell ready offers). Partner Center's REST
 * reference documents no API that lists them: Microsoft's co-sell connectors pre-load them from an Excel download. So
 * the sandbox serves the catalogue on its control API only (`GET /_sandbox/solutions`) — a stand-in, NOT a confirmed
 * Partner Center route.
 */
export const partnerSolutionSchema = z
  .object({
    /** The id Partner Center shows for a solution, e.g. `SOL-34104-EBB`, and that referrals carry. */
    id: z.string().trim().min(1).max(100),
    name: z.string().trim().min(1).max(300),
    /** Only co-sell ready solutions can be the solution of a co-sell (Shared) deal. */
    coSellReady: z.boolean(),
    /** IP (software) or Services; kept for display, not checked. */
    solutionType: z.enum(['IP', 'Services']).optional(),
  })
  .strict();
export type PartnerSolution = z.output<typeof partnerSolutionSchema>;

/** The seeded catalogue: the solutions Microsoft's sample invitations name, plus one that is not co-sell ready. */
export const DEFAULT_SOLUTIONS: readonly PartnerSolution[] = [
  { id: 'SOL-34104-EBB', name: 'Cloud Migration Factory', coSellReady: true, solutionType: 'IP' },
  { id: 'SOL-20816-QWE', name: 'Supply Chain Accelerator', coSellReady: true, solutionType: 'IP' },
  { id: 'SOL-11873-MWP', name: 'Modern Workplace in a Box', coSellReady: true, solutionType: 'Services' },
  { id: 'SOL-47715-DAT', name: 'Data Estate Modernization', coSellReady: true, solutionType: 'Services' },
  { id: 'SOL-58321-SEC', name: 'Zero Trust Jumpstart', coSellReady: true, solutionType: 'Services' },
  { id: 'SOL-90001-DRF', name: 'Field Service Copilot (draft)', coSellReady: false, solutionType: 'IP' },
];

export const MAX_SOLUTIONS = 1000;

/** The partner's solutions; ids compare case-insensitively, as Partner Center's ids are not case-sensitive. */
export class SolutionsCatalogue {
  private byId = new Map<string, PartnerSolution>();

  constructor(solutions: readonly PartnerSolution[] = DEFAULT_SOLUTIONS) {
    this.replace(solutions);
  }

  list(): PartnerSolution[] {
    return [...this.byId.values()];
  }

  find(id: string): PartnerSolution | undefined {
    return this.byId.get(id.trim().toLowerCase());
  }

  replace(solutions: readonly PartnerSolution[]): void {
    this.byId = new Map(solutions.map((solution) => [solution.id.toLowerCase(), { ...solution }]));
  }
}
