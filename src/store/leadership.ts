/**
 * Cluster leadership: work that must happen once across every instance sharing a store (the reconciler, the
 * Microsoft-side refresh, watchdogs and alerts, retention, response-deadline alerts) and connector state that must be
 * single (the Salesforce CDC subscription and its replay id, Dataverse change-tracking delta links) run only on the
 * instance that leads, and move to another one when it stops or dies.
 *
 * Driver-neutral on purpose (no pg import): the service asks for a `Leadership` and the store driver supplies it
 * (LocalLeadership for SQLite, PostgresLeadership in src/store/postgres/leadership.ts).
 */
export interface Leadership {
  /** Whether this instance leads right now. Read it before each singleton step; `onChange` says when it flips. */
  readonly isLeader: boolean;
  /**
   * Called with `true` when this instance becomes leader and `false` the moment it stops being one (a lost connection
   * reports `false` before anything else is attempted). Returns the unsubscribe function.
   */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Starts campaigning; resolves once the first attempt is over (leader or not). */
  start(): Promise<void>;
  /** Steps down (listeners hear `false` if it led) and releases whatever it holds. */
  stop(): Promise<void>;
}

/** A set of change listeners, each called in turn; one listener's exception does not keep the others from hearing. */
export class LeadershipListeners {
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  add(listener: (leader: boolean) => void): () => void {
    // Wrapped so the same function registered twice is called twice and unsubscribes independently.
    const entry = (leader: boolean): void => listener(leader);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  emit(leader: boolean): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(leader);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

/**
 * SQLite: the store is one file that one process opens, so that process always leads. It reports `true` on start and
 * `false` on stop, so code written against `onChange` behaves the same with either driver.
 */
export class LocalLeadership implements Leadership {
  private leader = false;
  private readonly listeners: LeadershipListeners;

  constructor(onListenerError: (error: unknown) => void = () => undefined) {
    this.listeners = new LeadershipListeners(onListenerError);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }

  start(): Promise<void> {
    if (!this.leader) {
      this.leader = true;
      this.listeners.emit(true);
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (this.leader) {
      this.leader = false;
      this.listeners.emit(false);
    }
    return Promise.resolve();
  }
}
