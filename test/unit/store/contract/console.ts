import { expect } from 'vitest';
import { dealKey } from '../../../../src/store/types.ts';
import { commitOf, commitPair, link, type ContractCase } from './harness.ts';

const page = { limit: 50, offset: 0 };

export const consoleCases: ContractCase[] = [
  {
    name: 'console: lists links and the referrals only a job, dead letter or conflict names, with the worst state and the counts',
    async run(t) {
      const { store } = t;
      await commitPair(t, 'r-ok', { name: 'Contoso rollout', status: 'Active', microsoftStatus: 'Accepted' });
      await commitPair(t, 'r-err', { name: 'Broken deal' }, 'error');
      await store.sync.commit(commitOf(link('r-conflict', 'crm-r-conflict', { base: { name: 'Disputed deal' } }), { holdConflicts: [{ field: 'notes', base: 'a', pc: 'b', crm: 'c' }] }));
      await commitPair(t, 'r-paused', { name: 'Paused deal' });
      await store.sync.pausePair('dynamics', 'r-paused');
      await t.deadLetter({ connection: 'dynamics', cause: 'event', referralId: 'r-dead' }, '400 invalid');
      await t.failOnce({ connection: 'dynamics', cause: 'event', referralId: 'r-ok' }, '503 unavailable');
      await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r-queued' }]);

      const { total, deals } = await store.console.deals(page);
      expect(total).toBe(6);
      expect(Object.fromEntries(deals.map((d) => [d.referralId, d.state]))).toEqual({
        'r-ok': 'retrying', 'r-err': 'error', 'r-conflict': 'conflict', 'r-paused': 'paused', 'r-dead': 'dead-letter', 'r-queued': 'unlinked',
      });
      expect(deals.find((d) => d.referralId === 'r-ok')).toMatchObject({
        name: 'Contoso rollout', status: 'Active', microsoftStatus: 'Accepted', crmId: 'crm-r-ok', lastSyncAt: expect.any(String), paused: false,
      });
      expect(deals.find((d) => d.referralId === 'r-paused')?.paused).toBe(true);
      expect(deals.find((d) => d.referralId === 'r-err')?.lastError).toBe('boom');
      expect((await store.console.deals({ ...page, state: 'conflict' })).deals.map((d) => d.referralId)).toEqual(['r-conflict']);
      expect((await store.console.deal('dynamics', 'r-dead'))?.state).toBe('dead-letter');
      expect(await store.console.deal('dynamics', 'nope')).toBeNull();
      expect(await store.console.pairDeadLetters('dynamics', 'r-dead', 10)).toEqual([expect.objectContaining({ referralId: 'r-dead', error: '400 invalid' })]);

      const counts = await store.console.connectionCounts();
      expect(counts).toEqual({
        dynamics: {
          synced: 3, needingAttention: 1, inConflict: 1, deadLettered: 1, retrying: 1, paused: 1,
          lastJobError: { message: '503 unavailable', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) },
        },
      });
    },
  },
  {
    name: 'console: searches name, customer, referral and CRM id case-insensitively, LIKE wildcards taken literally',
    async run(t) {
      await commitPair(t, 'r1', { name: 'Contoso rollout' });
      await commitPair(t, 'r2', { name: 'Fabrikam 100% renewal', companyName: 'Fabrikam Ltd' });
      await commitPair(t, 'r3', { name: 'Other' }, 'ok', 'salesforce');
      const ids = async (search: string, connection?: string) => (await t.store.console.deals({ search, connection, ...page })).deals.map((d) => d.referralId).sort();
      expect(await ids('contoso')).toEqual(['r1']);
      expect(await ids('FABRIKAM LTD')).toEqual(['r2']);
      expect(await ids('crm-r3')).toEqual(['r3']);
      expect(await ids('100%')).toEqual(['r2']);
      expect(await ids('%')).toEqual(['r2']);
      expect(await ids('_')).toEqual([]);
      expect(await ids('r', 'salesforce')).toEqual(['r3']);
    },
  },
  {
    name: 'console: pages newest sync first, with the total of every match',
    async run(t) {
      for (let i = 0; i < 30; i++) await commitPair(t, `r${String(i).padStart(2, '0')}`, { name: `Deal ${i}` });
      const first = await t.store.console.deals({ limit: 25, offset: 0 });
      const second = await t.store.console.deals({ limit: 25, offset: 25 });
      expect(first.total).toBe(30);
      expect(first.deals).toHaveLength(25);
      expect(second.deals).toHaveLength(5);
      const all = [...first.deals, ...second.deals];
      expect(new Set(all.map((d) => d.referralId)).size).toBe(30);
      const times = all.map((d) => d.lastSyncAt ?? '');
      expect([...times].sort().reverse()).toEqual(times);
    },
  },
  {
    name: 'console: names deals by their last read; CRM deals with no referral are listed until linked',
    async run(t) {
      const { store } = t;
      await commitPair(t, 'r-opp', { name: 'Contoso rollout' });
      await store.sync.labelDeal({ connection: 'dynamics', referralId: 'r-opp', crmEntity: null, crmId: null, name: 'Contoso rollout', customer: 'Contoso Pharmaceuticals', respondBy: null });
      await store.sync.labelDeal({ connection: 'dynamics', referralId: 'r-closed', crmEntity: null, crmId: null, name: 'Old deal', customer: 'Tailspin Toys', respondBy: null });
      await store.sync.labelDeal({ connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'crm-only-1', name: 'Seller pipeline deal', customer: 'Wingtip Toys', respondBy: null });
      await store.sync.appendAudit([
        { connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'crm-only-1', direction: 'to-pc', field: null, oldValue: undefined, newValue: undefined, cause: 'event', outcome: 'failed', message: 'not sent to Partner Center: customer: missing' },
      ]);
      await t.deadLetter({ connection: 'dynamics', cause: 'event', crm: { entity: 'opportunity', id: 'crm-only-3' } }, '400 bad');
      await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', crm: { entity: 'opportunity', id: 'crm-only-2' } }]);

      const { total, deals } = await store.console.deals(page);
      expect(total).toBe(5);
      expect(deals.find((d) => d.referralId === 'r-opp')).toMatchObject({ name: 'Contoso rollout', customer: 'Contoso Pharmaceuticals', state: 'ok' });
      expect(deals.find((d) => d.referralId === 'r-closed')).toMatchObject({ name: 'Old deal', customer: 'Tailspin Toys', state: 'unlinked', crmId: null });
      expect(deals.find((d) => d.crmId === 'crm-only-1')).toMatchObject({ referralId: null, crmEntity: 'opportunity', name: 'Seller pipeline deal', customer: 'Wingtip Toys', state: 'error' });
      expect(deals.find((d) => d.crmId === 'crm-only-2')).toMatchObject({ referralId: null, state: 'unlinked', name: null });
      expect(deals.find((d) => d.crmId === 'crm-only-3')).toMatchObject({ referralId: null, state: 'dead-letter' });
      expect(await store.console.crmDeadLetters('dynamics', 'opportunity', 'crm-only-3', 10)).toEqual([expect.objectContaining({ error: '400 bad' })]);

      const find = async (search: string) => (await store.console.deals({ search, ...page })).deals.map((d) => d.referralId ?? d.crmId);
      expect(await find('pharmaceuticals')).toEqual(['r-opp']);
      expect(await find('wingtip')).toEqual(['crm-only-1']);
      expect((await store.console.deals({ state: 'error', ...page })).deals.map((d) => d.crmId)).toEqual(['crm-only-1']);
      expect((await store.console.crmDeal('dynamics', 'opportunity', 'crm-only-1'))?.name).toBe('Seller pipeline deal');

      await store.sync.commit(commitOf(link('r-new', 'crm-only-1', { base: { name: 'Seller pipeline deal' } })));
      expect(await store.console.crmDeal('dynamics', 'opportunity', 'crm-only-1')).toBeNull();
      expect(await find('seller pipeline')).toEqual(['r-new']);
    },
  },
  {
    name: 'console: incoming referrals due by a time, once per referral, until alerted; a new read clears the deadline',
    async run({ store }) {
      const label = (connection: string, referralId: string, respondBy: string | null) =>
        store.sync.labelDeal({ connection, referralId, crmEntity: null, crmId: null, name: `Deal ${referralId}`, customer: 'Contoso', respondBy });
      await label('dynamics', 'soon', '2026-01-10T00:00:00Z');
      await label('salesforce', 'soon', '2026-01-10T00:00:00Z');
      await label('dynamics', 'later', '2026-01-20T00:00:00Z');
      await label('dynamics', 'answered', null);
      expect(await store.console.responsesDue('2026-01-12T00:00:00Z')).toEqual([{ connection: 'dynamics', referralId: 'soon', name: 'Deal soon', customer: 'Contoso', respondBy: '2026-01-10T00:00:00Z' }]);
      await store.console.markResponseAlerted('soon');
      expect(await store.console.responsesDue('2026-01-12T00:00:00Z')).toEqual([]);
      await label('dynamics', 'later', null);
      expect(await store.console.responsesDue('2026-02-01T00:00:00Z')).toEqual([]);
      expect((await store.console.deal('dynamics', 'later'))?.respondBy).toBeNull();
    },
  },
  {
    name: 'console: names the deals a page of dead letters and conflicts is about, in one read',
    async run(t) {
      const { store } = t;
      await commitPair(t, 'r-base', { name: 'Named by its base' });
      await store.sync.labelDeal({ connection: 'dynamics', referralId: 'r-label', crmEntity: null, crmId: null, name: 'Named by its label', customer: null, respondBy: null });
      await store.sync.labelDeal({ connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'o-1', name: 'A CRM deal', customer: null, respondBy: null });
      const deals = [
        { connection: 'dynamics', referralId: 'r-base', crmEntity: null, crmId: null },
        { connection: 'dynamics', referralId: 'r-label', crmEntity: null, crmId: null },
        { connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'o-1' },
        { connection: 'dynamics', referralId: 'r-unknown', crmEntity: null, crmId: null },
        { connection: 'salesforce', referralId: 'r-base', crmEntity: null, crmId: null },
      ];
      const names = await store.console.dealNames(deals);
      expect(deals.map((d) => names.get(dealKey(d)))).toEqual(['Named by its base', 'Named by its label', 'A CRM deal', undefined, undefined]);
      expect((await store.console.dealNames([])).size).toBe(0);
    },
  },
];
