import { LRUCache } from 'lru-cache';
import { memoizeSuccess } from '../../util/memoize-success.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type {
  CustomerColumns,
  BulkCreateItem,
  BulkCreateResult,
  ChangeSink,
  ColumnRequest,
  CrmChangeBatch,
  CrmConnector,
  CrmEntityName,
  CrmRecord,
  CrmRecordRef,
  CustomerProfile,
  CustomerRefs,
  SyncStatusUpdate,
} from '../connector.ts';
import { CrmApiError, CrmPreconditionFailedError } from '../connector.ts';
import type { CrmEntityMetadata } from '../metadata.ts';
import { SalesforceCoSellDecisions } from './co-sell-decision.ts';
import type { CallRecorder } from '../../http/call-record.ts';
import type { RetryPolicy } from '../../http/retry.ts';
import type { Logger } from '../../util/logger.ts';
import type { SalesforceAuthenticator } from './auth.ts';
import type { ApiPacerOptions } from './api-pacing.ts';
import { createMany } from './bulk-create.ts';
import { ensureCustomers } from './bulk-customers.ts';
import { ChangePoller } from './change-poll.ts';
import { changeEventChannel, startChangeStream } from './change-stream.ts';
import { composite, isDuplicateValue, subrequestError, succeeded } from './composite.ts';
import { queryPath, CustomerDirectory } from './customers.ts';
import { AUDIT_MAX_LENGTH, FIELDS, SYNC_STATUS_VALUES } from './custom-fields.ts';
import { activePicklistValues, describeEntity, DescribeCache, type SObjectDescribe } from './describe.ts';
import { idWithPrefix } from './ids.ts';
import { LEAD_STATES, OPPORTUNITY_STATES, sobjectFor, type LeadState, type OpportunityState, type SObjectInfo } from './objects.ts';
import { planRead, rowId, selectSoql, snapshotFields, snapshotOf, type RecordSnapshot } from './record-reader.ts';
import { SalesforceClient } from './salesforce-client.ts';
import { SalesforceSolutions } from './solutions.ts';
import { SalesforceContactRoles } from './contact-roles.ts';
import { SalesforceOpportunityTeam } from './opportunity-team.ts';
import { soqlString } from './soql.ts';
import { LeadStatuses, OpportunityStates, SALES_STAGE_PERCENTAGES } from './states.ts';
import { fittedTitle } from '../sync-indicator.ts';
import { statusFields, withIndicator, FAILED_MARK, OK_MARK } from './sync-status.ts';
import { buildBody } from './write-body.ts';

export interface SalesforceConnectorOptions {
  /** Connection name from the config (`salesforce`). */
  name: string;
  authenticator: SalesforceAuthenticator;
  apiVersion?: string;
  /** `Sforce-Call-Options: client=` tag. Default `cosell-sync`. */
  callOptionsClient?: string;
  onHoldStage?: string;
  /** Microsoft's connector holds a seller's edits while the opportunity is on hold; true sends them at once. */
  syncEditsWhileOnHold?: boolean;
  activeStage?: string | undefined;
  leadStatuses?: { open?: string | undefined; qualified?: string; disqualified?: string };
  /** Whether unaccepted referrals may be created as leads (`syncCoSellOnly: false`). Default true. */
  leadsEnabled?: boolean;
  statusIndicator?: { nameSuffix?: boolean };
  /** Change poll overlap. Default 120 s. */
  pollOverlapMs?: number;
  /** CloseDate of a referral without a closing date: today + this. Default 90. */
  defaultCloseDateDays?: number;
  /** See SAME_SECOND_SETTLE_MS; 0 turns the guard off (tests that are not about it). */
  sameSecondSettleMs?: number;
  /** Whether `startChangeStream` subscribes to CDC (notifications: cdc). Default true. */
  changeStream?: boolean;
  streamBackoff?: { baseMs?: number; maxMs?: number };
  logger: Logger;
  /** Per HTTP attempt. Default 30 s. */
  /** Pace calls on the org's daily API allocation (see ApiAllocationPacer); absent: no pacing (the sandbox). */
  pacing?: ApiPacerOptions;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onCall?: CallRecorder;
}

const SNAPSHOT_LIMIT = 2000;
const STATUS_WRITE_ATTEMPTS = 3;
/**
 * If-Unmodified-Since compares whole seconds (REST API "Conditional Requests"): a seller edit in the same second as the
 * version we read would pass it. Such an edit can only exist when our read happened within that second, so a write
 * whose version was read less than this long after it was stamped first waits until the second is surely over (1 s
 * granularity + 1 s of clock difference tolerated) and re-checks the exact SystemModstamp. Only writes right after an
 * edit pay for it.
 */
export const SAME_SECOND_SETTLE_MS = 2000;

const rowsSchema = z.looseObject({ records: z.array(z.record(z.string(), z.unknown())) });
const versionRootSchema = z.looseObject({ identity: z.string().nullish() });

/**
 * The CrmConnector for Salesforce, over jsforce. Everything Salesforce-specific lives here: stages behind `@state`,
 * keyed creates on the unique Referral_Identifier__c, If-Unmodified-Since on SystemModstamp, composite calls that write
 * and read back in one API call, the ✔/✖ indicator, CDC and the SystemModstamp poll.
 */
export class SalesforceConnector implements CrmConnector {
  readonly kind = 'salesforce' as const;
  readonly name: string;
  readonly leadsEnabled: boolean;
  readonly client: SalesforceClient;
  readonly metadata: DescribeCache;
  readonly solutions: SalesforceSolutions;
  readonly dealContacts: SalesforceContactRoles;
  readonly dealTeam: SalesforceOpportunityTeam;
  readonly coSellDecisions: SalesforceCoSellDecisions;
  private readonly logger: Logger;
  private readonly nameSuffix: boolean;
  private readonly defaultCloseDateDays: number;
  private readonly stages: OpportunityStates;
  private readonly leadStatuses: LeadStatuses;
  private readonly customers: CustomerDirectory;
  private readonly poller: ChangePoller;
  /** The last version read per record, so a write right after a read needs no second read. */
  private readonly snapshots = new LRUCache<string, RecordSnapshot>({ max: SNAPSHOT_LIMIT });
  /** Objects whose Sync Status picklist lacks Conflict, warned about once (until metadata is invalidated). */
  private readonly conflictWarned = new Set<string>();

  constructor(private readonly options: SalesforceConnectorOptions) {
    this.name = options.name;
    this.logger = options.logger;
    this.leadsEnabled = options.leadsEnabled ?? true;
    this.nameSuffix = options.statusIndicator?.nameSuffix ?? true;
    this.defaultCloseDateDays = options.defaultCloseDateDays ?? 90;
    this.client = new SalesforceClient({
      authenticator: options.authenticator,
      apiVersion: options.apiVersion ?? '62.0',
      callOptionsClient: options.callOptionsClient ?? 'cosell-sync',
      logger: options.logger,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.onCall ? { onCall: options.onCall } : {}),
      ...(options.pacing ? { pacing: options.pacing } : {}),
    });
    this.metadata = new DescribeCache(this.client);
    this.solutions = new SalesforceSolutions(this.client);
    this.dealContacts = new SalesforceContactRoles(this.client, (contact, accountId) => this.customers.contactInsert(contact, accountId));
    this.dealTeam = new SalesforceOpportunityTeam(this.client);
    this.coSellDecisions = new SalesforceCoSellDecisions(this.metadata);
    this.stages = new OpportunityStates(this.client, { onHoldStage: options.onHoldStage ?? 'Prospecting', activeStage: options.activeStage }, options.logger);
    this.leadStatuses = new LeadStatuses(this.metadata, {
      open: options.leadStatuses?.open,
      qualified: options.leadStatuses?.qualified ?? 'Closed - Converted',
      disqualified: options.leadStatuses?.disqualified ?? 'Closed - Not Converted',
    });
    this.customers = new CustomerDirectory(this.client, this.metadata);
    this.poller = new ChangePoller(this.client, options.pollOverlapMs ?? 120_000, options.logger);
  }

  /** Column metadata, after checking the stage and lead-status settings against the org (clear errors at start). */
  async describe(entities: readonly CrmEntityName[]): Promise<Record<string, CrmEntityMetadata>> {
    if (entities.includes('opportunity')) await this.stages.validate();
    if (entities.includes('lead')) await this.leadStatuses.validate();
    const described = await Promise.all(entities.map((entity) => describeEntity(this.metadata, entity)));
    // Tells the operator at start, not at the first held conflict, that the Sync Status picklist needs setup re-run.
    for (const entity of entities) {
      const info = sobjectFor(entity);
      if (info.referralTarget) this.offersConflict(await this.metadata.describe(info.sobject));
    }
    return Object.fromEntries(described.map((metadata) => [metadata.entity, metadata]));
  }

  /** Forget cached describes and stages, e.g. after provisioning added fields or an admin changed the sales process. */
  invalidateMetadata(): void {
    this.metadata.invalidate();
    this.conflictWarned.clear();
    void this.stages.list(true).catch(() => undefined);
  }

  async read(ref: CrmRecordRef, columns: readonly ColumnRequest[]): Promise<CrmRecord | null> {
    const info = sobjectFor(ref.entity);
    // The engine also tries a referral's externalReferenceId, which may be another CRM's id: not ours, no record.
    const id = idWithPrefix(ref.id, info.keyPrefix);
    if (!id) return null;
    return this.fetchOne(ref.entity, `Id = ${soqlString(id)}`, columns);
  }

  async findByReferralId(entity: CrmEntityName, referralId: string, columns: readonly ColumnRequest[]): Promise<CrmRecord | null> {
    if (!sobjectFor(entity).referralTarget) return null;
    // Oldest first: should an org hold duplicates (a non-unique field), every run settles on the same record.
    return this.fetchOne(entity, `${FIELDS.referralIdentifier} = ${soqlString(referralId)}`, columns, 'ORDER BY CreatedDate ASC LIMIT 2');
  }

  /**
   * The lead a seller converted into this opportunity (Salesforce Object Reference "Lead": ConvertedOpportunityId). One
   * SOQL query; the oldest such lead, should several name it (conversions into an existing opportunity).
   */
  async convertedFrom(ref: CrmRecordRef): Promise<CrmRecordRef | undefined> {
    if (ref.entity !== 'opportunity') return undefined;
    const id = idWithPrefix(ref.id, sobjectFor('opportunity').keyPrefix);
    if (!id) return undefined;
    const rows = await this.client.query(selectSoql('Lead', ['Id'], `ConvertedOpportunityId = ${soqlString(id)}`, 'ORDER BY CreatedDate ASC LIMIT 1'), {
      route: 'Lead converted from',
    });
    const row = rows[0];
    return row ? { entity: 'lead', id: rowId(row, 'Lead') } : undefined;
  }

  /**
   * A create-only insert keyed by the unique Referral_Identifier__c, sent with the read-back as one /composite call. A
   * retry after a crash or a lost answer fails with DUPLICATE_VALUE on the key and returns the first record untouched —
   * unlike an upsert (PATCH by external id), which would overwrite whatever a seller changed on it since. Where the
   * field is not unique, the record is looked up first (one more call).
   */
  async createForReferral(
    entity: CrmEntityName,
    referralId: string,
    values: Record<string, unknown>,
    customer: CustomerRefs | undefined,
    columns: readonly ColumnRequest[],
    status?: SyncStatusUpdate,
  ): Promise<CrmRecord & { existed?: boolean }> {
    const info = this.referralTarget(entity);
    const described = await this.metadata.describe(info.sobject);
    const uniqueKey = described.field(FIELDS.referralIdentifier)?.unique === true;
    if (!uniqueKey) {
      const existing = await this.findByReferralId(entity, referralId, columns);
      if (existing) return existing;
    }
    const body = await this.createBody(info, described, { referralId, values, customer, status });
    const plan = planRead(info, described, columns, this.markedBy(info));
    const responses = await composite(
      this.client,
      [
        { method: 'POST', path: `/sobjects/${info.sobject}`, referenceId: 'created', body },
        { method: 'GET', path: `${queryPath(selectSoql(info.sobject, plan.select, 'Id = '))}'@{created.id}'`, referenceId: 'record' },
      ],
      { allOrNone: false, route: `create ${info.sobject}`, idempotent: true },
    );
    const created = responses.get('created');
    if (!succeeded(created)) {
      if (created && isDuplicateValue(created.body, FIELDS.referralIdentifier)) {
        const existing = await this.findByReferralId(entity, referralId, columns);
        if (existing) {
          this.logger.info({ entity, id: existing.ref.id }, 'record for referral already exists; returning it');
          return { ...existing, existed: true };
        }
      }
      throw subrequestError(created, `POST sobjects/${info.sobject}`);
    }
    const readBack = responses.get('record');
    const row = succeeded(readBack) ? rowsSchema.safeParse(readBack?.body).data?.records[0] : undefined;
    if (!row) {
      const createdId = z.looseObject({ id: z.string() }).safeParse(created?.body);
      const record = createdId.success ? await this.read({ entity, id: createdId.data.id }, columns) : null;
      if (!record) throw new CrmApiError(`the ${info.sobject} created for referral ${referralId} could not be read back`, 404, undefined, true);
      return record;
    }
    return this.toRecord(info, plan, row);
  }

  async previewCreate(entity: CrmEntityName, referralId: string, values: Record<string, unknown>, customer: CustomerRefs | undefined, status?: SyncStatusUpdate): Promise<Record<string, unknown>> {
    const info = this.referralTarget(entity);
    return this.createBody(info, await this.metadata.describe(info.sobject), { referralId, values, customer, status });
  }

  /**
   * Bulk create for backfills: ⌈N/200⌉ sObject Collections calls (see bulk-create.ts). Returns refs, not records: the
   * caller links each pair with the canonical values it sent (what a single create would have written) and lets the
   * next event or reconcile read it. Records that exist from an earlier run come back as `existing`, untouched.
   */
  async createManyForReferrals(entity: CrmEntityName, items: readonly BulkCreateItem[]): Promise<BulkCreateResult[]> {
    const info = this.referralTarget(entity);
    const described = await this.metadata.describe(info.sobject);
    return createMany(this.client, entity, items, {
      uniqueKey: described.field(FIELDS.referralIdentifier)?.unique === true,
      buildBody: (item) => this.createBody(info, described, item),
    });
  }

  async update(ref: CrmRecordRef, values: Record<string, unknown>, ifVersion: string | null, status?: SyncStatusUpdate): Promise<{ version: string }> {
    const info = sobjectFor(ref.entity);
    const id = this.requireId(ref, info);
    const described = await this.metadata.describe(info.sobject);
    const { '@state': wantedState, '@salesStage': wantedSalesStage, ...plain } = values;
    const body = buildBody(plain, described, this.logger);
    const salesStage = info.entity === 'opportunity' ? salesStagePercentage(wantedSalesStage) : undefined;
    const hasStatus = status !== undefined && info.referralTarget;
    const titleField = this.nameSuffix ? info.titleField : undefined;
    const titleGiven = titleField !== undefined && typeof body[titleField] === 'string';
    const needsCurrent = ((wantedState !== undefined || salesStage !== undefined) && info.stateField !== undefined) || (hasStatus && titleField !== undefined && !titleGiven);

    let current = this.remembered(ref, ifVersion);
    if (!current && needsCurrent) current = await this.current(ref, ifVersion);
    if (ifVersion !== null) current = await this.settle(ref, ifVersion, current);

    if (wantedState !== undefined && info.stateField) {
      const target = await this.stateValueFor(ref.entity, wantedState, current);
      if (target !== undefined) body[info.stateField] = target;
    }
    if (salesStage !== undefined && info.stateField) {
      // From the stage this write ends in: an acceptance (on-hold → active) lands on the sales stage's own open stage.
      const from = typeof body[info.stateField] === 'string' ? String(body[info.stateField]) : current?.stateValue;
      const target = await this.stages.stageForSalesStage(salesStage, from);
      if (target !== undefined && target !== current?.stateValue) body[info.stateField] = target;
    }
    if (hasStatus) {
      Object.assign(body, statusFields(this.writableStatus(status, described), auditLength(described)));
      if (titleField && info.titleMaxLength) {
        // A name given here is the real one (the mapping's value): appended to as is, never stripped.
        const title = titleGiven ? String(body[titleField]) : current?.title;
        const mark = status.ok ? OK_MARK : FAILED_MARK;
        // Re-sending an unchanged name would still raise a change event and touch the seller's record history.
        if (title !== undefined && (titleGiven || current?.indicator !== mark)) body[titleField] = withIndicator(title, status.ok, info.titleMaxLength);
      }
    }

    if (Object.keys(body).length === 0) return { version: current?.version ?? ifVersion ?? (await this.current(ref, null)).version };
    return { version: await this.write(ref, info, id, body, ifVersion) };
  }

  /**
   * A held conflict is written as Sync Status "Conflict" where the picklist offers it (known from the cached describe).
   * A field made by an earlier release does not, and its restricted picklist would refuse the whole write: such an org
   * gets "Failed" (the audit line still explains the conflict) and one warning to re-run setup.
   */
  private writableStatus(status: SyncStatusUpdate, described: SObjectDescribe): SyncStatusUpdate {
    return !status.conflict || this.offersConflict(described) ? status : { ...status, conflict: false };
  }

  private offersConflict(described: SObjectDescribe): boolean {
    if (offersValue(described, SYNC_STATUS_VALUES.conflict)) return true;
    if (!this.conflictWarned.has(described.name)) {
      this.conflictWarned.add(described.name);
      this.logger.warn(
        { sobject: described.name, field: FIELDS.syncStatus },
        'the Sync Status picklist has no "Conflict" value (set up by an earlier release): held conflicts are shown as Failed; re-run `cosell setup salesforce` to add it',
      );
    }
    return false;
  }

  /** The status field whose value says a name carries our mark (see carriesOurMark); undefined where names get none. */
  private markedBy(info: SObjectInfo): string | undefined {
    return this.nameSuffix && info.referralTarget && info.titleField ? FIELDS.syncStatus : undefined;
  }

  heldValue(entity: CrmEntityName, column: string, value: unknown): unknown {
    const info = sobjectFor(entity);
    const cut = this.nameSuffix && info.referralTarget && info.titleMaxLength && typeof value === 'string' && column.toLowerCase() === info.titleField?.toLowerCase();
    return cut ? fittedTitle(value, info.titleMaxLength ?? value.length + 2) : value;
  }

  async ensureCustomer(customer: CustomerProfile): Promise<CustomerRefs> {
    return this.customers.ensure(customer);
  }

  /**
   * ensureCustomer for a backfill, in order: IN-list queries and sObject Collections creates (a few calls per 200
   * referrals instead of one or two each). Same matching rules; see bulk-customers.ts.
   */
  async ensureCustomers(customers: readonly CustomerProfile[]): Promise<CustomerRefs[]> {
    return ensureCustomers(this.client, this.customers, customers);
  }

  async readCustomer(ref: CrmRecordRef): Promise<CustomerProfile | null> {
    return this.customers.read(ref);
  }

  useCustomerColumns(columns: CustomerColumns): void {
    this.customers.use(columns);
  }

  async changesSince(entity: CrmEntityName, cursor: string | null): Promise<CrmChangeBatch> {
    return this.poller.changesSince(entity, cursor);
  }

  /**
   * Only the status fields, without If-Unmodified-Since: they are ours, so a seller editing other fields meanwhile is no
   * conflict, and a conditional write would turn each such edit into a 412 and a lost status. The exception is the ✔/✖
   * on Name, a seller field: that write is conditional on the version read just before it (a rename in between is
   * never overwritten) and redone on 412.
   */
  async writeSyncStatus(ref: CrmRecordRef, status: SyncStatusUpdate): Promise<void> {
    const info = sobjectFor(ref.entity);
    if (!info.referralTarget) return;
    // "Paused" only where the picklist offers it (set up by this release): a restricted picklist refuses the write.
    if (status.paused && !offersValue(await this.metadata.describe(info.sobject), SYNC_STATUS_VALUES.paused)) return;
    if (!this.nameSuffix || !info.titleField) {
      try {
        await this.update(ref, {}, null, status);
      } catch (error) {
        // Like a closed Dataverse opportunity: the status is ours and the record can no longer take it.
        if (!isConvertedLeadError(error)) throw error;
        this.logger.debug({ entity: ref.entity, id: ref.id }, 'lead is converted and read-only: sync status not written');
      }
      return;
    }
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.current(ref, null);
      try {
        await this.update(ref, {}, current.version, status);
        return;
      } catch (error) {
        if (!(error instanceof CrmPreconditionFailedError) || attempt >= STATUS_WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Change Data Capture on /data/OpportunityChangeEvent, /data/OpportunityContactRoleChangeEvent (a seller's contact
   * added to a deal, see contact-roles.ts) (and /data/LeadChangeEvent when leads are synced); see
   * change-stream.ts. With `notifications: outbound-messages` there is nothing to hold open and this returns a no-op.
   */
  async startChangeStream(sink: ChangeSink): Promise<() => Promise<void>> {
    if (this.options.changeStream === false) return async () => undefined;
    const channels = [changeEventChannel('Opportunity'), changeEventChannel('OpportunityContactRole'), ...(this.leadsEnabled ? [changeEventChannel('Lead')] : [])];
    return startChangeStream(
      {
        client: this.client,
        connectionName: this.name,
        channels,
        logger: this.logger.child({ part: 'cdc' }),
        ...(this.options.streamBackoff ? { backoff: this.options.streamBackoff } : {}),
      },
      sink,
    );
  }

  /** The org's daily API allocation as the last REST answer's Sforce-Limit-Info reported it (see ApiUsageMonitor). */
  apiUsage(): { used: number; max: number; window: string } | undefined {
    const usage = this.client.usage.snapshot();
    return usage ? { ...usage, window: '24 h' } : undefined;
  }

  async close(): Promise<void> {
    this.snapshots.clear();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private referralTarget(entity: CrmEntityName): SObjectInfo {
    const info = sobjectFor(entity);
    if (!info.referralTarget) throw new CrmApiError(`referrals are created as opportunities or leads, not as ${entity}s`, undefined, 'invalidEntity', false);
    if (entity === 'lead' && !this.leadsEnabled) throw new CrmApiError('lead creation is disabled for this Salesforce connection (syncCoSellOnly)', undefined, 'leadsDisabled', false);
    return info;
  }

  private requireId(ref: CrmRecordRef, info: SObjectInfo): string {
    const id = idWithPrefix(ref.id, info.keyPrefix);
    if (!id) throw new CrmApiError(`${ref.id} is not a Salesforce ${info.sobject} id`, 404, 'NOT_FOUND', false);
    return id;
  }

  /** The insert body of a referral's record: mapped values, key, stage/status, customer lookups, required defaults, status. */
  private async createBody(info: SObjectInfo, described: SObjectDescribe, item: BulkCreateItem): Promise<Record<string, unknown>> {
    const { '@state': wantedState, '@salesStage': wantedSalesStage, ...plain } = item.values;
    const body = buildBody(plain, described, this.logger);
    body[FIELDS.referralIdentifier] = item.referralId;
    body[FIELDS.syncWithPartnerCenter] = true;
    if (info.entity === 'opportunity') {
      // Unlike Dataverse, Salesforce takes the stage on insert: a closed referral's record is created closed.
      const stage = await this.stages.stageFor(opportunityState(wantedState ?? 'open'));
      const salesStage = salesStagePercentage(wantedSalesStage);
      // An accepted referral's record starts in its sales stage (on-hold and closed records keep theirs: see states.ts).
      body.StageName = (salesStage !== undefined ? await this.stages.stageForSalesStage(salesStage, stage) : undefined) ?? stage;
      if (typeof body.Name !== 'string' || body.Name.trim() === '') body.Name = `Partner Center referral ${item.referralId}`;
      // CloseDate is required (Salesforce Object Reference "Opportunity"); a referral without a closing date gets a
      // placeholder the seller can move.
      if (body.CloseDate === undefined || body.CloseDate === null) body.CloseDate = new Date(Date.now() + this.defaultCloseDateDays * 86_400_000).toISOString().slice(0, 10);
      if (item.customer) {
        body.AccountId = item.customer.account.id;
        const contact = item.customer.contacts[0];
        if (contact && described.field('ContactId')?.createable) body.ContactId = contact.id;
      }
    } else {
      // Status is required and has no API-side default ("Co-sell connector for Salesforce CRM - overview": "Require the
      // property item/Status").
      body.Status = await this.leadStatuses.statusFor(leadState(wantedState ?? 'open'));
      if (typeof body.LastName !== 'string' || body.LastName.trim() === '') body.LastName = '(unknown)';
      if (typeof body.Company !== 'string' || body.Company.trim() === '') body.Company = '(unknown)';
    }
    if (item.status) Object.assign(body, statusFields(this.writableStatus(item.status, described), auditLength(described)));
    if (info.titleField && typeof body[info.titleField] === 'string') {
      const title = String(body[info.titleField]);
      body[info.titleField] = item.status && this.nameSuffix && info.titleMaxLength ? withIndicator(title, item.status.ok, info.titleMaxLength) : title;
    }
    return body;
  }

  /** The StageName / Status that moves a record to `@state`, or undefined when nothing should change. */
  private async stateValueFor(entity: CrmEntityName, wanted: unknown, current: RecordSnapshot | undefined): Promise<string | undefined> {
    const currentState = await this.stateOf(entity, current?.stateValue);
    if (entity === 'opportunity') {
      const target = opportunityState(wanted);
      if (currentState === target) return undefined;
      if (currentState === 'won' || currentState === 'lost') {
        // Partner Center's closed states are terminal, so nothing legitimate asks to reopen; a stale plan must not undo a close.
        this.logger.warn({ entity, wanted: target, current: currentState }, 'opportunity is closed; cosell-sync does not reopen it');
        return undefined;
      }
      return this.stages.stageFor(target);
    }
    const target = leadState(wanted);
    if (currentState === target) return undefined;
    if (currentState === 'qualified' || currentState === 'disqualified') {
      this.logger.warn({ entity, wanted: target, current: currentState }, 'lead is closed; cosell-sync does not reopen it');
      return undefined;
    }
    return this.leadStatuses.statusFor(target);
  }

  private async stateOf(entity: CrmEntityName, value: unknown): Promise<string | null> {
    if (entity === 'opportunity') return this.stages.stateOf(value);
    if (entity === 'lead') return this.leadStatuses.stateOf(value);
    return null;
  }

  /**
   * PATCH (with If-Unmodified-Since when conditional) and the read of the new SystemModstamp in one all-or-none
   * /composite call: one API call per synced change. A 412 becomes CrmPreconditionFailedError for the engine to re-plan.
   */
  private async write(ref: CrmRecordRef, info: SObjectInfo, id: string, body: Record<string, unknown>, ifVersion: string | null): Promise<string> {
    const fields = snapshotFields(info, this.markedBy(info));
    const responses = await composite(
      this.client,
      [
        {
          method: 'PATCH',
          path: `/sobjects/${info.sobject}/${id}`,
          referenceId: 'write',
          body,
          ...(ifVersion !== null ? { httpHeaders: { 'If-Unmodified-Since': new Date(Date.parse(ifVersion)).toUTCString() } } : {}),
        },
        { method: 'GET', path: queryPath(selectSoql(info.sobject, fields, `Id = ${soqlString(id)}`)), referenceId: 'read' },
      ],
      { allOrNone: true, route: `update ${info.sobject}`, idempotent: true },
    );
    const written = responses.get('write');
    if (!succeeded(written)) {
      const error = subrequestError(written, `PATCH sobjects/${info.sobject}/{id}`);
      if (isConvertedLeadError(error)) {
        throw new CrmApiError(
          `lead ${id} was converted in Salesforce and is read-only (CANNOT_UPDATE_CONVERTED_LEAD); the change (${Object.keys(body).join(', ')}) is not written — the deal continues on the opportunity the lead was converted to`,
          error.status,
          CONVERTED_LEAD_CODE,
          false,
        );
      }
      throw error;
    }
    const read = responses.get('read');
    const row = succeeded(read) ? rowsSchema.safeParse(read?.body).data?.records[0] : undefined;
    if (!row) return (await this.current(ref, null)).version;
    const snapshot = snapshotOf(info, row, Date.now(), this.markedBy(info));
    this.remember(ref, snapshot);
    return snapshot.version;
  }

  /** The same-second guard (see SAME_SECOND_SETTLE_MS); returns the snapshot the write may rely on. */
  private async settle(ref: CrmRecordRef, version: string, snapshot: RecordSnapshot | undefined): Promise<RecordSnapshot> {
    const stamped = Date.parse(version);
    if (Number.isNaN(stamped)) throw new CrmApiError(`"${version}" is not a Salesforce record version (SystemModstamp)`, undefined, 'invalidVersion', false);
    const settleMs = this.options.sameSecondSettleMs ?? SAME_SECOND_SETTLE_MS;
    if (snapshot?.version === version && snapshot.readAt - stamped >= settleMs) return snapshot;
    // Unknown read time, or read within the stamp's second: wait the second out, then compare the exact stamp.
    const wait = stamped + settleMs - Date.now();
    if (wait > 0) await sleep(wait);
    return this.current(ref, version);
  }

  /** Version, title and state of a record now (one SOQL query); a version other than `ifVersion` fails early. */
  private async current(ref: CrmRecordRef, ifVersion: string | null): Promise<RecordSnapshot> {
    const info = sobjectFor(ref.entity);
    const id = this.requireId(ref, info);
    const rows = await this.client.query(selectSoql(info.sobject, snapshotFields(info, this.markedBy(info)), `Id = ${soqlString(id)}`), { route: `${info.sobject} version` });
    const row = rows[0];
    if (!row) throw new CrmApiError(`${info.sobject} ${id} no longer exists in Salesforce`, 404, 'NOT_FOUND', false);
    const snapshot = snapshotOf(info, row, Date.now(), this.markedBy(info));
    this.remember(ref, snapshot);
    if (ifVersion !== null && snapshot.version !== ifVersion) {
      throw new CrmPreconditionFailedError(`${info.sobject} ${id} changed since it was read (version ${ifVersion}, now ${snapshot.version})`);
    }
    return snapshot;
  }

  private async fetchOne(entity: CrmEntityName, where: string, columns: readonly ColumnRequest[], suffix = ''): Promise<CrmRecord | null> {
    const info = sobjectFor(entity);
    const described = await this.metadata.describe(info.sobject);
    const plan = planRead(info, described, columns, this.markedBy(info));
    const rows = await this.client.query(selectSoql(info.sobject, plan.select, where, suffix), { route: `${info.sobject} read`, maxRows: 2 });
    const row = rows[0];
    if (!row) return null;
    if (rows.length > 1) this.logger.warn({ entity, where }, 'more than one record holds this referral id; using the oldest');
    return this.toRecord(info, plan, row);
  }

  private async toRecord(info: SObjectInfo, plan: ReturnType<typeof planRead>, row: Record<string, unknown>): Promise<CrmRecord> {
    const ref: CrmRecordRef = { entity: info.entity, id: rowId(row, info.sobject) };
    this.remember(ref, snapshotOf(info, row, Date.now(), this.markedBy(info)));
    const record = await plan.toRecord(ref, row, await this.ourUserId(), (value, column) =>
      column === '@salesStage' ? (info.entity === 'opportunity' ? this.stages.salesStageOf(value) : undefined) : this.stateOf(info.entity, value),
    );
    if (info.entity === 'opportunity' && info.stateField && this.options.syncEditsWhileOnHold !== true) {
      record.onHold = (await this.stateOf(info.entity, row[info.stateField])) === 'onhold';
    }
    if (info.entity === 'opportunity' && info.stateField && (await this.stages.isAcceptanceDefault(row[info.stateField]))) {
      record.stateDefaultColumns = ['@salesStage'];
    }
    return record;
  }

  /** The integration user (from the token's identity URL, else the REST root's `identity`): writes by it are ours. */
  private readonly ourUserId = memoizeSuccess(async (): Promise<string | undefined> => {
    const identity = await this.client.identity();
    if (identity.userId) return identity.userId;
    const root = await this.client.sendParsed({ method: 'GET', path: '', route: 'version root' }, versionRootSchema);
    return /\/([A-Za-z0-9]{15,18})\/?$/.exec(root.identity ?? '')?.[1];
  });

  private remembered(ref: CrmRecordRef, version: string | null): RecordSnapshot | undefined {
    const cached = this.snapshots.get(snapshotKey(ref));
    return version !== null && cached?.version === version ? cached : undefined;
  }

  private remember(ref: CrmRecordRef, snapshot: RecordSnapshot): void {
    this.snapshots.set(snapshotKey(ref), snapshot);
  }
}

function snapshotKey(ref: CrmRecordRef): string {
  return `${ref.entity}:${ref.id.slice(0, 15)}`;
}

function auditLength(described: SObjectDescribe): number {
  const length = described.field(FIELDS.audit)?.length;
  return typeof length === 'number' && length > 0 ? length : AUDIT_MAX_LENGTH;
}

/** A `@salesStage` value to write (a Partner Center percentage), or undefined when none is asked for. */
function salesStagePercentage(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const percentage = typeof value === 'number' ? value : Number(value);
  if (!(SALES_STAGE_PERCENTAGES as readonly number[]).includes(percentage)) {
    throw new CrmApiError(`@salesStage must be one of ${SALES_STAGE_PERCENTAGES.join(', ')}; got ${JSON.stringify(value)}`, undefined, 'invalidValue', false);
  }
  return percentage;
}

function opportunityState(value: unknown): OpportunityState {
  if (typeof value === 'string' && (OPPORTUNITY_STATES as readonly string[]).includes(value)) return value as OpportunityState;
  throw new CrmApiError(`@state of an opportunity must be one of ${OPPORTUNITY_STATES.join(', ')}; got ${JSON.stringify(value)}`, undefined, 'invalidValue', false);
}

function leadState(value: unknown): LeadState {
  if (typeof value === 'string' && (LEAD_STATES as readonly string[]).includes(value)) return value as LeadState;
  throw new CrmApiError(`@state of a lead must be one of ${LEAD_STATES.join(', ')}; got ${JSON.stringify(value)}`, undefined, 'invalidValue', false);
}

/** Salesforce Help 000384333: every write to a converted lead fails with this code ("cannot reference converted lead"). */
const CONVERTED_LEAD_CODE = 'CANNOT_UPDATE_CONVERTED_LEAD';

function isConvertedLeadError(error: unknown): error is CrmApiError {
  return error instanceof CrmApiError && error.code === CONVERTED_LEAD_CODE;
}

/** Whether the Sync Status picklist offers `wanted`; with no values described (no field, or none listed), assume so. */
function offersValue(described: SObjectDescribe, wanted: string): boolean {
  const field = described.field(FIELDS.syncStatus);
  if (!field?.picklistValues || field.picklistValues.length === 0) return true;
  return activePicklistValues(field).some((value) => value.toLowerCase() === wanted.toLowerCase());
}
