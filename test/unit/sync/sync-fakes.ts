import {
  CrmPreconditionFailedError,
  type CrmConnector,
  type CrmEntityName,
  type CrmRecord,
  type CrmRecordRef,
  type CustomerProfile,
  type CustomerRefs,
  type SyncStatusUpdate,
} from '../../../src/crm/connector.ts';
import type { FieldChange } from '../../../src/partner-center/json-patch.ts';
import { isMicrosoftSide, MICROSOFT_ORGANIZATION_ID, MICROSOFT_TARGET, referralSchema, type Referral, type ReferralCreate } from '../../../src/partner-center/model.ts';
import type { MicrosoftSolutionsApi } from '../../../src/crm/solutions.ts';
import { MicrosoftConnectionError, ReferralNotFoundError, type CoSellReferral, type ReferralListQuery, type ReferralPage, type VersionedReferral } from '../../../src/partner-center/referrals-client.ts';
import { PartnerCenterApiError } from '../../../src/partner-center/api-error.ts';
import type { CanonicalRecord, CanonicalValue } from '../../../src/canonical-value.ts';
import type { EntityMapping } from '../../../src/sync/entity-mapping.ts';
import type { ConflictPolicy } from '../../../src/sync/mapping/spec-schema.ts';
import type { MergeField } from '../../../src/sync/merge/index.ts';
import { applyFieldChanges } from '../../../src/sync/referral-body.ts';
import type { ReferralsPort } from '../../../src/sync/ports.ts';

/*
 * In-memory stand-ins for the sync core's boundaries: a mapping with a handful of fields, a CRM connector and a
 * Partner Center referrals client that keep their records in maps and count their calls.
 */

/** canonical key → [CRM column, referral path] */
const FIELDS: Record<string, { column: string; path: string[]; direction: MergeField['direction'] }> = {
  referralId: { column: 'referralid', path: [], direction: 'to-crm' },
  syncWithPartnerCenter: { column: 'syncwithpc', path: [], direction: 'to-crm' },
  name: { column: 'name', path: ['name'], direction: 'both' },
  dealValue: { column: 'value', path: ['details', 'dealValue'], direction: 'both' },
  status: { column: 'statuscode', path: ['status'], direction: 'both' },
  notes: { column: 'notes', path: ['details', 'notes'], direction: 'both' },
};

const CO_SELL_FIELDS: typeof FIELDS = {
  howCanMicrosoftHelp: { column: 'help', path: ['inviteContext', 'assistanceRequestCode'], direction: 'both' },
  referralVisibility: { column: 'visible', path: ['consent', 'consentToShareReferralWithMicrosoftSellers'], direction: 'both' },
};

const valueAt = (object: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), object);

const asCanonical = (value: unknown): CanonicalValue => (value === undefined ? null : (value as CanonicalValue));

/** An opportunity mapping: name, deal value, status and notes both ways; `policies` per field (default newest-wins). */
export function testMapping(policies: Partial<Record<string, ConflictPolicy>> = {}, entity: CrmEntityName = 'opportunity'): EntityMapping {
  return mappingOver(FIELDS, policies, entity);
}

/** The same plus "How can Microsoft help?" (column `help`) and "Referral visibility" (column `visible`). */
export function coSellTestMapping(): EntityMapping {
  return mappingOver({ ...FIELDS, ...CO_SELL_FIELDS }, {}, 'opportunity');
}

function mappingOver(table: typeof FIELDS, policies: Partial<Record<string, ConflictPolicy>>, entity: CrmEntityName): EntityMapping {
  const fields: MergeField[] = Object.entries(table).map(([key, f]) => ({ key, direction: f.direction, conflict: policies[key] ?? 'newest-wins' }));
  return {
    entity,
    fields,
    columns: Object.values(table).map((f) => ({ name: f.column })),
    readsMicrosoftReferral: false,
    referralToCanonical: (referral) => {
      const out: CanonicalRecord = {};
      for (const [key, f] of Object.entries(table)) if (f.path.length > 0) out[key] = asCanonical(valueAt(referral, f.path));
      return out;
    },
    crmToCanonical: (values) => {
      const out: CanonicalRecord = {};
      for (const [key, f] of Object.entries(table)) if (f.column in values) out[key] = asCanonical(values[f.column]);
      return out;
    },
    canonicalToCrm: (changes) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(changes)) {
        const f = table[key];
        if (f) out[f.column] = value;
      }
      return out;
    },
    canonicalToReferralChanges: (changes) =>
      Object.entries(changes).flatMap(([key, value]) => {
        const f = table[key];
        return f && f.path.length > 0 ? [{ path: f.path, value }] : [];
      }),
  };
}

export function referral(data: Record<string, unknown>): Referral {
  return referralSchema.parse({ id: 'ref-1', name: 'Deal', status: 'Active', substatus: 'Accepted', direction: 'Incoming', type: 'Shared', organizationId: 'partner-org', updatedDateTime: '2026-01-01T10:00:00.000Z', ...data });
}

export function crmRecord(values: Record<string, unknown>, meta: Partial<Omit<CrmRecord, 'values'>> = {}): CrmRecord {
  return { ref: { entity: 'opportunity', id: 'opp-1' }, version: 'v1', modifiedAt: '2026-01-01T10:00:00.000Z', modifiedByUs: false, values, ...meta };
}

/** A Partner Center error as the client raises it, for `status`. */
export function partnerCenterError(status: number, message: string): PartnerCenterApiError {
  return new PartnerCenterApiError({ api: 'referrals', method: 'PATCH', route: '/referrals/{id}', status, code: 'httpError', apiMessage: message, clientRequestId: 'test', retryable: status >= 500, outcomeUnknown: false, attempts: 1 });
}

interface StoredRecord {
  record: CrmRecord;
  referralId: string | null;
  customer: CustomerProfile | null;
  status: SyncStatusUpdate | null;
}

/** A CRM connector over an in-memory table, with optimistic concurrency on `update` (412 on a stale version). */
export class FakeCrm implements CrmConnector {
  readonly kind = 'salesforce' as const;
  readonly leadsEnabled = true;
  readonly records = new Map<string, StoredRecord>();
  readonly calls: string[] = [];
  readonly dealSolutions = new Map<string, string[]>();
  solutions?: MicrosoftSolutionsApi;
  private next = 1;
  private clock = Date.parse('2026-01-01T11:00:00.000Z');

  constructor(readonly name = 'crm') {}

  /** A seller's edit in the CRM. */
  edit(id: string, values: Record<string, unknown>, at?: string): void {
    const stored = this.get(id);
    stored.record = { ...stored.record, values: { ...stored.record.values, ...values }, version: `v${this.next++}`, modifiedAt: at ?? this.tick(), modifiedByUs: false };
  }

  /** A deal a seller made in the CRM. */
  add(values: Record<string, unknown>, customer: CustomerProfile, entity: CrmEntityName = 'opportunity'): CrmRecordRef {
    const ref = { entity, id: `${this.name}-${entity}-${this.next++}` };
    this.records.set(ref.id, { record: { ref, version: `v${this.next++}`, modifiedAt: this.tick(), modifiedByUs: false, values }, referralId: null, customer, status: null });
    return ref;
  }

  get(id: string): StoredRecord {
    const stored = this.records.get(id);
    if (!stored) throw new Error(`no CRM record ${id}`);
    return stored;
  }

  async describe(): Promise<never> {
    throw new Error('not used by the sync core');
  }

  async read(ref: CrmRecordRef): Promise<CrmRecord | null> {
    this.calls.push(`read ${ref.id}`);
    const stored = this.records.get(ref.id);
    return stored && stored.record.ref.entity === ref.entity ? structuredClone(stored.record) : null;
  }

  async findByReferralId(entity: CrmEntityName, referralId: string): Promise<CrmRecord | null> {
    const stored = [...this.records.values()].find((r) => r.referralId === referralId && r.record.ref.entity === entity);
    return stored ? structuredClone(stored.record) : null;
  }

  /**
   * The next create lands but its answer is lost; before the connector's retry (a keyed create, so it finds the
   * record) this runs, e.g. a seller's edit of the new record.
   */
  loseNextCreateAnswer?: (ref: CrmRecordRef) => void;

  /** Keyed by the referral id, as the real connectors' creates are: an existing record comes back as `existed`. */
  async createForReferral(entity: CrmEntityName, referralId: string, values: Record<string, unknown>, _customer: CustomerRefs | undefined, _columns: unknown, status?: SyncStatusUpdate): Promise<CrmRecord & { existed?: boolean }> {
    this.calls.push(`create ${entity}`);
    const existing = [...this.records.values()].find((r) => r.referralId === referralId && r.record.ref.entity === entity);
    if (existing) return { ...structuredClone(existing.record), existed: true };
    const ref = { entity, id: `${this.name}-${entity}-${this.next++}` };
    const record: CrmRecord = { ref, version: `v${this.next++}`, modifiedAt: this.tick(), modifiedByUs: true, values: { ...values } };
    this.records.set(ref.id, { record, referralId, customer: null, status: status ?? null });
    const lost = this.loseNextCreateAnswer;
    if (lost) {
      this.loseNextCreateAnswer = undefined;
      lost(ref);
      return this.createForReferral(entity, referralId, values, _customer, _columns, status);
    }
    return structuredClone(record);
  }

  async update(ref: CrmRecordRef, values: Record<string, unknown>, ifVersion: string | null, status?: SyncStatusUpdate): Promise<{ version: string }> {
    this.calls.push(`update ${ref.id}`);
    const stored = this.get(ref.id);
    if (ifVersion !== null && ifVersion !== stored.record.version) throw new CrmPreconditionFailedError(`version ${ifVersion} is stale`);
    stored.record = { ...stored.record, values: { ...stored.record.values, ...values }, version: `v${this.next++}`, modifiedAt: this.tick(), modifiedByUs: true };
    stored.status = status ?? stored.status;
    return { version: stored.record.version };
  }

  async ensureCustomer(): Promise<CustomerRefs> {
    return { account: { entity: 'account', id: 'acct-1' }, contacts: [], created: [] };
  }

  async readCustomer(ref: CrmRecordRef): Promise<CustomerProfile | null> {
    return this.records.get(ref.id)?.customer ?? null;
  }

  async changesSince(): Promise<never> {
    throw new Error('not used by the sync core');
  }

  async writeSyncStatus(ref: CrmRecordRef, status: SyncStatusUpdate): Promise<void> {
    this.calls.push(`status ${ref.id}`);
    this.get(ref.id).status = status;
  }

  /** Turns on the Microsoft Solutions catalogue (as `cosell setup` does) holding `catalogue`; `dealSolutions` holds each deal's choice. */
  withSolutions(catalogue: readonly string[] = []): this {
    const deals = this.dealSolutions;
    this.solutions = {
      list: async () => catalogue.map((solutionId) => ({ solutionId, name: solutionId, coSellReady: true })),
      upsert: async () => ({ created: [], updated: [], unchanged: [] }),
      readDealSolutions: async (ref) => [...(deals.get(ref.id) ?? [])],
      writeDealSolutions: async (ref, ids) => {
        deals.set(ref.id, [...ids]);
        return { added: [...ids], removed: [] };
      },
    };
    return this;
  }

  private tick(): string {
    this.clock += 1_000;
    return new Date(this.clock).toISOString();
  }
}

/** Partner Center's referrals in memory: eTags per version, If-Match checked, creates keyed by request id. */
export class FakeReferrals implements ReferralsPort {
  readonly referrals = new Map<string, { referral: Referral; eTag: string }>();
  readonly patches: Array<{ id: string; changes: readonly FieldChange[] }> = [];
  readonly created: ReferralCreate[] = [];
  private readonly byRequestId = new Map<string, string>();
  private next = 1;

  put(data: Record<string, unknown>): Referral {
    const stored = referral(data);
    this.referrals.set(stored.id, { referral: stored, eTag: `e${this.next++}` });
    return stored;
  }

  /** A Microsoft seller's edit in Partner Center. */
  edit(id: string, changes: readonly FieldChange[], at = '2026-01-01T12:00:00.000Z'): void {
    const stored = this.must(id);
    const next = applyFieldChanges(structuredClone(stored.referral) as Record<string, unknown>, changes);
    this.referrals.set(id, { referral: referral({ ...next, updatedDateTime: at }), eTag: `e${this.next++}` });
  }

  async get(id: string): Promise<VersionedReferral> {
    const stored = this.referrals.get(id);
    if (!stored) throw new ReferralNotFoundError(id, partnerCenterError(404, 'not found'));
    return { referral: structuredClone(stored.referral), eTag: stored.eTag };
  }

  async create(body: ReferralCreate, options: { requestId?: string }): Promise<Referral> {
    const again = options.requestId ? this.byRequestId.get(options.requestId) : undefined;
    if (again) return this.must(again).referral;
    this.created.push(body);
    const id = `ref-new-${this.next++}`;
    const made = this.put({ engagementId: `eng-${id}`, ...(body as Record<string, unknown>), id, direction: 'Outgoing', organizationId: 'partner-org' });
    if (options.requestId) this.byRequestId.set(options.requestId, made.id);
    return made;
  }

  /** The second call of a co-sell create fails this many more times (Partner Center down after the first call). */
  failConnects = 0;
  readonly connects: string[] = [];

  async createCoSell(body: ReferralCreate, options: { requestId: string }): Promise<CoSellReferral> {
    const partner = await this.create(body, options);
    try {
      return { referral: partner, microsoft: await this.connectMicrosoft(partner) };
    } catch (error) {
      throw new MicrosoftConnectionError(partner, error);
    }
  }

  async connectMicrosoft(partner: Referral): Promise<Referral> {
    const existing = [...this.referrals.values()].find((r) => r.referral.engagementId === partner.engagementId && isMicrosoftSide(r.referral));
    if (existing) return existing.referral;
    if (this.failConnects > 0) {
      this.failConnects--;
      throw partnerCenterError(503, 'Partner Center is unavailable');
    }
    this.connects.push(partner.id);
    return this.put({ id: `ref-msft-${this.next++}`, name: partner.name, type: 'Shared', direction: 'Outgoing', status: 'New', substatus: 'Pending', engagementId: partner.engagementId, organizationId: MICROSOFT_ORGANIZATION_ID, target: [MICROSOFT_TARGET] });
  }

  /** The referrals of one engagement. */
  engagement(engagementId: string): Referral[] {
    return [...this.referrals.values()].map((r) => r.referral).filter((r) => r.engagementId === engagementId);
  }

  async patch(id: string, changes: readonly FieldChange[], options: { ifMatch?: string }): Promise<{ eTag?: string }> {
    const stored = this.must(id);
    if (options.ifMatch !== undefined && options.ifMatch !== stored.eTag) throw partnerCenterError(412, 'eTag mismatch');
    this.patches.push({ id, changes });
    const next = applyFieldChanges(structuredClone(stored.referral) as Record<string, unknown>, changes);
    const eTag = `e${this.next++}`;
    this.referrals.set(id, { referral: referral(next), eTag });
    return { eTag };
  }

  async listPage(query: ReferralListQuery): Promise<ReferralPage> {
    const match = /^(\w+) eq '(.*)'$/.exec(query.filter ?? '');
    const all = [...this.referrals.values()].map((r) => r.referral);
    const referrals = match ? all.filter((r) => (r as Record<string, unknown>)[match[1] ?? ''] === match[2]?.replaceAll("''", "'")) : all;
    return { referrals: referrals.slice(0, query.top ?? referrals.length), nextLink: undefined, count: undefined };
  }

  must(id: string): { referral: Referral; eTag: string } {
    const stored = this.referrals.get(id);
    if (!stored) throw new Error(`no referral ${id}`);
    return stored;
  }
}
