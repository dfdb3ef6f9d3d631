import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

interface DeltaRow {
  '@odata.context'?: string;
  id?: string;
  reason?: string;
  accountid?: string;
  name?: string;
}

let h: SandboxHarness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

describe('change tracking (odata.track-changes + delta links)', () => {
  it('returns a delta link, then only the rows created or changed since, and deletions as $deletedEntity', async () => {
    const kept: string = await h.api.create({ collection: 'accounts', data: { name: 'Kept' } });
    const changed: string = await h.api.create({ collection: 'accounts', data: { name: 'Changed' } });
    const removed: string = await h.api.create({ collection: 'accounts', data: { name: 'Removed' } });

    const initial = await h.api.retrieveMultiple<DeltaRow>({ collection: 'accounts', select: ['name'], trackChanges: true });
    expect(initial.value.map((row) => row.name).sort()).toEqual(['Changed', 'Kept', 'Removed']);
    expect(initial.oDataDeltaLink).toContain('$deltatoken=');

    await h.api.update({ collection: 'accounts', key: changed, data: { name: 'Changed again' } });
    await h.api.deleteRecord({ collection: 'accounts', key: removed });
    // A seller's change through the UI shows up in the delta just the same.
    const added = await h.control<{ accountid: string }>('POST', '/_sandbox/records/accounts', { name: 'Added by seller' });

    const delta = await h.api.retrieveMultiple<DeltaRow>({ collection: 'accounts', select: ['name'] }, initial.oDataDeltaLink);
    const upserts = delta.value.filter((row) => row.reason === undefined);
    const deletions = delta.value.filter((row) => row.reason === 'deleted');
    expect(upserts.map((row) => row.name)).toEqual(['Changed again', 'Added by seller']);
    expect(upserts.map((row) => row.accountid)).toEqual([changed, added.body.accountid]);
    expect(deletions).toMatchObject([{ '@odata.context': `${h.sandbox.url}/api/data/v9.2/$metadata#accounts/$deletedEntity`, id: removed, reason: 'deleted' }]);
    expect(upserts.some((row) => row.accountid === kept)).toBe(false);

    const quiet = await h.api.retrieveMultiple<DeltaRow>({ collection: 'accounts', select: ['name'] }, delta.oDataDeltaLink);
    expect(quiet.value).toEqual([]);
    expect(quiet.oDataDeltaLink).toBeDefined();
  });

  it('pages the initial snapshot and puts the delta link on the last page', async () => {
    const all = await h.api.retrieveAll<DeltaRow>({ collection: 'accounts', select: ['name'], trackChanges: true, maxPageSize: 1 });
    expect(all.value.length).toBeGreaterThanOrEqual(3);
    expect(all.oDataDeltaLink).toContain('$deltatoken=');
  });

  it('rejects $filter with change tracking, as documented', async () => {
    const failure = await expectFailure(h.api.retrieveMultiple({ collection: 'accounts', filter: "name eq 'Kept'", trackChanges: true }));
    expect(failure.status).toBe(400);
    expect(failure.message).toBe('The "filter" query parameter isn\'t supported when Change Tracking is enabled.');
  });
});
