import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Store } from '../store/types.ts';

export interface ReadinessReport {
  ready: boolean;
  store: 'writable' | 'unavailable';
  /** Per connection (and Partner Center): when a call to its API last succeeded, null if none since start. */
  connections: Record<string, { api: string; lastSuccessAt: string | null }>;
}

/**
 * What /readyz reports: the store can take writes (the service acknowledges nothing it cannot persist), and when each
 * connection's API last answered successfully, learnt from the same per-call records /metrics counts.
 */
export class Readiness {
  private readonly lastSuccess = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly storePath: string,
    /** Connection name → the `api` label its client records calls under. */
    private readonly apis: Readonly<Record<string, string>>,
  ) {}

  readonly recordCall = (call: { api: string; status: number | string }): void => {
    if (typeof call.status === 'number' && call.status >= 200 && call.status < 400) this.lastSuccess.set(call.api, new Date().toISOString());
  };

  async check(): Promise<ReadinessReport> {
    const store = (await this.storeWritable()) ? 'writable' : 'unavailable';
    const connections = Object.fromEntries(
      Object.entries(this.apis).map(([name, api]) => [name, { api, lastSuccessAt: this.lastSuccess.get(api) ?? null }]),
    );
    return { ready: store === 'writable', store, connections };
  }

  private async storeWritable(): Promise<boolean> {
    try {
      this.store.inbox.count();
      if (this.storePath !== ':memory:') {
        // SQLite writes the database file and creates its -wal / -shm files next to it.
        await access(this.storePath, constants.R_OK | constants.W_OK);
        await access(dirname(this.storePath), constants.W_OK);
      }
      return true;
    } catch {
      return false;
    }
  }
}
