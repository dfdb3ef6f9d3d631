import type { CrmEntityMetadata } from './metadata.ts';
import type { CrmEntityName, CrmRecordRef } from './entities.ts';
import type { MicrosoftSolutionsApi } from './solutions.ts';
import type { CustomerContact, DealContactsApi } from './deal-contacts.ts';
import type { DealTeamApi } from './deal-team.ts';

/** The CRMs cosell-sync connects to; each has its folder under src/crm and one entry in crm/vendors.ts. */
export const CRM_KINDS = ['dynamics', 'salesforce'] as const;
export type CrmKind = (typeof CRM_KINDS)[number];

export { CRM_ENTITIES, isCrmEntityName, type CrmEntityName, type CrmRecordRef } from './entities.ts';
export { CrmApiError, CrmPreconditionFailedError } from './errors.ts';
export type { CustomerContact } from './deal-contacts.ts';

/** A column to read. Lookup columns whose canonical value is a code (currency) are read through the target's field. */
export interface ColumnRequest {
  name: string;
  lookup?: { entity: string; by: string } | undefined;
}

export interface CrmRecord {
  ref: CrmRecordRef;
  /** The optimistic-concurrency token (Dataverse ETag, Salesforce SystemModstamp). */
  version: string;
  /** ISO instant of the last modification: `newest-wins` compares it with the referral's updatedDateTime. */
  modifiedAt: string;
  /** True when the last modification was made by this service (its own user / client tag). */
  modifiedByUs: boolean;
  /**
   * In the CRM's "not accepted yet" state for incoming referrals (Salesforce: Microsoft's "On-hold stage"), where the
   * seller's edits do not go to Partner Center until the record leaves it. Absent: the CRM has no such state.
   */
  onHold?: boolean;
  /**
   * Columns whose value (or absence) is not the seller's choice but follows from the record's state: Salesforce's
   * `@salesStage` in the on-hold stage (not read) and in the active stage an acceptance lands on (its default
   * percentage). When the referral is accepted, on either side, the sync writes Partner Center's value to them instead
   * of taking theirs as an edit (see sync/plan/acceptance-defaults.ts). Absent: none.
   */
  stateDefaultColumns?: readonly string[];
  /**
   * Set on a lead the seller converted (Salesforce `convertLead`: `IsConverted` + `ConvertedOpportunityId`) or
   * qualified (Dynamics `QualifyLead`: statecode Qualified + the opportunity whose `originatingleadid` is the lead): the
   * opportunity the deal now lives on, so the link can move there instead of a second opportunity being created.
   * Absent: not a lead, not converted, or converted without an opportunity.
   */
  convertedTo?: CrmRecordRef;
  /**
   * Column values as the mapping expects them: strings, numbers (money, integers, picklist option values), booleans,
   * `YYYY-MM-DD` dates, ISO date-times, string arrays (multi-select), lookups resolved to the requested field, and
   * virtual columns (`@state`: open / won / lost; lead: open / qualified / disqualified).
   */
  values: Record<string, unknown>;
}

/** A seller's answer, in the CRM, to an incoming co-sell referral that waits for one. */
export type CoSellDecision = { verdict: 'accept' } | { verdict: 'decline'; reason: string | undefined };

export interface CoSellDecisionReader {
  /** The columns holding the decision on `entity`, to read with the mapping's ([] where the org has none). */
  columns(entity: CrmEntityName): Promise<readonly ColumnRequest[]>;
  /** The decision in a record read with those columns; null when the seller has not decided. */
  decision(record: CrmRecord): CoSellDecision | null;
}


/** What Partner Center says about the customer; the connector matches or creates the CRM account and contacts. */
export interface CustomerProfile {
  name: string;
  postalCode?: string | undefined;
  addressLine1?: string | undefined;
  city?: string | undefined;
  state?: string | undefined;
  addressLine2?: string | undefined;
  /** ISO 3166 alpha-2. */
  country?: string | undefined;
  /**
   * Set when reading a CRM customer found a country that is not an ISO 3166 alpha-2 code once read through the mapping
   * (an unknown name, a country row whose code is not one): the value as found and the mapping setting that read it, so
   * the deal is not sent and the Audit says what to fix.
   */
  countryProblem?: { value: string; setting: string } | undefined;
  contacts: CustomerContact[];
}

/**
 * A lookup column's value before the connector resolves it: the row of `entity` whose `by` column holds `value` (the
 * country table row with ISO code `US`). When reading, connectors hand the lookup back as that code.
 */
export interface CodeReference {
  kind: 'lookup';
  entity: string;
  by: string;
  value: string;
}

export function isCodeReference(value: unknown): value is CodeReference {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'lookup' && typeof (value as { value?: unknown }).value === 'string';
}

/**
 * The account and contact columns of the mapping file (its `account` and `contact` sections), as the connector's
 * customer code uses them: what a create writes and which columns make a customer profile when reading one back.
 * Matching stays on its documented keys (company name + postal code, contacts by e-mail).
 */
export interface CustomerColumns {
  /** Account columns to read for `profile`; a lookup is read through the code column of its table. */
  readonly account: readonly ColumnRequest[];
  readonly contact: readonly ColumnRequest[];
  /** A new account's column values (nulls left out); lookup columns hold a CodeReference. */
  accountValues(profile: CustomerProfile): Record<string, unknown>;
  contactValues(contact: CustomerContact): Record<string, unknown>;
  /** A profile from an account row and contact rows read with the columns above (lookups as their code). */
  profile(account: Readonly<Record<string, unknown>> | undefined, contacts: ReadonlyArray<Readonly<Record<string, unknown>>>): CustomerProfile;
}

/**
 * A lookup column a create left empty because no row of its table holds the code, such as an ISO code missing from
 * the partner's country table: the customer is created without it rather than not at all, and the audit says so.
 */
export interface UnfilledLookup {
  column: string;
  /** The lookup's table and the code column searched. */
  table: string;
  by: string;
  code: string;
}

/** A customer record a create made, with the lookup columns it left empty. */
export type CreatedCustomerRecord = CrmRecordRef & { unfilled?: UnfilledLookup[] };

export interface CustomerRefs {
  account: CrmRecordRef;
  contacts: CrmRecordRef[];
  /** What was created (vs matched), for the audit. */
  created: CreatedCustomerRecord[];
}

export interface CrmChangeBatch {
  /** With the record's version where the listing shows it: a pair already committed at that version needs no job. */
  refs: Array<CrmRecordRef & { version?: string | undefined }>;
  /** Opaque resume point (delta link, SystemModstamp); persisted by the reconciler only after the enqueue commits. */
  cursor: string;
}

/** A streamed change event as the inbox keeps it; the vendor's NotifiedChangesReader reads `payload` back. */
export interface StreamedNotification {
  /** Stable per event: a replayed event carries the same key. */
  dedupKey: string;
  eventName: string;
  payload: string;
}

/**
 * Where a pushed change stream (e.g. Salesforce Change Data Capture) delivers. `record` must resolve only once the
 * changes and the new cursor are durable, so a restart resumes after the last change that was committed.
 */
export interface ChangeSink {
  /** The persisted resume point for a stream key (e.g. a CDC channel), or null on first start. */
  cursor(key: string): Promise<string | null>;
  /**
   * With `notification`, what the event said changed is kept (one inbox row per ref) in the transaction that commits
   * the cursor, so the sync can date each field by the event that changed it.
   */
  record(refs: readonly CrmRecordRef[], cursorKey: string, cursor: string, notification?: StreamedNotification): Promise<void>;
  /** The stream lost events (gap, overflow, replay id expired): a reconcile pass heals it. */
  requestReconcile(reason: string): void;
}

export interface SyncStatusUpdate {
  ok: boolean;
  /** Not ok because a field is held by a `manual` conflict (Sync Status "Conflict", ✖) rather than a failure. */
  conflict?: boolean;
  /**
   * An operator paused the pair (Sync Status "Paused"; the name keeps its mark). Written only where the status field
   * offers "Paused" (set up by this release); elsewhere the connector leaves the status as it is.
   */
  paused?: boolean;
  /** Newest first; the connector keeps what fits in its audit column. */
  auditLines: string[];
}

/** One record of a bulk backfill: what `createForReferral` takes, for many referrals at once. */
export interface BulkCreateItem {
  referralId: string;
  /** Column values as for `createForReferral` (mapping output, including `@state`). */
  values: Record<string, unknown>;
  customer?: CustomerRefs | undefined;
  status?: SyncStatusUpdate | undefined;
}

export interface BulkCreateResult {
  referralId: string;
  /** `created` now, `existing` from an earlier run (left untouched), or `failed` with the API's reason. */
  outcome: 'created' | 'existing' | 'failed';
  ref?: CrmRecordRef | undefined;
  /** The created record's version, where the create answers it (Dataverse ETag): the link starts with it. */
  version?: string | undefined;
  error?: Error | undefined;
}

/**
 * Everything the engine needs from a CRM. Implementations hold all CRM specifics (Dataverse actions, Salesforce
 * stages, change notifications); the engine never branches on the CRM kind.
 */
/** Who made a change, as a CRM notification reports it. */
export interface WriteActor {
  initiatingUserId: string | undefined;
  /** Pipeline depth where the CRM reports one: 1 for the caller's own operation. */
  depth: number | undefined;
}

export interface CrmConnector {
  /** Connection name from the config, e.g. `dynamics`; part of every job key and link. */
  readonly name: string;
  readonly kind: CrmKind;
  /** Whether referrals not accepted yet may be created as leads; each vendor derives it from its own settings. */
  readonly leadsEnabled: boolean;

  /** Column metadata (including connector virtual columns) for mapping validation. */
  describe(entities: readonly CrmEntityName[]): Promise<Record<string, CrmEntityMetadata>>;

  read(ref: CrmRecordRef, columns: readonly ColumnRequest[]): Promise<CrmRecord | null>;

  /** The record holding this referral id in its referral-identifier key column, if any. */
  findByReferralId(entity: CrmEntityName, referralId: string, columns: readonly ColumnRequest[]): Promise<CrmRecord | null>;

  /**
   * Creates the record for a referral, keyed by the referral id (alternate key / external id) so that a retried create
   * after a crash finds the first one instead of making a second. Returns the record as read back; `existed` when the
   * key found a record an earlier attempt made (nothing was written now, and a seller may have edited it since).
   */
  createForReferral(
    entity: CrmEntityName,
    referralId: string,
    values: Record<string, unknown>,
    customer: CustomerRefs | undefined,
    columns: readonly ColumnRequest[],
    status?: SyncStatusUpdate,
  ): Promise<CrmRecord & { existed?: boolean }>;

  /**
   * The columns `createForReferral` would write with these arguments, built by the same code and sent nowhere (reads
   * such as metadata may happen): the request body plus any column the CRM fills from the request itself (Dataverse
   * copies the alternate key from the URL). What `cosell mapping preview` shows, so it cannot drift from the create.
   */
  previewCreate?(entity: CrmEntityName, referralId: string, values: Record<string, unknown>, customer: CustomerRefs | undefined, status?: SyncStatusUpdate): Promise<Record<string, unknown>>;

  /**
   * Writes only the given columns, conditional on `ifVersion`; virtual columns (`@state`) use the CRM's actions. The
   * sync status rides in the same request, so a synced change costs one CRM write.
   */
  update(
    ref: CrmRecordRef,
    values: Record<string, unknown>,
    ifVersion: string | null,
    status?: SyncStatusUpdate,
  ): Promise<{ version: string }>;

  /** Matches the customer account by company name + postal code, else creates it; contacts by email, else creates. */
  ensureCustomer(customer: CustomerProfile): Promise<CustomerRefs>;

  /**
   * The mapping file's account and contact sections, once validated: creates and reads of customers follow them from
   * then on. Absent, or never called: the connector's built-in columns (those of the shipped mapping files).
   */
  useCustomerColumns?(columns: CustomerColumns): void;

  /**
   * The lead a seller converted (Salesforce convertLead) or qualified (Dynamics QualifyLead) into this opportunity, if
   * any: lets the engine tell the new opportunity of a synced lead from a seller's own new deal. Absent: the CRM has no
   * lead conversion the engine follows.
   */
  convertedFrom?(ref: CrmRecordRef): Promise<CrmRecordRef | undefined>;

  /** The customer of a CRM record (its account and primary contact), for creating a referral from the CRM. */
  readCustomer(ref: CrmRecordRef): Promise<CustomerProfile | null>;

  /** Records changed since the cursor (null = start now, returning no refs and a fresh cursor). */
  changesSince(entity: CrmEntityName, cursor: string | null): Promise<CrmChangeBatch>;

  /**
   * Writes the ✔/✖ indicator and the readable audit column without touching synced fields (used when a sync fails
   * before any write). Connectors keep the indicator out of the values `read` returns, so it never looks like a change.
   */
  writeSyncStatus(ref: CrmRecordRef, status: SyncStatusUpdate): Promise<void>;

  /**
   * Optional bulk creates for a backfill of existing referrals (Salesforce sObject Collections: one call per 200), keyed
   * by referral id like `createForReferral`. Connectors without a bulk API leave these out; the engine then syncs one by
   * one.
   */
  ensureCustomers?(customers: readonly CustomerProfile[]): Promise<CustomerRefs[]>;
  createManyForReferrals?(entity: CrmEntityName, items: readonly BulkCreateItem[]): Promise<BulkCreateResult[]>;

  /**
   * Optional push notifications the connector holds open itself (Salesforce CDC). Webhook-style notifications arrive
   * through the service's HTTP routes instead. Returns a function that stops the stream.
   */
  startChangeStream?(sink: ChangeSink): Promise<() => Promise<void>>;

  /**
   * Whether a notification was raised by this connection's own write (the user who made the call, and the pipeline
   * depth where the CRM reports one): such a notification needs no sync, since the sync that wrote already committed
   * or will re-plan. False whenever it cannot tell.
   */
  isOwnWrite?(actor: WriteActor): Promise<boolean>;

  /**
   * Whether a stored notification about a record (its inbox payload) is the echo of our own write. Only a connector
   * whose conditional writes compare exact versions offers it: the sync then writes a record it has not read when its
   * stored version is current as far as these notifications tell (see sync/run/blind-crm-write.ts).
   */
  isOwnNotification?(payload: string): Promise<boolean>;

  /**
   * What the record holds of `value` once written to `column`, read back through `read` (a name cut to fit the column
   * next to the ✔/✖ mark). Lets the engine tell a value the CRM had to shorten from a seller's edit, so the cut never
   * flows back to the other side. Absent: the CRM holds what it was given.
   */
  heldValue?(entity: CrmEntityName, column: string, value: unknown): unknown;

  /** The Microsoft Solutions catalogue and each deal's chosen solutions, where `cosell setup` created them. */
  readonly solutions?: MicrosoftSolutionsApi;

  /** An opportunity's customer contacts after creation (see deal-contacts.ts); absent: only the create links them. */
  readonly dealContacts?: DealContactsApi;

  /** An opportunity's owner and team members, matched to the referral's partner team by e-mail (see deal-team.ts). */
  readonly dealTeam?: DealTeamApi;

  /** Where the CRM holds the seller's answer to an incoming co-sell referral (accept, or decline with a reason). */
  readonly coSellDecisions?: CoSellDecisionReader;

  /** The CRM's own count of the org's API allocation as last reported (Salesforce's daily limit); absent: not reported. */
  apiUsage?(): { used: number; max: number; window: string } | undefined;

  close?(): Promise<void>;
}
