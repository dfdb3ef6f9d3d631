import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmConnector } from '../../src/crm/connector.ts';
import type { Job, Store, SyncState } from '../../src/store/types.ts';
import { partnerCenterClients } from '../../src/partner-center/from-config.ts';
import { mergeRecord } from '../../src/sync/merge/index.ts';
import { PairSync, type ConnectionSetup } from '../../src/sync/pair-sync.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { detailsOf, sleep } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';

/*
 * The two windows in which a crash used to lose a seller's edit, made deterministic: the service "dies" right after a
 * CRM request succeeded and before its sync could commit (the commit throws, as a SIGKILL would cut it off), the
 * sellers keep editing, and the next run of the same job must keep every edit. The SIGKILL trials (dynamics-crash,
 * salesforce-crash) hit these windows only by chance; here they are hit every time.
 *
 * Everything is real (sandboxes, Dynamics connector on dynamics-web-api, SQLite store); the only injected fault is the
 * crash itself, at the seam where a process would die.
 */

class SimulatedCrash extends Error {
  constructor() {
    super('simulated crash: the process died here');
  }
}

/** The same store, except that the sync's final commit never happens: the process died before it. */
function storeThatDiesBeforeCommit(store: Store): Store {
  const sync = Object.create(store.sync, {
    commit: {
      value: () => {
        throw new SimulatedCrash();
      },
    },
  }) as SyncState;
  return { inbox: store.inbox, jobs: store.jobs, sync, console: store.console, credentials: store.credentials, locks: store.locks, close: () => store.close() };
}

function jobFor(referralId: string): Job {
  return { key: `dynamics:referral:${referralId}`, connection: 'dynamics', referralId, crmEntity: null, crmId: null, cause: 'event', microsoftSide: true, generation: 0, attempts: 0, lastError: null };
}

describe('a crash between a CRM write and the commit of its sync loses no edit', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await SyncHarness.start({ runEngine: false });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  /** A PairSync over the service's own connections and store, with one connector call replaced by `wrap`. */
  async function pairSyncWith(store: Store, wrap: (connector: CrmConnector) => Partial<CrmConnector>): Promise<PairSync> {
    const connections = new Map<string, ConnectionSetup>();
    for (const [name, setup] of h.engine.connections) {
      const overrides = Object.fromEntries(Object.entries(wrap(setup.connector)).map(([key, value]) => [key, { value }]));
      connections.set(name, { ...setup, connector: Object.create(setup.connector, overrides) as CrmConnector });
    }
    const { referrals } = await partnerCenterClients(h.config.partnerCenter);
    return new PairSync({ store, referrals, connections, merge: mergeRecord, logger: silentLogger() });
  }

  it('an update that landed but was never committed is recognised as ours, so a newer Partner Center edit still wins', async () => {
    const referral = await h.incomingReferral({ name: 'Window deal', details: { dealValue: 1_000 }, customerProfile: { name: 'Window Customer', address: { postalCode: '41000' } } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const opportunity = await h.opportunityFor(referral.id);
    expect(opportunity?.estimatedvalue).toBe(1_000);

    // A Microsoft seller changes the value; the service reads it, and while it writes it to Dynamics the seller
    // changes it again. The Dynamics write lands a second later (Dataverse stamps modifiedon to the second, so our own
    // write is unambiguously the newest change on record), and the process dies before committing the sync.
    await h.pcSellerEdit(referral.id, { details: { dealValue: 2_000 } });
    await h.waitForWebhooks();
    const crashing = await pairSyncWith(storeThatDiesBeforeCommit(h.service!.store), (connector) => ({
      update: async (...args: Parameters<CrmConnector['update']>) => {
        await h.pcSellerEdit(referral.id, { details: { dealValue: 3_000 } });
        await sleep(1_100);
        return connector.update(...args);
      },
    }));
    await expect(crashing.handler(jobFor(referral.id))).rejects.toThrow(SimulatedCrash);
    expect((await h.opportunityFor(referral.id))?.estimatedvalue).toBe(2_000);

    // The restarted service runs the queued jobs: the 3,000 is the seller's latest edit and must win on both sides.
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect(detailsOf(await h.referral(referral.id)).dealValue).toBe(3_000);
    expect((await h.opportunityFor(referral.id))?.estimatedvalue).toBe(3_000);
    const audit = await h.audit({ referralId: referral.id });
    expect(audit.filter((e) => e.field === 'dealValue' && e.outcome === 'conflict')).toEqual([]);
  });

  it('without any crash: a Partner Center 412 after the CRM write landed re-plans from what was written, not from the old base', async () => {
    const { referralId, opportunityId } = await h.acceptedPair({ name: 'Replan deal', details: { dealValue: 1_000 }, customerProfile: { name: 'Replan Customer', address: { postalCode: '43000' } } });

    // Both sellers edit: the sync writes the value to Dynamics and the description to Partner Center. Between its read
    // and its Dynamics write the Microsoft seller edits again, so the Partner Center PATCH fails its If-Match (412) after
    // the Dynamics write landed, and the sync re-plans.
    await h.pcSellerEdit(referralId, { details: { dealValue: 2_000 } });
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Seller: scope agreed' });
    await h.waitForWebhooks();
    let interfered = false;
    const racing = await pairSyncWith(h.service!.store, (connector) => ({
      update: async (...args: Parameters<CrmConnector['update']>) => {
        if (!interfered) {
          interfered = true;
          await h.pcSellerEdit(referralId, { details: { dealValue: 3_000 } });
          await sleep(1_100);
        }
        return connector.update(...args);
      },
    }));
    await racing.handler(jobFor(referralId));
    expect(interfered).toBe(true);

    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const synced = detailsOf(await h.referral(referralId));
    expect(synced.dealValue).toBe(3_000);
    expect(synced.notes).toBe('Seller: scope agreed');
    expect((await h.opportunity(opportunityId))?.estimatedvalue).toBe(3_000);
    const audit = await h.audit({ referralId: referralId });
    expect(audit.filter((e) => e.outcome === 'conflict')).toEqual([]);
  });

  it('a create that landed but whose answer was lost: edits made on both sides before the restart are all kept', async () => {
    const referral = await h.incomingReferral({
      name: 'Lost answer deal',
      details: { dealValue: 5_000, notes: 'Shared by Microsoft' },
      customerProfile: { name: 'Lost Answer Customer', address: { postalCode: '42000' } },
    });
    // Accepted in Partner Center, so the seller's edit below may reach it (an unanswered invitation takes none).
    await h.pcPartnerAccept(referral.id);
    await h.waitForWebhooks();
    const crashing = await pairSyncWith(h.service!.store, (connector) => ({
      createForReferral: async (...args: Parameters<CrmConnector['createForReferral']>) => {
        await connector.createForReferral(...args);
        throw new SimulatedCrash();
      },
    }));
    await expect(crashing.handler(jobFor(referral.id))).rejects.toThrow(SimulatedCrash);
    const created = await h.opportunityFor(referral.id);
    expect(created?.estimatedvalue).toBe(5_000);

    // While the service is down a Dynamics seller rewrites the description and a Microsoft seller the value.
    await h.dvSellerEdit('opportunities', String(created?.opportunityid), { description: 'Seller: pilot signed' });
    await h.pcSellerEdit(referral.id, { details: { dealValue: 6_000 } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();

    expect(await h.opportunitiesFor(referral.id)).toHaveLength(1);
    const opportunity = await h.opportunityFor(referral.id);
    expect(opportunity?.description).toBe('Seller: pilot signed');
    expect(opportunity?.estimatedvalue).toBe(6_000);
    const synced = detailsOf(await h.referral(referral.id));
    expect(synced.notes).toBe('Seller: pilot signed');
    expect(synced.dealValue).toBe(6_000);
  });
});
