import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { isControlPath, requestPath } from './control-paths.ts';
import { createSeededRandom, type RandomSource } from '../../util/prng.ts';
import { parseWithProblems, summarizeProblems } from './zod-issues.ts';

const rate = z.number().min(0).max(1);

export const deliveryFaultsSchema = z
  .object({
    dropRate: rate.optional(),
    duplicateRate: rate.optional(),
    delayMs: z.number().int().min(0).max(600_000).optional(),
    reorder: z.boolean().optional(),
  })
  .strict();

export const faultConfigSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    errorRate: rate.optional(),
    errorStatus: z.number().int().min(400).max(599).optional(),
    throttleRate: rate.optional(),
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    routes: z.array(z.string().startsWith('/', 'route prefixes must start with "/"')).optional(),
    count: z.number().int().min(1).optional(),
    seed: z.number().int().optional(),
    delivery: deliveryFaultsSchema.optional(),
  })
  // Strict: a misspelt fault ("errorrate") silently doing nothing would make a chaos test pass for the wrong reason.
  .strict();

export type FaultConfig = z.output<typeof faultConfigSchema>;

export interface DeliveryFaults {
  dropRate: number;
  duplicateRate: number;
  delayMs: number;
  reorder: boolean;
}

export type RequestFaultDecision =
  | { kind: 'none'; latencyMs: number }
  | { kind: 'throttle'; latencyMs: number; retryAfterSeconds: number }
  | { kind: 'error'; latencyMs: number; status: number; retryAfterSeconds?: number };

/** Builds the vendor's error body, so faults look exactly like the real service failing. */
export type ErrorBodyBuilder = (statusCode: number, message: string, target?: string) => unknown;

const DEFAULT_SEED = 0x5eed;
const DEFAULT_ERROR_STATUS = 503;
const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * Holds the active fault configuration. Shared by the HTTP hook (request faults) and the webhook delivery queue
 * (delivery faults) so one `POST /_sandbox/faults` drives both, and both draw from the same seeded sequence.
 */
export class FaultInjector {
  private config: FaultConfig = {};
  private remaining: number | undefined;
  private rng: RandomSource = createSeededRandom(DEFAULT_SEED);

  configure(config: FaultConfig): void {
    this.config = structuredClone(config);
    this.remaining = config.count;
    if (config.seed !== undefined) this.rng = createSeededRandom(config.seed);
  }

  clear(): void {
    this.config = {};
    this.remaining = undefined;
  }

  snapshot(): FaultConfig & { remaining?: number } {
    return { ...structuredClone(this.config), ...(this.remaining === undefined ? {} : { remaining: this.remaining }) };
  }

  random(): number {
    return this.rng();
  }

  private appliesTo(path: string): boolean {
    if (isControlPath(path)) return false;
    const prefixes = this.config.routes;
    return prefixes === undefined || prefixes.length === 0 || prefixes.some((prefix) => path.startsWith(prefix));
  }

  private hasRequestFaults(): boolean {
    const c = this.config;
    return c.latencyMs !== undefined || c.errorRate !== undefined || c.errorStatus !== undefined ||
      c.throttleRate !== undefined || c.retryAfterSeconds !== undefined;
  }

  /**
   * An `errorStatus` without `errorRate` (or `retryAfterSeconds` without `throttleRate`) means "always": that is what a
   * caller writing `{ errorStatus: 500, count: 1 }` wants, and a rate of 0 would make the field pointless.
   */
  decide(path: string): RequestFaultDecision {
    const c = this.config;
    if (!this.hasRequestFaults() || !this.appliesTo(path)) return { kind: 'none', latencyMs: 0 };
    if (this.remaining !== undefined) {
      this.remaining -= 1;
      if (this.remaining <= 0) this.clearRequestFaults();
    }
    const latencyMs = c.latencyMs ?? 0;
    const throttleRate = c.throttleRate ?? (c.retryAfterSeconds !== undefined && c.errorRate === undefined && c.errorStatus === undefined ? 1 : 0);
    if (throttleRate > 0 && this.rng() < throttleRate) {
      return { kind: 'throttle', latencyMs, retryAfterSeconds: c.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS };
    }
    const errorRate = c.errorRate ?? (c.errorStatus !== undefined ? 1 : 0);
    if (errorRate > 0 && this.rng() < errorRate) {
      const status = c.errorStatus ?? DEFAULT_ERROR_STATUS;
      return { kind: 'error', latencyMs, status, ...(c.retryAfterSeconds !== undefined ? { retryAfterSeconds: c.retryAfterSeconds } : {}) };
    }
    return { kind: 'none', latencyMs };
  }

  /** `count` limits request faults only; delivery faults stay until cleared because they are not per-request. */
  private clearRequestFaults(): void {
    const { delivery, seed } = this.config;
    this.config = { ...(delivery ? { delivery } : {}), ...(seed !== undefined ? { seed } : {}) };
    this.remaining = undefined;
  }

  deliveryFaults(): DeliveryFaults | undefined {
    const d = this.config.delivery;
    if (!d) return undefined;
    return { dropRate: d.dropRate ?? 0, duplicateRate: d.duplicateRate ?? 0, delayMs: d.delayMs ?? 0, reorder: d.reorder ?? false };
  }
}

function sendError(reply: FastifyReply, errorBody: ErrorBodyBuilder, status: number, message: string, target?: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(status, message, target));
}

/**
 * Registers the fault hook and `/_sandbox/faults`. Install after the request counter: a faulted request must still be
 * counted, because the client paid for it.
 */
export function installFaults(app: FastifyInstance, injector: FaultInjector, options: { errorBody: ErrorBodyBuilder }): FaultInjector {
  const { errorBody } = options;

  app.addHook('onRequest', async (request, reply) => {
    const decision = injector.decide(requestPath(request.url));
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.kind === 'throttle') {
      reply.header('retry-after', String(decision.retryAfterSeconds));
      return sendError(reply, errorBody, 429, `Too many requests (injected fault). Retry after ${decision.retryAfterSeconds} seconds.`);
    }
    if (decision.kind === 'error') {
      if (decision.retryAfterSeconds !== undefined) reply.header('retry-after', String(decision.retryAfterSeconds));
      return sendError(reply, errorBody, decision.status, `The service is unavailable (injected fault, HTTP ${decision.status}).`);
    }
    return undefined;
  });

  app.post('/_sandbox/faults', async (request, reply) => {
    const parsed = parseWithProblems(faultConfigSchema, request.body ?? {});
    if (!parsed.ok) {
      return sendError(reply, errorBody, 400, `Invalid fault configuration: ${summarizeProblems(parsed.problems)}`, parsed.problems[0]?.target);
    }
    injector.configure(parsed.value);
    return injector.snapshot();
  });
  app.get('/_sandbox/faults', async () => injector.snapshot());
  app.delete('/_sandbox/faults', async () => {
    injector.clear();
    return injector.snapshot();
  });
  return injector;
}
