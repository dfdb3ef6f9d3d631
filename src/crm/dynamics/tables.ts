import type { CrmEntityName } from '../connector.ts';

/**
 * The virtual column holding why an opportunity was lost: read from `statuscode` of a lost row, written as the
 * `Status` of LoseOpportunity ("WinOpportunity Action": the Lose action takes a status reason of the Lost state).
 */
export const LOSS_REASON_COLUMN = '@lossReason';

/** A neutral `@state` value and the Dataverse statecode/statuscode pair it is written as. */
export interface StateTarget {
  statecode: number;
  statuscode: number;
}

export interface TableInfo {
  entity: CrmEntityName;
  logicalName: string;
  entitySet: string;
  primaryId: string;
  /**
   * The column that carries the ✔/✖ indicator: the opportunity's `name`; for a lead its `subject` (the topic), because
   * the lead's primary name `fullname` is computed from the person's name and cannot be written.
   */
  titleColumn: string;
  titleMaxLength: number;
  /** `@state` values in statecode order; absent for tables without a sync-relevant state. */
  states?: Readonly<Record<string, StateTarget>>;
}

/*
 * State values (opportunity: Dataverse opportunity table reference, "WinOpportunity Action"). The lead's are
 * Dataverse's standard lead states (0 Open, 1 Qualified, 2 Disqualified) with their default status reasons (3
 * Qualified, 4 Lost); the opportunity docs do not list them.
 */
const OPPORTUNITY_STATES = {
  open: { statecode: 0, statuscode: 1 },
  won: { statecode: 1, statuscode: 3 },
  lost: { statecode: 2, statuscode: 4 },
} as const;

const LEAD_STATES = {
  open: { statecode: 0, statuscode: 1 },
  qualified: { statecode: 1, statuscode: 3 },
  disqualified: { statecode: 2, statuscode: 4 },
} as const;

export const TABLES: Readonly<Record<CrmEntityName, TableInfo>> = {
  opportunity: {
    entity: 'opportunity',
    logicalName: 'opportunity',
    entitySet: 'opportunities',
    primaryId: 'opportunityid',
    titleColumn: 'name',
    titleMaxLength: 300,
    states: OPPORTUNITY_STATES,
  },
  lead: {
    entity: 'lead',
    logicalName: 'lead',
    entitySet: 'leads',
    primaryId: 'leadid',
    titleColumn: 'subject',
    titleMaxLength: 300,
    states: LEAD_STATES,
  },
  account: { entity: 'account', logicalName: 'account', entitySet: 'accounts', primaryId: 'accountid', titleColumn: 'name', titleMaxLength: 160 },
  contact: { entity: 'contact', logicalName: 'contact', entitySet: 'contacts', primaryId: 'contactid', titleColumn: 'fullname', titleMaxLength: 160 },
};

export function tableFor(entity: CrmEntityName): TableInfo {
  return TABLES[entity];
}

/** The neutral name of a Dataverse table, if it is one the engine syncs. */
export function entityOfLogicalName(logicalName: string): CrmEntityName | undefined {
  const lower = logicalName.toLowerCase();
  return (Object.values(TABLES) as TableInfo[]).find((table) => table.logicalName === lower)?.entity;
}

export function stateName(table: TableInfo, statecode: unknown): string | undefined {
  if (!table.states || typeof statecode !== 'number') return undefined;
  return Object.entries(table.states).find(([, target]) => target.statecode === statecode)?.[0];
}

/** Entity sets of the tables lookups commonly point at, so binds need no metadata round trip. */
export const ENTITY_SETS: Readonly<Record<string, string>> = {
  account: 'accounts',
  contact: 'contacts',
  lead: 'leads',
  opportunity: 'opportunities',
  transactioncurrency: 'transactioncurrencies',
  systemuser: 'systemusers',
  team: 'teams',
  campaign: 'campaigns',
  pricelevel: 'pricelevels',
};

/** Targets of the standard single-table lookups on the synced tables (customer lookups are polymorphic: see binds). */
export const LOOKUP_TARGETS: Readonly<Record<string, string>> = {
  parentaccountid: 'account',
  parentcontactid: 'contact',
  transactioncurrencyid: 'transactioncurrency',
  originatingleadid: 'lead',
  primarycontactid: 'contact',
  campaignid: 'campaign',
  pricelevelid: 'pricelevel',
};

/** Polymorphic customer lookups: the navigation property is `<column>_<target table>`. */
export const CUSTOMER_LOOKUPS: ReadonlySet<string> = new Set(['customerid', 'parentcustomerid']);

/**
 * Lookups whose canonical value is a code rather than a GUID ("Create a table row using the Web API": currencies are
 * found by ISO code). A read with `lookup: { entity, by }` names the code field itself; a write of a non-GUID string
 * resolves it through this table.
 */
export const CODE_LOOKUPS: Readonly<Record<string, { entitySet: string; idColumn: string; codeColumn: string }>> = {
  transactioncurrency: { entitySet: 'transactioncurrencies', idColumn: 'transactioncurrencyid', codeColumn: 'isocurrencycode' },
};
