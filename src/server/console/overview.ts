import type { Store } from '../../store/types.ts';
import type { CrmConnector } from '../../crm/connector.ts';
import type { Engine } from '../../sync/engine.ts';
import type { ConnectionCard, OverviewResponse } from '../admin-api.ts';
import type { Readiness } from '../readiness.ts';
import type { RegistrationWatch } from './registration-watch.ts';
import { credentialHealth } from './credential-health.ts';
import { PARTNER_CENTER_REFRESH_TOKEN } from '../../http/refresh-token-vault.ts';

const KIND_OF_API: Record<string, ConnectionCard['kind']> = { referrals: 'partner-center', dataverse: 'dynamics', salesforce: 'salesforce' };

/*
 * Dataverse: "Service protection API limits" (Microsoft Learn) — 6,000 requests per user per 5-minute sliding window.
 * Salesforce's limit is per 24 hours and per org edition ("API Request Limits and Allocations"): its answers report the
 * org's usage. Partner Center publishes no fixed figure (it answers 429), so it shows its calls and throttled answers.
 */
const DATAVERSE_BUDGET = { limit: 6_000, window: '5 min', source: 'Dataverse service protection limit, per user' };

function budgetOf(api: string, callsLast5Min: number, reported: ReturnType<NonNullable<CrmConnector['apiUsage']>>): ConnectionCard['budget'] {
  if (api === 'dataverse') return { used: callsLast5Min, ...DATAVERSE_BUDGET };
  // Salesforce: "API Request Limits and Allocations", as each REST answer's Sforce-Limit-Info reports it.
  if (reported) return { used: reported.used, limit: reported.max, window: reported.window, source: 'Sforce-Limit-Info (daily API allocation)' };
  return null;
}

/** `credentialWarningDays` is set with Entra sign-in only: sandbox tokens have no refresh token to watch. */
export async function buildOverview(
  store: Store,
  engine: Engine | undefined,
  readiness: Readiness,
  registration?: RegistrationWatch,
  credentialWarningDays?: number,
): Promise<OverviewResponse> {
  const report = await readiness.check();
  const counts = await store.console.connectionCounts();
  // Read once, before the cards: only the Partner Center card shows it.
  const credential = credentialWarningDays !== undefined ? await store.credentials.get(PARTNER_CENTER_REFRESH_TOKEN) : undefined;
  const connections: ConnectionCard[] = Object.entries(report.connections).map(([name, health]) => ({
    name,
    kind: KIND_OF_API[health.api] ?? 'dynamics',
    ...health,
    budget: budgetOf(health.api, health.callsLast5Min, engine?.connections.get(name)?.connector.apiUsage?.()),
    registration: health.api === 'referrals' ? (registration?.state ?? null) : null,
    credential:
      health.api === 'referrals' && credentialWarningDays !== undefined ? credentialHealth(credential, credentialWarningDays, health.lastFailure)
        : null,
    counts: health.api === 'referrals' ? null : (counts[name] ?? { synced: 0, needingAttention: 0, inConflict: 0, deadLettered: 0, retrying: 0, paused: 0, lastJobError: null }),
  }));
  const totals = { synced: 0, needingAttention: 0, inConflict: 0, deadLettered: 0, retrying: 0, paused: 0 };
  for (const c of Object.values(counts)) {
    totals.synced += c.synced;
    totals.needingAttention += c.needingAttention;
    totals.inConflict += c.inConflict;
    totals.deadLettered += c.deadLettered;
    totals.retrying += c.retrying;
    totals.paused += c.paused;
  }
  return {
    generatedAt: new Date().toISOString(),
    status: report.status,
    store: report.store,
    queueDepth: await store.jobs.depth(),
    inFlight: engine?.worker.inFlight ?? 0,
    connections,
    totals,
  };
}
