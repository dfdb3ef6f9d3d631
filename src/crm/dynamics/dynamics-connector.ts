import { parseDataverseWebhook, type DataverseWebhookEvent } from './webhook.ts';
import { LRUCache } from 'lru-cache';
import { memoizeSuccess } from '../../util/memoize-success.ts';
import { z } from 'zod';
import type {
  BulkCreateItem,
  BulkCreateResult,
  ColumnRequest,
  CrmChangeBatch,
  CrmConnector,
  CrmEntityName,
  CrmRecord,
  CrmRecordRef,
  CustomerColumns,
  CustomerProfile,
  CustomerRefs,
  SyncStatusUpdate,
  WriteActor,
} from '../connector.ts';
import { CrmApiError, CrmPreconditionFailedError } from '../connector.ts';
import type { CrmEntityMetadata } from '../metadata.ts';
import type { CallRecorder } from '../../http/call-record.ts';
import type { RetryPolicy } from '../../http/retry.ts';
import type { TokenProvider } from '../../http/tokens.ts';
import type { Logger } from '../../util/logger.ts';
import { ChangeTracker } from './change-tracking.ts';
import { ColumnCatalog } from './column-catalog.ts';
import { customColumnNames, SYNC_STATUS_OPTIONS, type CustomColumnNames } from './custom-columns.ts';
import { CustomerDirectory } from './customers.ts';
import { DataverseClient } from './dataverse-client.ts';
import { isNotFound, isPreconditionFailed, preconditionFailed } from './dataverse-errors.ts';
import { choiceOptionValues, describeTable } from './describe.ts';
import { alternateKey, parseResponse } from './odata.ts';
import { DynamicsBulk } from './bulk.ts';
import type { RequestBudget } from './request-budget.ts';
import { ensureCustomersWith } from '../bulk-customers.ts';
import { planRead, rowSchema, snapshotOf, type RecordSnapshot } from './record-reader.ts';
import { fittedTitle } from '../sync-indicator.ts';
import { DynamicsSolutions } from './solutions.ts';
import { DynamicsStakeholders } from './stakeholders.ts';
import { DynamicsDealTeam } from './deal-team.ts';
import { DynamicsCoSellDecisions } from './co-sell-decision.ts';
import { currentIndicator, statusColumns, stripIndicator } from './sync-status.ts';
import { LOSS_REASON_COLUMN, tableFor, type TableInfo } from './tables.ts';
import { WriteBodyBuilder } from './write-body.ts';

export interface DynamicsConnectorOptions {
  /** Connection name from the config (`dynamics`). */
  name: string;
  /** Environment URL: `https://contoso.crm.dynamics.com`, or the sandbox's URL. */
  orgUrl: string;
  tokenProvider: TokenProvider;
  /** Paces calls under Dataverse's per-user request window; absent: no pacing. */
  budget?: RequestBudget | undefined;
  /** Publisher customization prefix of the custom columns. Default `cosell`. */
  prefix?: string;
  /** Whether unaccepted referrals may be created as leads. Default true. */
  leadsEnabled?: boolean;
  statusIndicator?: { nameSuffix?: boolean };
  logger: Logger;
  /** Per HTTP attempt. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onCall?: CallRecorder;
  /** Status reason LoseOpportunity uses: 4 Canceled (default), 5 Out-Sold, or an org's own Lost reason. */
  lostStatusCode?: number;
}

/** Tables that carry the custom status columns (see custom-columns.ts); accounts and contacts have none. */
const STATUS_TABLES: ReadonlySet<CrmEntityName> = new Set(['opportunity', 'lead']);
const SNAPSHOT_LIMIT = 2000;
const STATUS_WRITE_ATTEMPTS = 3;

const whoAmISchema = z.looseObject({ UserId: z.string() });
const opportunityListSchema = z.looseObject({ value: z.array(z.looseObject({ opportunityid: z.string() })) });
const originatingLeadSchema = z.looseObject({ _originatingleadid_value: z.string().nullish() });
/** The lead's Qualified statecode (Dataverse lead table: 0 Open, 1 Qualified, 2 Disqualified). */
const LEAD_QUALIFIED = tableFor('lead').states?.qualified?.statecode;

/**
 * The CrmConnector for Dynamics 365 / Dataverse, over dynamics-web-api. Everything Dataverse-specific lives here:
 * alternate-key upserts, ETags, WinOpportunity/LoseOpportunity, change tracking, the ✔/✖ indicator.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class DynamicsConnector implements CrmConnector {
  readonly kind = 'dynamics' as const;
  readonly name: string;
  readonly prefix: string;
  readonly leadsEnabled: boolean;
  readonly columns: CustomColumnNames;
  readonly client: DataverseClient;
  readonly solutions: DynamicsSolutions;
  readonly dealContacts: DynamicsStakeholders;
  readonly dealTeam: DynamicsDealTeam;
  readonly coSellDecisions: DynamicsCoSellDecisions;
  private readonly nameSuffix: boolean;
  private readonly lostStatusCode: number;
  private readonly logger: Logger;
  private readonly catalog: ColumnCatalog;
  private readonly bodies: WriteBodyBuilder;
  private readonly customers: CustomerDirectory;
  private readonly bulk: DynamicsBulk;
  private readonly changes: ChangeTracker;
  /** The last version read per record, so a write right after a read needs no second read. */
  private readonly snapshots = new LRUCache<string, RecordSnapshot>({ max: SNAPSHOT_LIMIT });
  /** Per table: whether its Sync Status column offers Conflict (an org set up by an earlier release lacks it). */
  private readonly conflictOffered = new Map<string, Promise<boolean>>();
  private readonly conflictWarned = new Set<string>();
  private readonly pausedOffered = new Map<string, Promise<boolean>>();

  constructor(options: DynamicsConnectorOptions) {
    this.name = options.name;
    this.prefix = options.prefix ?? 'cosell';
    this.leadsEnabled = options.leadsEnabled ?? true;
    this.nameSuffix = options.statusIndicator?.nameSuffix ?? true;
    this.lostStatusCode = options.lostStatusCode ?? 4;
    this.logger = options.logger;
    this.columns = customColumnNames(this.prefix);
    this.client = new DataverseClient({
      orgUrl: options.orgUrl,
      tokenProvider: options.tokenProvider,
      logger: options.logger,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.onCall ? { onCall: options.onCall } : {}),
      budget: options.budget,
    });
    this.catalog = new ColumnCatalog(this.client);
    this.bodies = new WriteBodyBuilder(this.client);
    this.customers = new CustomerDirectory(this.client, this.catalog);
    this.bulk = new DynamicsBulk(this.client, this.columns.referralIdentifier);
    this.changes = new ChangeTracker(this.client);
    this.solutions = new DynamicsSolutions(this.client, this.prefix);
    this.dealContacts = new DynamicsStakeholders(this.client, (contact, accountId) => this.customers.contactBody(contact, accountId));
    this.dealTeam = new DynamicsDealTeam(this.client, () => this.ourUserId());
    this.coSellDecisions = new DynamicsCoSellDecisions(this.catalog, this.columns);
  }

  async describe(entities: readonly CrmEntityName[]): Promise<Record<string, CrmEntityMetadata>> {
    const described = await Promise.all(entities.map((entity) => describeTable(this.client, entity)));
    for (const [index, metadata] of described.entries()) {
      // The start-up describe already carries the options: it settles the Conflict question without another read.
      const options = metadata.columns[this.columns.syncStatus]?.options;
      const entity = entities[index];
      if (entity !== undefined && STATUS_TABLES.has(entity) && options && options.length > 0) {
        const offered = options.includes(SYNC_STATUS_OPTIONS.conflict);
        this.conflictOffered.set(metadata.crmName, Promise.resolve(offered));
        if (!offered) this.warnNoConflictOption(metadata.crmName);
      }
    }
    return Object.fromEntries(described.map((metadata) => [metadata.entity, metadata]));
  }

  /** Forget cached column metadata, e.g. after provisioning added columns. */
  invalidateMetadata(): void {
    this.catalog.invalidate();
    this.conflictOffered.clear();
    this.conflictWarned.clear();
    this.pausedOffered.clear();
  }

  /**
   * A held conflict is written as Sync Status "Conflict" where the column offers it; a column provisioned by an earlier
   * release does not, and Dataverse would refuse the whole update for an invalid choice value. Such an org gets
   * "Failed" (the audit line still explains the conflict) and one warning telling the operator to re-run setup.
   */
  private async writableStatus(table: TableInfo, status: SyncStatusUpdate): Promise<SyncStatusUpdate> {
    if (!status.conflict || (await this.offersConflict(table.logicalName))) return status;
    return { ...status, conflict: false };
  }

  private offersConflict(table: string): Promise<boolean> {
    let pending = this.conflictOffered.get(table);
    if (!pending) {
      pending = choiceOptionValues(this.client, table, this.columns.syncStatus).then(
        (values) => {
          // No options reported (a service that refuses the cast): assume the column is current, as before this check.
          const offered = values.length === 0 || values.includes(SYNC_STATUS_OPTIONS.conflict);
          if (!offered) this.warnNoConflictOption(table);
          return offered;
        },
        (error: unknown) => {
          // Not cached: the status goes out as Conflict this time and the next write asks again.
          this.conflictOffered.delete(table);
          this.logger.debug({ table, error: error instanceof Error ? error.message : String(error) }, 'sync status options not readable');
          return true;
        },
      );
      this.conflictOffered.set(table, pending);
    }
    return pending;
  }

  /** Whether the Sync Status column offers "Paused" (added by `cosell setup dynamics` from this release). */
  private offersPaused(table: string): Promise<boolean> {
    let pending = this.pausedOffered.get(table);
    if (!pending) {
      pending = choiceOptionValues(this.client, table, this.columns.syncStatus).then(
        (values) => values.includes(SYNC_STATUS_OPTIONS.paused),
        () => {
          this.pausedOffered.delete(table);
          return false;
        },
      );
      this.pausedOffered.set(table, pending);
    }
    return pending;
  }

  private warnNoConflictOption(table: string): void {
    if (this.conflictWarned.has(table)) return;
    this.conflictWarned.add(table);
    this.logger.warn(
      { table, column: this.columns.syncStatus },
      'the Sync Status column has no "Conflict" option (set up by an earlier release): held conflicts are shown as Failed; re-run `cosell setup dynamics` to add it',
    );
  }

  async read(ref: CrmRecordRef, columns: readonly ColumnRequest[]): Promise<CrmRecord | null> {
    // The engine also tries a referral's externalReferenceId, which may be another CRM's id: not a row id, no record.
    if (!GUID.test(ref.id)) return null;
    return this.fetch(ref.entity, ref.id, columns);
  }

  async findByReferralId(entity: CrmEntityName, referralId: string, columns: readonly ColumnRequest[]): Promise<CrmRecord | null> {
    return this.fetch(entity, alternateKey(this.columns.referralIdentifier, referralId), columns);
  }

  /**
   * The lead a seller qualified into this opportunity: QualifyLead sets the opportunity's `originatingleadid`
   * ("QualifyLead Action"). One GET of that column.
   */
  async convertedFrom(ref: CrmRecordRef): Promise<CrmRecordRef | undefined> {
    if (ref.entity !== 'opportunity' || !GUID.test(ref.id)) return undefined;
    let raw: unknown;
    try {
      raw = await this.client.run({ method: 'GET', route: 'opportunities({id})' }, (signal) =>
        this.client.api.retrieve({ collection: 'opportunities', key: ref.id, select: ['_originatingleadid_value'], signal }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const lead = parseResponse(originatingLeadSchema, raw, 'GET opportunities')._originatingleadid_value;
    return typeof lead === 'string' && GUID.test(lead) ? { entity: 'lead', id: lead.toLowerCase() } : undefined;
  }

  async createForReferral(
    entity: CrmEntityName,
    referralId: string,
    values: Record<string, unknown>,
    customer: CustomerRefs | undefined,
    columns: readonly ColumnRequest[],
    status?: SyncStatusUpdate,
  ): Promise<CrmRecord & { existed?: boolean }> {
    const table = tableFor(entity);
    if (!STATUS_TABLES.has(entity)) throw new CrmApiError(`referrals are created as opportunities or leads, not as ${entity}s`, undefined, 'invalidEntity', false);
    if (entity === 'lead' && !this.leadsEnabled) throw new CrmApiError('lead creation is disabled for this Dynamics connection', undefined, 'leadsDisabled', false);

    const { '@state': wantedState, [LOSS_REASON_COLUMN]: lossReason } = values;
    const body = await this.createBody(entity, { values, customer, status });

    const key = alternateKey(this.columns.referralIdentifier, referralId);
    let id: string;
    try {
      // Keyed create: PATCH by alternate key with If-None-Match: * never updates, so a retry after a lost response or a
      // crash finds the first record (412) instead of creating a second one ("Use Upsert to Create or Update a
      // record").
      const created = await this.client.run({ method: 'PATCH', route: `${table.entitySet}({referralKey})`, idempotent: true, successStatus: 204 }, (signal) =>
        this.client.api.upsert<Record<string, unknown>, unknown>({ collection: table.entitySet, key, data: body, ifnonematch: '*', signal }),
      );
      if (typeof created !== 'string') throw new CrmApiError(`Dataverse PATCH ${table.entitySet} returned no record id`, undefined, 'invalidResponse', false);
      id = created;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      const existing = await this.findByReferralId(entity, referralId, columns);
      if (!existing) throw error;
      this.logger.info({ entity, id: existing.ref.id }, 'record for referral already exists; returning it');
      return { ...existing, existed: true };
    }

    const ref: CrmRecordRef = { entity, id: id.toLowerCase() };
    if (typeof wantedState === 'string' && wantedState !== 'open') {
      // statecode is not valid for create (Dataverse opportunity table reference): close it as a second step.
      await this.update(ref, { '@state': wantedState, ...(lossReason !== undefined ? { [LOSS_REASON_COLUMN]: lossReason } : {}) }, null);
    }
    const record = await this.read(ref, columns);
    if (!record) throw new CrmApiError(`the ${entity} created for referral ${referralId} could not be read back`, 404, undefined, true);
    return record;
  }

  async previewCreate(entity: CrmEntityName, referralId: string, values: Record<string, unknown>, customer: CustomerRefs | undefined, status?: SyncStatusUpdate): Promise<Record<string, unknown>> {
    const body = await this.createBody(entity, { values, customer, status });
    // The keyed create sends the referral id in the URL and Dataverse writes it into the row: a column the create sets.
    return { [this.columns.referralIdentifier]: referralId, ...body };
  }

  /** The body of a keyed create (one at a time or in bulk): mapped columns, customer binds, Sync = Yes, status. */
  private async createBody(entity: CrmEntityName, item: { values: Record<string, unknown>; customer: CustomerRefs | undefined; status: SyncStatusUpdate | undefined }): Promise<Record<string, unknown>> {
    const table = tableFor(entity);
    const { '@state': _state, [LOSS_REASON_COLUMN]: _lossReason, ...plain } = item.values;
    const catalog = await this.catalog.columns(table.logicalName);
    const body = await this.bodies.build(plain, catalog);
    // The key travels in the URL; Dataverse copies it into the new row ("Use Upsert to Create or Update a record":
    // don't repeat it in the body).
    delete body[this.columns.referralIdentifier];
    Object.assign(body, customerBinds(entity, item.customer));
    body[this.columns.syncWithPartnerCenter] = true;
    if (item.status) {
      const title = typeof plain[table.titleColumn] === 'string' ? (plain[table.titleColumn] as string) : undefined;
      Object.assign(body, this.statusBody(table, await this.writableStatus(table, item.status), this.nameSuffix ? title : undefined));
    }
    return body;
  }

  /** Backfill creates: one `$batch` change set per 200 referrals (see `DynamicsBulk`). */
  async createManyForReferrals(entity: CrmEntityName, items: readonly BulkCreateItem[]): Promise<BulkCreateResult[]> {
    if (!STATUS_TABLES.has(entity)) throw new CrmApiError(`referrals are created as opportunities or leads, not as ${entity}s`, undefined, 'invalidEntity', false);
    if (entity === 'lead' && !this.leadsEnabled) throw new CrmApiError('lead creation is disabled for this Dynamics connection', undefined, 'leadsDisabled', false);
    return this.bulk.createMany(entity, items, (target, item) => this.createBody(target, { values: item.values, customer: item.customer, status: item.status }));
  }

  /** Backfill customers: a few `In` queries and change-set creates per batch (see `ensureCustomersWith`). */
  async ensureCustomers(customers: readonly CustomerProfile[]): Promise<CustomerRefs[]> {
    return ensureCustomersWith(this.bulk.customers(this.customers), customers);
  }

  async update(ref: CrmRecordRef, values: Record<string, unknown>, ifVersion: string | null, status?: SyncStatusUpdate): Promise<{ version: string }> {
    const table = tableFor(ref.entity);
    const { '@state': wantedState, [LOSS_REASON_COLUMN]: lossReason, ...plain } = values;
    const catalog = await this.catalog.columns(table.logicalName);
    const body = await this.bodies.build(plain, catalog);
    const hasStatus = status !== undefined && STATUS_TABLES.has(ref.entity);
    const titleGiven = table.titleColumn in plain;
    const needsCurrent = (wantedState !== undefined && table.states !== undefined) || (hasStatus && this.nameSuffix && !titleGiven);
    // Without a need to read, the last read still serves when it saw this version: it costs nothing and catches a closed opportunity.
    const current = needsCurrent ? await this.current(ref, ifVersion) : this.remembered(ref, ifVersion);

    if (hasStatus) {
      // A name given here is the real one (the mapping's value): appended to as is, never stripped.
      const title = titleGiven ? (typeof plain[table.titleColumn] === 'string' ? (plain[table.titleColumn] as string) : undefined) : current?.title;
      const statusBody = this.statusBody(table, await this.writableStatus(table, status), this.nameSuffix ? title : undefined);
      // Re-sending an unchanged name would still fire update events and audit on the seller's record ("Update and
      // delete table rows using the Web API").
      if (!titleGiven && current?.indicator === (status.ok ? '✔' : '✖')) delete statusBody[table.titleColumn];
      Object.assign(body, statusBody);
    }

    const transition = this.planTransition(table, ref, wantedState, current);
    if (transition?.kind === 'columns') Object.assign(body, transition.columns);

    const closedOpportunity = ref.entity === 'opportunity' && current?.statecode !== undefined && current.statecode !== 0;
    if (closedOpportunity) {
      const statusOnly = Object.keys(body).every((column) => [this.columns.audit, this.columns.syncStatus, table.titleColumn].includes(column) && !(column in plain));
      if (statusOnly) {
        this.logger.debug({ entity: ref.entity, id: ref.id }, 'opportunity is closed and read-only: sync status not written');
        return { version: current.version };
      }
      throw new CrmApiError(
        `opportunity ${ref.id} is closed (won or lost) and read-only; cosell-sync never reopens a closed opportunity, so the change (${Object.keys(plain).join(', ')}) is not written`,
        409,
        'closedOpportunity',
        false,
      );
    }

    let version = current?.version ?? ifVersion ?? undefined;
    if (Object.keys(body).length > 0) {
      version = await this.patch(table, ref, body, ifVersion);
      const title = body[table.titleColumn];
      this.remember(ref, {
        version,
        title: typeof title === 'string' ? (hasStatus && this.nameSuffix ? stripIndicator(title) : title) : current?.title,
        indicator: typeof title === 'string' ? (hasStatus && this.nameSuffix ? currentIndicator(title) : undefined) : current?.indicator,
        statecode: transition?.kind === 'columns' ? transition.columns.statecode : current?.statecode,
      });
    }
    if (transition?.kind === 'action') {
      await this.closeOpportunity(ref, transition.outcome, lossReason);
      // The action changed the row's version; re-reading it also refreshes the remembered state.
      return { version: (await this.current(ref, null)).version };
    }
    if (version === undefined) version = (await this.current(ref, null)).version;
    return { version };
  }

  /** The status column whose value says a name carries our mark (see carriesOurMark); undefined where names get none. */
  private markedBy(table: TableInfo): string | undefined {
    return this.nameSuffix && STATUS_TABLES.has(table.entity) ? this.columns.syncStatus : undefined;
  }

  heldValue(entity: CrmEntityName, column: string, value: unknown): unknown {
    const table = tableFor(entity);
    const cut = this.nameSuffix && STATUS_TABLES.has(entity) && typeof value === 'string' && column === table.titleColumn;
    return cut ? fittedTitle(value, table.titleMaxLength) : value;
  }

  async ensureCustomer(customer: CustomerProfile): Promise<CustomerRefs> {
    return this.customers.ensure(customer);
  }

  async readCustomer(ref: CrmRecordRef): Promise<CustomerProfile | null> {
    return this.customers.read(ref);
  }

  useCustomerColumns(columns: CustomerColumns): void {
    this.customers.use(columns);
  }

  async changesSince(entity: CrmEntityName, cursor: string | null): Promise<CrmChangeBatch> {
    return this.changes.changesSince(entity, cursor);
  }

  /**
   * Only the status columns, without If-Match on the record's version: they are ours, so a seller editing other
   * columns meanwhile is no conflict, and a conditional write would turn every such concurrent edit into a 412 and a
   * lost status. The one exception is the ✔/✖ on the name, a seller column: that write is conditional on the version
   * read just before it (so a rename made in between is never overwritten) and simply redone on 412.
   */
  async writeSyncStatus(ref: CrmRecordRef, status: SyncStatusUpdate): Promise<void> {
    const table = tableFor(ref.entity);
    if (!STATUS_TABLES.has(ref.entity)) return;
    if (status.paused && !(await this.offersPaused(table.logicalName))) return;
    const writable = await this.writableStatus(table, status);
    for (let attempt = 1; ; attempt += 1) {
      let current: RecordSnapshot | undefined;
      if (this.nameSuffix || ref.entity === 'opportunity') current = await this.current(ref, null);
      if (ref.entity === 'opportunity' && current?.statecode !== undefined && current.statecode !== 0) {
        this.logger.debug({ entity: ref.entity, id: ref.id }, 'opportunity is closed and read-only: sync status not written');
        return;
      }
      const body = this.statusBody(table, writable, this.nameSuffix ? current?.title : undefined);
      if (current?.indicator === (status.ok ? '✔' : '✖')) delete body[table.titleColumn];
      const guarded = table.titleColumn in body;
      try {
        const version = await this.patch(table, ref, body, guarded && current ? current.version : null);
        this.remember(ref, { version, title: current?.title, indicator: guarded ? (status.ok ? '✔' : '✖') : current?.indicator, statecode: current?.statecode });
        return;
      } catch (error) {
        if (!(error instanceof CrmPreconditionFailedError) || attempt >= STATUS_WRITE_ATTEMPTS) throw error;
      }
    }
  }

  private statusBody(table: TableInfo, status: SyncStatusUpdate, title: string | undefined): Record<string, unknown> {
    return statusColumns({ status, columns: this.columns, title, titleColumn: table.titleColumn, titleMaxLength: table.titleMaxLength });
  }

  private planTransition(
    table: TableInfo,
    ref: CrmRecordRef,
    wantedState: unknown,
    current: RecordSnapshot | undefined,
  ): { kind: 'columns'; columns: Record<string, number> } | { kind: 'action'; outcome: 'won' | 'lost' } | undefined {
    if (wantedState === undefined) return undefined;
    const states = table.states;
    if (!states) throw new CrmApiError(`${table.entity} has no @state column`, undefined, 'invalidValue', false);
    const target = typeof wantedState === 'string' ? states[wantedState] : undefined;
    if (!target) throw new CrmApiError(`@state of a ${table.entity} must be one of ${Object.keys(states).join(', ')}; got ${JSON.stringify(wantedState)}`, undefined, 'invalidValue', false);
    if (current?.statecode === target.statecode) return undefined;
    if (current?.statecode !== undefined && current.statecode !== 0) {
      // Partner Center's closed states are terminal, so nothing legitimate asks to reopen; a stale plan must not undo a close.
      this.logger.warn({ entity: ref.entity, id: ref.id, statecode: current.statecode, wanted: wantedState }, 'record is closed; cosell-sync does not reopen it');
      return undefined;
    }
    if (ref.entity === 'opportunity' && (wantedState === 'won' || wantedState === 'lost')) return { kind: 'action', outcome: wantedState };
    return { kind: 'columns', columns: { statecode: target.statecode, statuscode: target.statuscode } };
  }

  /** PATCH with If-Match (or `*`, which only guards against creating a row), answered with the new ETag in one round trip. */
  private async patch(table: TableInfo, ref: CrmRecordRef, body: Record<string, unknown>, ifVersion: string | null): Promise<string> {
    try {
      const raw = await this.client.run({ method: 'PATCH', route: `${table.entitySet}({id})`, idempotent: true, successStatus: 200 }, (signal) =>
        this.client.api.update<Record<string, unknown>, unknown>({
          collection: table.entitySet,
          key: ref.id,
          data: body,
          ifmatch: ifVersion ?? '*',
          returnRepresentation: true,
          select: [table.primaryId],
          signal,
        }),
      );
      const row = parseResponse(rowSchema, raw, `PATCH ${table.entitySet}`);
      const etag = row['@odata.etag'];
      return typeof etag === 'string' ? etag : (await this.current(ref, null)).version;
    } catch (error) {
      if (isPreconditionFailed(error) && error instanceof CrmApiError) throw preconditionFailed(`PATCH ${table.entitySet}`, error);
      throw error;
    }
  }

  /**
   * WinOpportunity / LoseOpportunity ("WinOpportunity Action"): a won or lost opportunity is closed by action, never by
   * PATCH.
   */
  /** `lossReason`: the lost status reason from the mapping's loss reason; the configured lostStatusCode without one. */
  private async closeOpportunity(ref: CrmRecordRef, outcome: 'won' | 'lost', lossReason?: unknown): Promise<void> {
    const actionName = outcome === 'won' ? 'WinOpportunity' : 'LoseOpportunity';
    const lostStatus = typeof lossReason === 'number' && Number.isInteger(lossReason) ? lossReason : this.lostStatusCode;
    await this.client.run({ method: 'POST', route: actionName, successStatus: 204 }, (signal) =>
      this.client.api.callAction({
        actionName,
        action: {
          Status: outcome === 'won' ? 3 : lostStatus,
          OpportunityClose: {
            subject: outcome === 'won' ? 'Won (Partner Center referral closed as won)' : 'Lost (Partner Center referral closed as lost)',
            'opportunityid@odata.bind': `/opportunities(${ref.id})`,
          },
        },
        signal,
      }),
    );
  }

  /**
   * Version, title and state of a record: from the last read when that read saw `ifVersion` (no request), else a GET
   * of just those columns. A version other than `ifVersion` fails early: the conditional write would fail anyway.
   */
  private async current(ref: CrmRecordRef, ifVersion: string | null): Promise<RecordSnapshot> {
    const cached = this.snapshots.get(snapshotKey(ref));
    const table = tableFor(ref.entity);
    if (ifVersion !== null && cached?.version === ifVersion && (cached.statecode !== undefined || !table.states)) return cached;
    let raw: unknown;
    try {
      raw = await this.client.run({ method: 'GET', route: `${table.entitySet}({id})` }, (signal) =>
        this.client.api.retrieve({
          collection: table.entitySet,
          key: ref.id,
          select: [table.primaryId, table.titleColumn, ...(table.states ? ['statecode'] : []), ...(this.markedBy(table) ? [this.columns.syncStatus] : [])],
          signal,
        }),
      );
    } catch (error) {
      if (isNotFound(error) && error instanceof CrmApiError) throw new CrmApiError(`${ref.entity} ${ref.id} no longer exists in Dataverse`, 404, error.code, false);
      throw error;
    }
    const snapshot = snapshotOf(table, parseResponse(rowSchema, raw, `GET ${table.entitySet}`), this.markedBy(table));
    this.remember(ref, snapshot);
    if (ifVersion !== null && snapshot.version !== ifVersion) {
      throw new CrmPreconditionFailedError(`${ref.entity} ${ref.id} changed since it was read (version ${ifVersion}, now ${snapshot.version})`);
    }
    return snapshot;
  }

  private async fetch(entity: CrmEntityName, key: string, columns: readonly ColumnRequest[]): Promise<CrmRecord | null> {
    const table = tableFor(entity);
    const catalog = await this.catalog.columns(table.logicalName);
    const plan = planRead(table, columns, catalog, this.markedBy(table));
    let raw: unknown;
    let userId: string;
    try {
      [raw, userId] = await Promise.all([
        this.client.run({ method: 'GET', route: key.includes('=') ? `${table.entitySet}({referralKey})` : `${table.entitySet}({id})` }, (signal) =>
          this.client.api.retrieve({ collection: table.entitySet, key, select: plan.select, ...(plan.expand.length > 0 ? { expand: plan.expand } : {}), signal }),
        ),
        this.ourUserId(),
      ]);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const row = parseResponse(rowSchema, raw, `GET ${table.entitySet}`);
    const id = row[table.primaryId];
    if (typeof id !== 'string') throw new CrmApiError(`Dataverse GET ${table.entitySet} returned a record without ${table.primaryId}`, undefined, 'invalidResponse', false);
    const ref: CrmRecordRef = { entity, id: id.toLowerCase() };
    this.remember(ref, snapshotOf(table, row, this.markedBy(table)));
    const record = plan.toRecord(ref, row, userId);
    if (entity === 'lead' && row.statecode === LEAD_QUALIFIED) {
      const opportunityId = await this.opportunityFromLead(ref.id);
      if (opportunityId !== undefined) record.convertedTo = { entity: 'opportunity', id: opportunityId };
    }
    return record;
  }

  /**
   * The opportunity a qualified lead became: QualifyLead sets the new opportunity's `originatingleadid` ("QualifyLead
   * Action"); oldest first, so a lead qualified into several opportunities always answers the same one. One more GET,
   * for qualified leads only.
   */
  private async opportunityFromLead(leadId: string): Promise<string | undefined> {
    const raw = await this.client.run({ method: 'GET', route: 'opportunities' }, (signal) =>
      this.client.api.retrieveMultiple({ collection: 'opportunities', select: ['opportunityid'], filter: `_originatingleadid_value eq ${leadId}`, orderBy: ['createdon asc'], top: 1, signal }),
    );
    const id = parseResponse(opportunityListSchema, raw, 'GET opportunities').value[0]?.opportunityid;
    return id?.toLowerCase();
  }

  /**
   * Our own update at depth 1 (`Depth` in the webhook's RemoteExecutionContext). A plug-in or workflow our write set
   * off runs at depth 2 or more and is synced like any change; a pre-operation plug-in folding its edits into our own
   * operation is caught by the next reconcile pass (change tracking lists our writes too).
   */
  async isOwnWrite(actor: WriteActor): Promise<boolean> {
    if (actor.initiatingUserId === undefined || actor.depth !== 1) return false;
    try {
      return actor.initiatingUserId.toLowerCase() === (await this.ourUserId());
    } catch (error) {
      this.logger.debug({ error: error instanceof Error ? error.message : String(error) }, 'cannot tell our own writes apart (WhoAmI failed); syncing the notification');
      return false;
    }
  }

  /**
   * A stored webhook body (RemoteExecutionContext) of our own write. Dataverse's If-Match compares the row's exact
   * version ("Perform conditional operations using the Web API"), so a write against a stored version never
   * overwrites a change it did not see.
   */
  async isOwnNotification(payload: string): Promise<boolean> {
    let event: DataverseWebhookEvent;
    try {
      event = parseDataverseWebhook(JSON.parse(payload));
    } catch {
      return false;
    }
    return this.isOwnWrite({ initiatingUserId: event.initiatingUserId, depth: event.depth });
  }

  /** The application user this connection acts as (`WhoAmI`, once): writes by it are ours (webhook `UserId`). */
  // callFunction deep-copies its request, which breaks an AbortSignal; the library's own timeout stands in for it.
  private readonly ourUserId = memoizeSuccess(() =>
    this.client
      .run({ method: 'GET', route: 'WhoAmI' }, () => this.client.api.callFunction({ name: 'WhoAmI', timeout: this.client.timeoutMs }))
      .then((raw) => parseResponse(whoAmISchema, raw, 'GET WhoAmI').UserId.toLowerCase()),
  );

  private remembered(ref: CrmRecordRef, version: string | null): RecordSnapshot | undefined {
    const cached = this.snapshots.get(snapshotKey(ref));
    return version !== null && cached?.version === version ? cached : undefined;
  }

  private remember(ref: CrmRecordRef, snapshot: RecordSnapshot): void {
    this.snapshots.set(snapshotKey(ref), snapshot);
  }
}

function snapshotKey(ref: CrmRecordRef): string {
  return `${ref.entity}:${ref.id.toLowerCase()}`;
}

/**
 * The referral's customer on the new record: the opportunity's potential customer, account and contact ("Create a table
 * row using the Web API" and the opportunity table reference).
 */
function customerBinds(entity: CrmEntityName, customer: CustomerRefs | undefined): Record<string, string> {
  if (!customer) return {};
  const binds: Record<string, string> = {};
  const account = `/accounts(${customer.account.id})`;
  if (entity === 'opportunity') binds['customerid_account@odata.bind'] = account;
  binds['parentaccountid@odata.bind'] = account;
  const contact = customer.contacts[0];
  if (contact) binds['parentcontactid@odata.bind'] = `/contacts(${contact.id})`;
  return binds;
}
