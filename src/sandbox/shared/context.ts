import type { FaultInjector } from './faults.ts';
import type { RequestCounter } from './request-counter.ts';

/** What every sandbox's request handlers share: injected faults, request counts, its URL and sample numbering. */
export interface SandboxContext {
  faults: FaultInjector;
  requests: RequestCounter;
  /** The sandbox's own URL, known once it listens. */
  baseUrl: () => string;
  /** Next number for generated sample rows, so every seeded row differs. */
  nextSampleSequence: () => number;
}
