import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeStoreLocation, type StoreLocation } from '../store/open.ts';
import type { Store } from '../store/types.ts';

/** `unknown`: no call since start. `failing`: the last calls all failed (see FAILING_AFTER). */
export type ConnectionState = 'ok' | 'failing' | 'unknown';

export interface ConnectionHealth {
  /** The `api` label its calls are recorded under (referrals, dataverse, salesforce). */
  api: string;
  state: ConnectionState;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** What the last failed call was, e.g. "HTTP 503 on GET accounts" (never a body: it may echo a secret). */
  lastFailure: string | null;
  consecutiveFailures: number;
  /** Calls in the last five minutes (every attempt, retries included): Dataverse's service protection window. */
  callsLast5Min: number;
  /** Of those, answered 429 (throttled). */
  throttledLast5Min: number;
}

export interface ReadinessReport {
  ready: boolean;
  /** `degraded`: the store takes writes but a connection is failing, so its work waits and retries. */
  status: 'ok' | 'degraded' | 'unavailable';
  store: 'writable' | 'unavailable';
  /** Which store this is: `sqlite` and its file, or `postgres` and its host/database (never the URL's password). */
  storeDriver: StoreLocation['driver'];
  storeLocation: string;
  /** Whether this instance leads the cluster (runs the reconciler, change streams, retention, alerts); SQLite: true. */
  leader: boolean;
  /** Per connection (and Partner Center). */
  connections: Record<string, ConnectionHealth>;
}

export interface ApiCall {
  api: string;
  method?: string;
  route?: string;
  status: number | string;
}

/**
 * Failed calls in a row, with no success in between, after which a connection counts as failing. One failed call is
 * a blip that the client's own retry absorbs; three in a row (a job's attempts, or several jobs) is an outage.
 */
export const FAILING_AFTER = 3;
const WINDOW_MS = 5 * 60_000;
const BUCKET_MS = 10_000;

/** Answers that mean the API is not doing our work: network errors, server errors, refused credentials, throttling. */
function isFailure(status: number | string): boolean {
  if (typeof status !== 'number') return true;
  return status >= 500 || status === 401 || status === 403 || status === 429;
}

class ApiHealth {
  lastSuccessAt: string | null = null;
  lastFailureAt: string | null = null;
  lastFailure: string | null = null;
  consecutiveFailures = 0;
  /** Ten-second buckets of [calls, throttled], keyed by bucket start: bounded to the window. */
  private readonly buckets = new Map<number, [number, number]>();

  record(call: ApiCall, now: number): void {
    const start = now - (now % BUCKET_MS);
    const bucket = this.buckets.get(start) ?? [0, 0];
    bucket[0] += 1;
    if (call.status === 429) bucket[1] += 1;
    this.buckets.set(start, bucket);
    for (const key of this.buckets.keys()) if (key <= now - WINDOW_MS) this.buckets.delete(key);
    const at = new Date(now).toISOString();
    if (isFailure(call.status)) {
      this.consecutiveFailures += 1;
      this.lastFailureAt = at;
      const what = typeof call.status === 'number' ? `HTTP ${call.status}` : call.status;
      this.lastFailure = call.method && call.route ? `${what} on ${call.method} ${call.route}` : what;
    } else {
      this.consecutiveFailures = 0;
      this.lastSuccessAt = at;
    }
  }

  health(api: string, now: number): ConnectionHealth {
    let calls = 0;
    let throttled = 0;
    for (const [start, [n, t]] of this.buckets) {
      if (start > now - WINDOW_MS) {
        calls += n;
        throttled += t;
      }
    }
    const state: ConnectionState = this.consecutiveFailures >= FAILING_AFTER ? 'failing' : this.lastSuccessAt || this.lastFailureAt ? 'ok' : 'unknown';
    return {
      api,
      state,
      lastSuccessAt: this.lastSuccessAt,
      lastFailureAt: this.lastFailureAt,
      lastFailure: this.lastFailure,
      consecutiveFailures: this.consecutiveFailures,
      callsLast5Min: calls,
      throttledLast5Min: throttled,
    };
  }
}

/**
 * What /readyz and /healthz report: the store can take writes (the service acknowledges nothing it cannot persist),
 * and per connection how its API calls are going, learnt from the same per-call records /metrics counts.
 */
export class Readiness {
  private readonly apis = new Map<string, ApiHealth>();
  private readonly location: StoreLocation;
  private isLeader: () => boolean = () => true;
  /** Connection name → why the engine holds it back (see setUnavailable). */
  private readonly unavailable = new Map<string, { reason: string; at: string }>();

  constructor(
    private readonly store: Store,
    /** Where the store is; a string is a SQLite path (':memory:' in tests). */
    location: StoreLocation | string,
    /** Connection name → the `api` label its client records calls under. */
    private readonly connectionApis: Readonly<Record<string, string>>,
    private readonly now: () => number = Date.now,
  ) {
    this.location = typeof location === 'string' ? { driver: 'sqlite', path: location } : location;
  }

  readonly recordCall = (call: ApiCall): void => {
    let health = this.apis.get(call.api);
    if (!health) {
      health = new ApiHealth();
      this.apis.set(call.api, health);
    }
    health.record(call, this.now());
  };

  /** Connection name → the `api` label of its calls. */
  get connectionNames(): Readonly<Record<string, string>> {
    return this.connectionApis;
  }

  /**
   * A connection the engine holds back (its CRM did not answer at start-up, or then its mapping did not match): it
   * reports failing with that reason whatever its last call did, until `reason` is undefined again.
   */
  setUnavailable(name: string, reason: string | undefined): void {
    if (reason === undefined) this.unavailable.delete(name);
    else this.unavailable.set(name, { reason, at: new Date(this.now()).toISOString() });
  }

  /** Where `leader` comes from (the service's Leadership); until set, a lone instance that always leads. */
  watchLeadership(isLeader: () => boolean): void {
    this.isLeader = isLeader;
  }

  connections(): Record<string, ConnectionHealth> {
    const now = this.now();
    return Object.fromEntries(
      Object.entries(this.connectionApis).map(([name, api]) => {
        const health = (this.apis.get(api) ?? new ApiHealth()).health(api, now);
        const held = this.unavailable.get(name);
        // Its last error shows on the card even when no call was made (it failed before sending one).
        const override = held && { state: 'failing' as const, lastFailure: held.reason, lastFailureAt: health.lastFailureAt ?? held.at };
        return [name, override ? { ...health, ...override } : health];
      }),
    );
  }

  async check(): Promise<ReadinessReport> {
    const store = (await this.storeWritable()) ? 'writable' : 'unavailable';
    const connections = this.connections();
    const failing = Object.values(connections).some((c) => c.state === 'failing');
    const status = store === 'unavailable' ? 'unavailable' : failing ? 'degraded' : 'ok';
    return { ready: status === 'ok', status, store, storeDriver: this.location.driver, storeLocation: describeStoreLocation(this.location), leader: this.isLeader(), connections };
  }

  private async storeWritable(): Promise<boolean> {
    if (!(await storeResponds(this.store))) return false;
    const location = this.location;
    if (location.driver === 'sqlite' && location.path !== ':memory:') {
      try {
        // SQLite writes the database file and creates its -wal / -shm files next to it.
        await access(location.path, constants.R_OK | constants.W_OK);
        await access(dirname(location.path), constants.W_OK);
      } catch {
        return false;
      }
    }
    return true;
  }
}

/** How long a store query may take before a health check calls the store unavailable. */
export const STORE_CHECK_TIMEOUT_MS = 5_000;

/**
 * Whether the store answers a query within `timeoutMs`. PostgreSQL behind a silent network would otherwise keep the
 * check waiting for a pool connection (node-postgres sets no connect timeout), and a probe that never answers is
 * worse than one that says "unavailable".
 */
export async function storeResponds(store: Store, timeoutMs = STORE_CHECK_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  // Through a resolved promise: a synchronous throw (or a test fake's plain value) is handled the same way.
  const answered = Promise.resolve().then(() => store.inbox.count()).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
