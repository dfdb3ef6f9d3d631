import { PartnerCenterApiError } from './api-error.ts';
import { ApiHttpClient, type ApiHttpClientOptions, type ApiResponse } from './http.ts';
import { buildJsonPatch, type FieldChange } from './json-patch.ts';
import { describeIssues } from '../util/describe-issues.ts';
import {
  isMicrosoftSide,
  MICROSOFT_TARGET,
  referralCreateSchema,
  referralListResponseSchema,
  referralSchema,
  solutionListResponseSchema,
  type PartnerSolution,
  type Referral,
  type ReferralCreate,
} from './model.ts';

export const DEFAULT_REFERRALS_API_URL = 'https://api.partner.microsoft.com';
export const REFERRALS_PATH = '/v1.0/engagements/referrals';
const ITEM_ROUTE = `${REFERRALS_PATH}/{id}`;

export type ReferralsClientOptions = Omit<ApiHttpClientOptions, 'api' | 'baseUrl'> & {
  /** API root; the sandbox serves it at e.g. `http://127.0.0.1:4101`. Default `https://api.partner.microsoft.com`. */
  baseUrl?: string;
  /**
   * Path (on `baseUrl`) that lists the partner's solutions as `{ value: [{ id, name, coSellReady }] }`. Partner Center
   * documents no such API (UNCONFIRMED that one exists), so there is no default: the sandbox serves `/_sandbox/solutions`.
   */
  solutionsPath?: string;
};

/** OData query options of the list endpoint ("Get a list of referrals"). */
export interface ReferralListQuery {
  filter?: string;
  orderby?: string;
  top?: number;
  skip?: number;
  select?: string | readonly string[];
  count?: boolean;
}

export interface ReferralPage {
  referrals: Referral[];
  /** Absolute URL of the next page, already checked to be on the configured host; absent on the last page. */
  nextLink: string | undefined;
  count: number | undefined;
}

export interface VersionedReferral {
  referral: Referral;
  /** What to send in If-Match: the ETag header, else the body's `eTag`. */
  eTag: string | undefined;
}

export interface PatchOptions {
  ifMatch?: string;
  returnRepresentation?: boolean;
  signal?: AbortSignal;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** Raised by `get` for a 404 — an error rather than `null` so the API's message reaches the audit and dead letters. */
export class ReferralNotFoundError extends PartnerCenterApiError {
  override readonly name: string = 'ReferralNotFoundError';
  constructor(
    readonly referralId: string,
    from: PartnerCenterApiError,
  ) {
    super(from);
  }
}

/** Bad input to `create`/`put`, found before anything is sent. */
export class InvalidReferralError extends Error {
  override readonly name = 'InvalidReferralError';
}

/** `listSolutions` without a configured solutions route. */
export class SolutionsListUnavailableError extends Error {
  override readonly name = 'SolutionsListUnavailableError';
}

/**
 * The partner's co-sell referral exists but connecting Microsoft (the second call) failed: `referral` is the created
 * referral, so the caller can keep it and retry — `createCoSell` again with the same request id, or
 * `connectMicrosoft(referral)` — without creating a second deal.
 */
export class MicrosoftConnectionError extends Error {
  override readonly name = 'MicrosoftConnectionError';
  constructor(
    readonly referral: Referral,
    cause: unknown,
  ) {
    super(`referral ${referral.id} was created, but connecting Microsoft to engagement ${String(referral.engagementId)} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export interface CoSellReferral {
  /** The partner's own co-sell referral (the first call). */
  referral: Referral;
  /** Microsoft's connected referral in the same engagement: what makes the deal visible to Microsoft sellers. */
  microsoft: Referral;
}

export type CloseOutcome = 'Won' | 'Lost';

/** The server sent an `@odata.nextLink` we will not follow. */
export class UnsafeNextLinkError extends Error {
  override readonly name = 'UnsafeNextLinkError';
}

/** Reconcile query: everything changed at or after `isoDate`, oldest first, so a watermark can advance page by page. */
export function updatedSince(isoDate: string): ReferralListQuery {
  const time = Date.parse(isoDate);
  if (Number.isNaN(time)) throw new TypeError(`updatedSince: not a date: ${isoDate}`);
  // Re-formatted rather than pasted so that no caller-supplied text ends up inside the OData filter expression.
  return { filter: `updatedDateTime ge ${new Date(time).toISOString()}`, orderby: 'updatedDateTime' };
}

export class ReferralsClient {
  private readonly http: ApiHttpClient;
  private readonly solutionsPath: string | undefined;

  constructor(options: ReferralsClientOptions) {
    const { solutionsPath, ...httpOptions } = options;
    this.http = new ApiHttpClient({ ...httpOptions, api: 'referrals', baseUrl: options.baseUrl ?? DEFAULT_REFERRALS_API_URL });
    this.solutionsPath = solutionsPath;
  }

  /**
   * A co-sell deal as "Create a referral" describes it: (1) the partner's Shared referral naming its solution, then
   * (2) a connected referral for Microsoft in the same engagement with target BusinessProfileLocation `msft`. Both
   * calls carry an MS-RequestId derived from `requestId`, so a retry of the whole operation (after a crash or a failed
   * second call) returns the same two referrals instead of new ones. If the second call fails, the error is a
   * `MicrosoftConnectionError` holding the created referral.
   */
  async createCoSell(body: ReferralCreate, options: CallOptions & { requestId: string }): Promise<CoSellReferral> {
    if (body.type !== 'Shared') throw new InvalidReferralError('createCoSell: a co-sell referral has type "Shared"');
    if (!namesSolution(body)) {
      throw new InvalidReferralError(
        'createCoSell: Solution ID is required — add at least one Microsoft solution ({ type: "Name", id }) to details.requirements.solutions',
      );
    }
    if (options.requestId.trim() === '') throw new InvalidReferralError('createCoSell: requestId must not be empty');
    const referral = await this.create(body, { ...signalOf(options), requestId: options.requestId });
    try {
      const microsoft = await this.connectMicrosoft(referral, { ...signalOf(options), requestId: `${options.requestId}:microsoft`, body });
      return { referral, microsoft };
    } catch (error) {
      throw new MicrosoftConnectionError(referral, error);
    }
  }

  /**
   * The second call of the co-sell recipe, on its own: Microsoft's referral in the engagement of `referral`. An
   * engagement that already has Microsoft's side (an earlier attempt that succeeded but whose answer was lost) returns
   * that one, so calling this again is safe even without the idempotency key.
   */
  async connectMicrosoft(referral: Referral, options: CallOptions & { requestId?: string; body?: ReferralCreate } = {}): Promise<Referral> {
    const engagementId = referral.engagementId;
    if (typeof engagementId !== 'string' || engagementId === '') throw new InvalidReferralError('connectMicrosoft: the referral has no engagementId');
    const existing = (await this.listPage({ filter: engagementFilter(engagementId) }, options)).referrals.find((r) => r.id !== referral.id && isMicrosoftSide(r));
    if (existing) return existing;
    const source = options.body ?? connectedSource(referral);
    const connected: ReferralCreate = { ...source, type: 'Shared', engagementId, target: [{ ...MICROSOFT_TARGET }] };
    return this.create(connected, { ...signalOf(options), ...(options.requestId !== undefined ? { requestId: options.requestId } : {}) });
  }

  /** The partner's solutions, from the configured solutions route (see `ReferralsClientOptions.solutionsPath`). */
  async listSolutions(options: CallOptions = {}): Promise<PartnerSolution[]> {
    if (this.solutionsPath === undefined) {
      throw new SolutionsListUnavailableError(
        "Partner Center documents no API that lists a partner's solutions; configure solutionsPath (the sandbox serves /_sandbox/solutions) or import them from a file",
      );
    }
    const { data } = await this.http.sendParsed({ method: 'GET', path: this.solutionsPath, route: this.solutionsPath, ...signalOf(options) }, solutionListResponseSchema);
    return data.value;
  }

  /** Accepts an incoming referral: Active/Accepted, the only way forward besides declining. */
  accept(id: string, options: Omit<PatchOptions, 'returnRepresentation'> = {}): Promise<VersionedReferral> {
    return this.patch(id, [{ path: 'status', value: 'Active' }, { path: 'substatus', value: 'Accepted' }], { ...options, returnRepresentation: true });
  }

  /** Declines a referral: Closed/Declined — never Lost — with the reason Partner Center requires. */
  decline(id: string, reason: string, options: Omit<PatchOptions, 'returnRepresentation'> = {}): Promise<VersionedReferral> {
    if (reason.trim() === '') throw new InvalidReferralError('decline: a reason (statusReason) is required');
    return this.patch(
      id,
      [{ path: 'status', value: 'Closed' }, { path: 'substatus', value: 'Declined' }, { path: 'statusReason', value: reason }],
      { ...options, returnRepresentation: true },
    );
  }

  /** Closes a deal as Won or Lost, with its reason when given. The referral is read-only afterwards. */
  close(id: string, outcome: CloseOutcome, reason: string | undefined, options: Omit<PatchOptions, 'returnRepresentation'> = {}): Promise<VersionedReferral> {
    const changes: FieldChange[] = [{ path: 'status', value: 'Closed' }, { path: 'substatus', value: outcome }];
    if (reason !== undefined && reason.trim() !== '') changes.push({ path: 'statusReason', value: reason });
    return this.patch(id, changes, { ...options, returnRepresentation: true });
  }

  async *list(query: ReferralListQuery = {}, options: CallOptions = {}): AsyncIterable<Referral> {
    let page = await this.listPage(query, options);
    const seen = new Set<string>();
    for (;;) {
      yield* page.referrals;
      if (page.nextLink === undefined) return;
      // A server that hands back a link it already gave would otherwise keep us paging forever.
      if (seen.has(page.nextLink)) throw new UnsafeNextLinkError(`@odata.nextLink repeats an earlier page: ${page.nextLink}`);
      seen.add(page.nextLink);
      page = await this.listPageAt(page.nextLink, options);
    }
  }

  listPage(query: ReferralListQuery = {}, options: CallOptions = {}): Promise<ReferralPage> {
    return this.fetchPage(`${REFERRALS_PATH}${buildODataQuery(query)}`, REFERRALS_PATH, options);
  }

  /** Fetches the page a previous `ReferralPage.nextLink` points at. */
  listPageAt(nextLink: string, options: CallOptions = {}): Promise<ReferralPage> {
    return this.fetchPage(this.checkNextLink(nextLink, this.http.baseUrl).toString(), undefined, options);
  }

  async get(id: string, options: CallOptions = {}): Promise<VersionedReferral> {
    try {
      const { response, data } = await this.http.sendParsed(
        { method: 'GET', path: itemPath(id), route: ITEM_ROUTE, ...signalOf(options) },
        referralSchema,
      );
      return { referral: data, eTag: eTagOf(response, data) };
    } catch (error) {
      if (error instanceof PartnerCenterApiError && error.status === 404) throw new ReferralNotFoundError(id, error);
      throw error;
    }
  }

  /**
   * `requestId` is sent as `MS-RequestId`, the idempotency key of Partner Center's Swagger ("reuse on timeout retry"):
   * the same key repeated, even by another process after a crash, is the same create, so the call may be retried.
   */
  async create(body: ReferralCreate, options: CallOptions & { requestId?: string } = {}): Promise<Referral> {
    const checked = referralCreateSchema.safeParse(body);
    if (!checked.success) throw new InvalidReferralError(`invalid referral: ${describeIssues(checked.error)}`);
    const keyed = options.requestId !== undefined;
    const { data } = await this.http.sendParsed(
      // The caller's body, not the parsed copy: parsing normalises values (numeric strings) we should send as given.
      {
        method: 'POST',
        path: REFERRALS_PATH,
        route: REFERRALS_PATH,
        body,
        ...(keyed ? { headers: { 'MS-RequestId': options.requestId as string }, idempotent: true } : {}),
        ...signalOf(options),
      },
      referralSchema,
    );
    return data;
  }

  /** JSON Patch update. If-Match is optional here (without it the service does no concurrency check). */
  patch(id: string, changes: readonly FieldChange[], options: PatchOptions & { returnRepresentation: true }): Promise<VersionedReferral>;
  patch(id: string, changes: readonly FieldChange[], options?: PatchOptions): Promise<{ eTag?: string }>;
  async patch(id: string, changes: readonly FieldChange[], options: PatchOptions = {}): Promise<VersionedReferral | { eTag?: string }> {
    const operations = buildJsonPatch(changes);
    if (operations.length === 0) throw new InvalidReferralError('patch: no changes given');
    const headers: Record<string, string> = {};
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    if (options.returnRepresentation) headers.prefer = 'return=representation';
    const response = await this.http.send({
      method: 'PATCH',
      path: itemPath(id),
      route: ITEM_ROUTE,
      body: operations,
      headers,
      ...signalOf(options),
    });
    if (!options.returnRepresentation) {
      const eTag = response.headers.etag ?? bodyETag(response.body);
      return eTag === undefined ? {} : { eTag };
    }
    // The status code for a represented PATCH is UNCONFIRMED; a service that ignores Prefer and answers 204 costs
    // one extra GET rather than a failure.
    if (response.body === undefined) return this.get(id, options);
    const referral = this.http.parse(referralSchema, response, { method: 'PATCH', path: itemPath(id), route: ITEM_ROUTE });
    return { referral, eTag: eTagOf(response, referral) };
  }

  /** The obsolete full update: If-Match is mandatory and `links` must not be sent back. */
  async put(id: string, referral: Referral, ifMatch: string, options: CallOptions = {}): Promise<VersionedReferral> {
    if (ifMatch.trim() === '') throw new InvalidReferralError('put: If-Match is required');
    const { links: _links, ...body } = referral;
    const { response, data } = await this.http.sendParsed(
      { method: 'PUT', path: itemPath(id), route: ITEM_ROUTE, body, headers: { 'if-match': ifMatch }, ...signalOf(options) },
      referralSchema,
    );
    return { referral: data, eTag: eTagOf(response, data) };
  }

  private async fetchPage(path: string, route: string | undefined, options: CallOptions): Promise<ReferralPage> {
    const { data } = await this.http.sendParsed(
      { method: 'GET', path, ...(route ? { route } : {}), ...signalOf(options) },
      referralListResponseSchema,
    );
    const link = data['@odata.nextLink'];
    const requestUrl = this.http.resolve(path);
    return {
      referrals: data.value,
      nextLink: link ? this.checkNextLink(link, requestUrl).toString() : undefined,
      count: data['@odata.count'] ?? undefined,
    };
  }

  /**
   * The bearer token must never go to another host, so a nextLink is followed only on the configured host. The docs'
   * sample link is `http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=…` (plain http, no `/engagements`;
   * UNCONFIRMED for the live service): a link on our host with a different scheme and no explicit port is rewritten
   * to the configured origin — so it never downgrades to http — and its path and query are followed as given.
   */
  private checkNextLink(link: string, relativeTo: URL): URL {
    let url: URL;
    try {
      url = new URL(link, relativeTo);
    } catch {
      throw new UnsafeNextLinkError(`@odata.nextLink is not a URL: ${link}`);
    }
    const configured = this.http.baseUrl;
    const sameHost = url.hostname.toLowerCase() === configured.hostname.toLowerCase();
    const samePort =
      url.protocol === configured.protocol ? effectivePort(url) === effectivePort(configured) : url.port === '';
    if (!sameHost || !samePort || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new UnsafeNextLinkError(
        `refusing to follow @odata.nextLink to ${url.protocol}//${url.host}: only ${configured.origin} is configured`,
      );
    }
    return new URL(`${url.pathname}${url.search}`, configured.origin);
  }
}

/** OData system query options, percent-encoded (`%20`, not `+`, for spaces: OData parsers differ on `+`). */
export function buildODataQuery(query: ReferralListQuery): string {
  const parts: string[] = [];
  const add = (name: string, value: string) => parts.push(`$${name}=${encodeURIComponent(value)}`);
  if (query.filter) add('filter', query.filter);
  if (query.orderby) add('orderby', query.orderby);
  if (query.select !== undefined) add('select', typeof query.select === 'string' ? query.select : query.select.join(','));
  if (query.top !== undefined) add('top', String(nonNegativeInteger('top', query.top)));
  if (query.skip !== undefined) add('skip', String(nonNegativeInteger('skip', query.skip)));
  if (query.count !== undefined) add('count', String(query.count));
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`$${name} must be a non-negative integer, got ${value}`);
  return value;
}

function itemPath(id: string): string {
  if (id.trim() === '') throw new TypeError('referral id must not be empty');
  return `${REFERRALS_PATH}/${encodeURIComponent(id)}`;
}

/** OData string literal: a quote inside is doubled. */
function engagementFilter(engagementId: string): string {
  return `engagementId eq '${engagementId.replaceAll("'", "''")}'`;
}

/** A co-sell body names a solution: a `Name` solution in its requirements, or a SolutionProfile target. */
function namesSolution(body: ReferralCreate): boolean {
  const solutions = body.details.requirements?.solutions ?? [];
  const named = solutions.some((s) => typeof s.id === 'string' && s.id.trim() !== '' && (s.type === 'Name' || s.type == null));
  const profile = (body.target ?? []).some((t) => t.type === 'SolutionProfile' && typeof t.id === 'string' && t.id.trim() !== '');
  return named || profile;
}

/** Rebuilds a create body from a referral read back, for connecting Microsoft when the original body is gone. */
function connectedSource(referral: Referral): ReferralCreate {
  return {
    name: referral.name ?? '',
    type: 'Shared',
    customerProfile: { ...referral.customerProfile, name: referral.customerProfile?.name ?? '' } as ReferralCreate['customerProfile'],
    consent: referral.consent ?? {},
    details: referral.details ?? {},
    ...(referral.externalReferenceId != null ? { externalReferenceId: referral.externalReferenceId } : {}),
    ...(referral.inviteContext != null ? { inviteContext: referral.inviteContext } : {}),
  } as ReferralCreate;
}

function effectivePort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/** The header is HTTP's own validator; the body's `eTag` is the fallback when a gateway strips it. */
function eTagOf(response: ApiResponse, referral: Referral): string | undefined {
  return response.headers.etag ?? referral.eTag ?? undefined;
}

function bodyETag(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>).eTag;
  return typeof value === 'string' ? value : undefined;
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
