import type { FastifyInstance } from 'fastify';
import { isControlPath, requestPath } from './control-paths.ts';

export interface RequestCounts {
  total: number;
  routes: Record<string, number>;
}

/** Requests that matched no route are counted under one key, so probing random URLs cannot grow the map. */
const UNMATCHED_ROUTE = '(unmatched)';

/**
 * Counts API requests per `METHOD routePattern` so tests and benchmarks can assert how many calls a client spent.
 * Counting happens in the first hook, before faults and auth, because a rejected request still costs the caller budget.
 */
export class RequestCounter {
  private total = 0;
  private readonly routes = new Map<string, number>();

  record(key: string): void {
    this.total += 1;
    this.routes.set(key, (this.routes.get(key) ?? 0) + 1);
  }

  snapshot(): RequestCounts {
    return { total: this.total, routes: Object.fromEntries([...this.routes.entries()].sort(([a], [b]) => a.localeCompare(b))) };
  }

  reset(): void {
    this.total = 0;
    this.routes.clear();
  }
}

export function installRequestCounter(app: FastifyInstance, counter: RequestCounter = new RequestCounter()): RequestCounter {
  app.addHook('onRequest', async (request) => {
    if (isControlPath(requestPath(request.url))) return;
    const pattern = request.routeOptions.url;
    counter.record(`${request.method} ${pattern ?? UNMATCHED_ROUTE}`);
  });
  app.get('/_sandbox/requests', async () => counter.snapshot());
  app.delete('/_sandbox/requests', async () => {
    counter.reset();
    return counter.snapshot();
  });
  return counter;
}
