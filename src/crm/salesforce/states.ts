import { z } from 'zod';
import { CrmApiError } from '../connector.ts';
import type { Logger } from '../../util/logger.ts';
import { activePicklistValues, type DescribeCache } from './describe.ts';
import { SALES_STAGE_PERCENTAGES, type LeadState, type OpportunityState, type SalesStagePercentage } from './objects.ts';

export { SALES_STAGE_PERCENTAGES } from './objects.ts';
import type { SalesforceClient } from './salesforce-client.ts';

/*
 * The virtual `@state` column. Orgs customise their sales process, so nothing here assumes the default stage names: the
 * opportunity's state comes from the OpportunityStage row of its StageName (IsClosed / IsWon, Object Reference
 * "Opportunity"), read once and re-read when a record shows a stage the cache does not know (an admin added one).
 *
 * Opportunity: onhold = the configured on-hold stage (Microsoft's "On-hold stage name"), else won / lost from the
 * stage's flags, else open. Written: open → the configured active stage (default: the first active open stage other than
 * on-hold, by SortOrder), won → the first active won stage, lost → the first active closed-not-won stage, onhold → the
 * on-hold stage.
 *
 * The virtual `@salesStage` column (opportunity): Partner Center's sales stage as its percentage, from the stage's
 * DefaultProbability — the org's own stages again, none assumed by name. It never moves a record into or out of the
 * on-hold stage nor a closed one; with `@state` open in the same write (an acceptance) it picks the open stage.
 *
 * Lead: Salesforce has no lead state, only the Status picklist; qualified and disqualified are configured Status values
 * (defaults: a new org's "Closed - Converted" and "Closed - Not Converted"), anything else is open. Whether a real org
 * lets the API set a *converted* status without convertLead is UNCONFIRMED; the tolerant choice is to let the org say
 * no (the write fails with its message) and make the value configurable.
 */

export interface OpportunityStage {
  apiName: string;
  label: string;
  isActive: boolean;
  isClosed: boolean;
  isWon: boolean;
  sortOrder: number;
  /** DefaultProbability (0-100); null when the org leaves it empty. */
  probability: number | null;
}


const stageRowSchema = z.looseObject({
  ApiName: z.string().nullish(),
  MasterLabel: z.string(),
  IsActive: z.boolean().nullish(),
  IsClosed: z.boolean().nullish(),
  IsWon: z.boolean().nullish(),
  SortOrder: z.number().nullish(),
  DefaultProbability: z.number().nullish(),
});

const STAGE_SOQL = 'SELECT ApiName, MasterLabel, IsActive, IsClosed, IsWon, DefaultProbability, SortOrder FROM OpportunityStage ORDER BY SortOrder ASC';

export class OpportunityStates {
  private stages: Promise<OpportunityStage[]> | undefined;

  constructor(
    private readonly client: SalesforceClient,
    private readonly config: { onHoldStage: string; activeStage?: string | undefined },
    private readonly logger: Logger,
  ) {}

  /** The stages, from cache; `refresh` re-reads them (a stage the cache does not know was added). */
  list(refresh = false): Promise<OpportunityStage[]> {
    if (!this.stages || refresh) {
      const pending = this.load();
      this.stages = pending;
      pending.catch(() => {
        if (this.stages === pending) this.stages = undefined;
      });
    }
    return this.stages;
  }

  /** The state of a StageName; an unknown stage triggers one re-read of the stages. */
  async stateOf(stageName: unknown): Promise<OpportunityState | null> {
    if (typeof stageName !== 'string' || stageName === '') return null;
    let stage = find(await this.list(), stageName);
    if (!stage) {
      stage = find(await this.list(true), stageName);
      if (!stage) {
        this.logger.warn({ stageName }, 'opportunity stage not found among OpportunityStage rows; reading it as open');
        return 'open';
      }
    }
    if (stage.apiName.toLowerCase() === this.config.onHoldStage.toLowerCase() || stage.label.toLowerCase() === this.config.onHoldStage.toLowerCase()) return 'onhold';
    if (stage.isClosed) return stage.isWon ? 'won' : 'lost';
    return 'open';
  }

  /** The StageName that writes a state (see the module comment). */
  async stageFor(state: OpportunityState): Promise<string> {
    const plan = await this.plan();
    return plan[state];
  }

  /**
   * The `@salesStage` of a StageName: the Partner Center percentage its DefaultProbability falls in (the highest one not
   * above it; below 10 % counts as 10 %). Undefined — not read, so the sync keeps the agreed value instead of taking
   * it as an edit — for the on-hold stage (the referral is not in the partner's sales process yet, and Partner Center
   * keeps its own stage), a closed stage (closing is `@state`'s), an unknown one, or one without a probability.
   * The active stage reads as its percentage (10 % in a new org) like any other; that it is only where an acceptance
   * lands, not a seller's sales stage, is said by `isAcceptanceDefault` (the record's `stateDefaultColumns`): at an
   * acceptance the sync then writes the referral's sales stage instead of sending this one. Reading the active stage
   * as "no stage" instead would stop Partner Center's stage moves too (the merge skips a field one side cannot read).
   */
  async salesStageOf(stageName: unknown): Promise<SalesStagePercentage | undefined> {
    if (typeof stageName !== 'string' || stageName === '') return undefined;
    const stage = find(await this.list(), stageName) ?? find(await this.list(true), stageName);
    if (!stage || stage.isClosed) return undefined;
    if (stage.apiName === (await this.plan()).onhold) return undefined;
    return percentageOf(stage) ?? undefined;
  }

  /**
   * Whether a StageName's `@salesStage` follows from the referral's state rather than from the seller: the on-hold
   * stage (not read) and the active stage leaving on-hold lands on by default (issue 11: a referral shared at
   * Qualified and accepted must not go back to Accepted).
   */
  async isAcceptanceDefault(stageName: unknown): Promise<boolean> {
    if (typeof stageName !== 'string' || stageName === '') return false;
    const stage = find(await this.list(), stageName);
    if (!stage || stage.isClosed) return false;
    const plan = await this.plan();
    return stage.apiName === plan.onhold || stage.apiName === plan.open;
  }

  /**
   * The StageName that moves an opportunity now in `fromStage` to the sales stage `percentage`, or undefined when
   * nothing should change: the stage already counts as that percentage, or the opportunity is on hold or closed (the
   * on-hold / active rule of `@state` decides those: leaving on-hold accepts the referral, which a sales stage must not
   * do by itself). The target is the first active open stage by SortOrder, other than the on-hold stage, whose
   * DefaultProbability counts as `percentage`; an org with no such stage keeps the current one (warned).
   */
  async stageForSalesStage(percentage: number, fromStage: string | undefined): Promise<string | undefined> {
    const stages = await this.list();
    const from = fromStage === undefined ? undefined : find(stages, fromStage);
    const onHold = find(stages, this.config.onHoldStage);
    if (!from || from.isClosed || from === onHold) return undefined;
    if (percentageOf(from) === percentage) return undefined;
    const target = stages.find((stage) => stage.isActive && !stage.isClosed && stage !== onHold && percentageOf(stage) === percentage);
    if (!target) {
      this.logger.warn({ percentage, stages: stages.map((s) => `${s.apiName} (${s.probability ?? '-'} %)`) }, 'no open opportunity stage of this org has a default probability for this Partner Center sales stage; the stage is left as it is');
      return undefined;
    }
    return target.apiName;
  }

  /** Checks the configured stages against the org: clear errors at start rather than failed writes later. */
  async validate(): Promise<void> {
    await this.plan();
  }

  private async plan(): Promise<Record<OpportunityState, string>> {
    const stages = await this.list();
    const names = stages.map((stage) => stage.apiName).join(', ');
    const invalid = (message: string) => new CrmApiError(`Salesforce stage settings: ${message} (stages of this org: ${names})`, undefined, 'invalidConfig', false);
    const active = stages.filter((stage) => stage.isActive);
    const onHold = find(stages, this.config.onHoldStage);
    if (!onHold) throw invalid(`onHoldStage "${this.config.onHoldStage}" is not an opportunity stage of this org`);
    if (onHold.isClosed) throw invalid(`onHoldStage "${onHold.apiName}" is a closed stage; it must be an open one`);
    let open: OpportunityStage | undefined;
    if (this.config.activeStage !== undefined) {
      open = find(stages, this.config.activeStage);
      if (!open) throw invalid(`activeStage "${this.config.activeStage}" is not an opportunity stage of this org`);
      if (open.isClosed) throw invalid(`activeStage "${open.apiName}" is a closed stage; it must be an open one`);
    } else {
      open = active.find((stage) => !stage.isClosed && stage !== onHold);
      if (!open) throw invalid('there is no open stage besides the on-hold stage to move accepted referrals to; set activeStage');
    }
    if (open === onHold) throw invalid('the active stage must differ from the on-hold stage');
    const won = active.find((stage) => stage.isClosed && stage.isWon);
    const lost = active.find((stage) => stage.isClosed && !stage.isWon);
    if (!won) throw invalid('there is no active won stage (IsClosed and IsWon)');
    if (!lost) throw invalid('there is no active lost stage (IsClosed and not IsWon)');
    return { onhold: onHold.apiName, open: open.apiName, won: won.apiName, lost: lost.apiName };
  }

  private async load(): Promise<OpportunityStage[]> {
    const rows = await this.client.query(STAGE_SOQL, { route: 'OpportunityStage' });
    return rows.map((raw) => {
      const row = stageRowSchema.parse(raw);
      return {
        // StageName holds the API name; orgs from before API names existed use the label (tolerant: match both).
        apiName: row.ApiName ?? row.MasterLabel,
        label: row.MasterLabel,
        isActive: row.IsActive !== false,
        isClosed: row.IsClosed === true,
        isWon: row.IsWon === true,
        sortOrder: row.SortOrder ?? Number.MAX_SAFE_INTEGER,
        probability: row.DefaultProbability ?? null,
      };
    });
  }
}

/** The Partner Center percentage a stage's DefaultProbability falls in (see `salesStageOf`). */
function percentageOf(stage: OpportunityStage): SalesStagePercentage | null {
  if (stage.probability === null) return null;
  const probability = stage.probability;
  return SALES_STAGE_PERCENTAGES.filter((step) => step <= probability).at(-1) ?? SALES_STAGE_PERCENTAGES[0];
}

function find(stages: readonly OpportunityStage[], name: string): OpportunityStage | undefined {
  const wanted = name.toLowerCase();
  return stages.find((stage) => stage.apiName.toLowerCase() === wanted) ?? stages.find((stage) => stage.label.toLowerCase() === wanted);
}

/**
 * Used when the Status picklist names no default (a real org always has one; "Co-sell connector for Salesforce CRM -
 * overview" shows creation failing without).
 */
export const FALLBACK_LEAD_STATUS = 'Open - Not Contacted';

export class LeadStatuses {
  constructor(
    private readonly describe: DescribeCache,
    private readonly config: { open?: string | undefined; qualified: string; disqualified: string },
  ) {}

  stateOf(status: unknown): LeadState | null {
    if (typeof status !== 'string' || status === '') return null;
    const lower = status.toLowerCase();
    if (lower === this.config.qualified.toLowerCase()) return 'qualified';
    if (lower === this.config.disqualified.toLowerCase()) return 'disqualified';
    return 'open';
  }

  async statusFor(state: LeadState): Promise<string> {
    if (state === 'qualified') return this.config.qualified;
    if (state === 'disqualified') return this.config.disqualified;
    return this.openStatus();
  }

  /** The configured open status, else the picklist's default value, else Salesforce's default-org value. */
  async openStatus(): Promise<string> {
    if (this.config.open) return this.config.open;
    const field = (await this.describe.describe('Lead')).field('Status');
    return field?.picklistValues?.find((entry) => entry.defaultValue === true && entry.active !== false)?.value ?? FALLBACK_LEAD_STATUS;
  }

  async validate(): Promise<void> {
    const values = activePicklistValues((await this.describe.describe('Lead')).field('Status'));
    if (values.length === 0) return;
    const known = new Set(values.map((value) => value.toLowerCase()));
    for (const [key, value] of [['leadStatuses.qualified', this.config.qualified], ['leadStatuses.disqualified', this.config.disqualified], ['leadStatuses.open', this.config.open]] as const) {
      if (value !== undefined && !known.has(value.toLowerCase())) {
        throw new CrmApiError(`Salesforce ${key} "${value}" is not a Lead Status value of this org (values: ${values.join(', ')})`, undefined, 'invalidConfig', false);
      }
    }
  }
}
