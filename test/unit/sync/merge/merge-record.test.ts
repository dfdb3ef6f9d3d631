import { describe, expect, it } from 'vitest';
import { canonicalEquals, CONFLICT_POLICIES, SYNC_DIRECTIONS } from '../../../../src/sync/mapping/index.ts';
import { mergeRecord, type MergeField, type MergeInput, type MergeResult } from '../../../../src/sync/merge/index.ts';
import { createSeededRandom } from '../../../../src/util/prng.ts';
import type { CanonicalRecord, CanonicalValue } from '../../../../src/canonical-value.ts';

const both = (key: string, conflict: MergeField['conflict'] = 'newest-wins'): MergeField => ({ key, direction: 'both', conflict });
const oneWay = (key: string, direction: 'to-crm' | 'to-pc'): MergeField => ({ key, direction, conflict: 'newest-wins' });

function merge(fields: MergeField[], base: CanonicalRecord | undefined, pc: CanonicalRecord, crm: CanonicalRecord, extra: Partial<MergeInput> = {}): MergeResult {
  return mergeRecord({ fields, base, pc, crm, ...extra });
}

const NOTHING = { toCrm: {}, toPc: {}, conflicts: [], held: [] };

describe('mergeRecord: both-way fields', () => {
  it('writes nothing when both sides already agree, and takes that value as the base', () => {
    expect(merge([both('a')], { a: 1 }, { a: 2 }, { a: 2 })).toEqual({ ...NOTHING, nextBase: { a: 2 }, skipped: [] });
  });

  it('a change on one side flows to the other', () => {
    expect(merge([both('a')], { a: 1 }, { a: 2 }, { a: 1 })).toMatchObject({ toCrm: { a: 2 }, toPc: {}, nextBase: { a: 2 }, conflicts: [] });
    expect(merge([both('a')], { a: 1 }, { a: 1 }, { a: 3 })).toMatchObject({ toCrm: {}, toPc: { a: 3 }, nextBase: { a: 3 }, conflicts: [] });
  });

  it('both sides changed to the same value: no conflict, no write', () => {
    expect(merge([both('a', 'manual')], { a: 1 }, { a: 5 }, { a: 5 })).toEqual({ ...NOTHING, nextBase: { a: 5 }, skipped: [] });
  });

  it('compares multi-selects as sets', () => {
    expect(merge([both('tags')], { tags: ['a'] }, { tags: ['b', 'c'] }, { tags: ['c', 'b'] })).toMatchObject({ toCrm: {}, toPc: {}, conflicts: [] });
  });
});

describe('mergeRecord: conflicts by policy', () => {
  const base = { a: 'base' };
  const pc = { a: 'from-pc' };
  const crm = { a: 'from-crm' };

  it('pc-wins writes the PC value to the CRM and records the conflict', () => {
    const result = merge([both('a', 'pc-wins')], base, pc, crm);
    expect(result).toMatchObject({ toCrm: { a: 'from-pc' }, toPc: {}, nextBase: { a: 'from-pc' }, held: [] });
    expect(result.conflicts).toEqual([{ key: 'a', base: 'base', pc: 'from-pc', crm: 'from-crm', policy: 'pc-wins', resolution: 'pc' }]);
  });

  it('crm-wins writes the CRM value to Partner Center', () => {
    const result = merge([both('a', 'crm-wins')], base, pc, crm);
    expect(result).toMatchObject({ toCrm: {}, toPc: { a: 'from-crm' }, nextBase: { a: 'from-crm' } });
    expect(result.conflicts[0]?.resolution).toBe('crm');
  });

  it('newest-wins goes to the side changed last; a tie or a missing time goes to Partner Center', () => {
    const f = [both('a', 'newest-wins')];
    const at = (pcChangedAt?: string, crmChangedAt?: string) => merge(f, base, pc, crm, { pcChangedAt, crmChangedAt }).conflicts[0]?.resolution;
    expect(at('2026-01-01T10:00:00Z', '2026-01-01T10:00:01Z')).toBe('crm');
    expect(at('2026-01-01T10:00:02Z', '2026-01-01T10:00:01Z')).toBe('pc');
    expect(at('2026-01-01T10:00:00Z', '2026-01-01T11:00:00+01:00')).toBe('pc');
    expect(at(undefined, '2026-01-01T10:00:00Z')).toBe('pc');
    expect(merge(f, base, pc, crm, { pcChangedAt: new Date(1000), crmChangedAt: new Date(2000) }).toPc).toEqual({ a: 'from-crm' });
  });

  it('manual holds: no write either way, base unchanged, listed as held', () => {
    const result = merge([both('a', 'manual')], base, pc, crm);
    expect(result).toEqual({
      toCrm: {},
      toPc: {},
      nextBase: { a: 'base' },
      conflicts: [{ key: 'a', base: 'base', pc: 'from-pc', crm: 'from-crm', policy: 'manual', resolution: 'held' }],
      held: ['a'],
      skipped: [],
    });
  });

  it('a manual hold stays held until one side changes to match, then settles without a write', () => {
    const f = [both('a', 'manual')];
    let stored: CanonicalRecord = { a: 'base' };
    const first = merge(f, stored, pc, crm);
    stored = first.nextBase;
    const again = merge(f, stored, pc, crm);
    expect(again.held).toEqual(['a']);
    expect(again.nextBase).toEqual({ a: 'base' });
    stored = again.nextBase;
    // The CRM user accepts Partner Center's value.
    const settled = merge(f, stored, pc, { a: 'from-pc' });
    expect(settled).toEqual({ ...NOTHING, nextBase: { a: 'from-pc' }, skipped: [] });
  });

  it('a held field whose side goes back to the base becomes a one-sided change', () => {
    const result = merge([both('a', 'manual')], { a: 'base' }, { a: 'from-pc' }, { a: 'base' });
    expect(result).toMatchObject({ toCrm: { a: 'from-pc' }, held: [], conflicts: [] });
  });
});

describe('mergeRecord: one-way fields', () => {
  it('to-crm: the CRM follows Partner Center whenever they differ, correcting hand edits', () => {
    const f = [oneWay('id', 'to-crm')];
    expect(merge(f, { id: 'R1' }, { id: 'R1' }, { id: 'typo' })).toMatchObject({ toCrm: { id: 'R1' }, toPc: {}, nextBase: { id: 'R1' }, conflicts: [] });
    expect(merge(f, { id: 'R1' }, { id: 'R2' }, { id: 'R1' })).toMatchObject({ toCrm: { id: 'R2' }, nextBase: { id: 'R2' } });
    expect(merge(f, { id: 'R1' }, { id: 'R1' }, { id: 'R1' })).toMatchObject({ toCrm: {}, toPc: {} });
  });

  it('to-pc: Partner Center follows the CRM; the PC-side change is not sent to the CRM', () => {
    const f = [oneWay('x', 'to-pc')];
    expect(merge(f, { x: 1 }, { x: 9 }, { x: 1 })).toMatchObject({ toCrm: {}, toPc: { x: 1 }, nextBase: { x: 1 } });
  });

  it('ignores the conflict policy: both sides changed still means the source wins', () => {
    const f: MergeField[] = [{ key: 'x', direction: 'to-crm', conflict: 'manual' }];
    expect(merge(f, { x: 0 }, { x: 1 }, { x: 2 })).toMatchObject({ toCrm: { x: 1 }, held: [], conflicts: [] });
  });

  it('writes a target value that could not even be read; skips when the source cannot be read', () => {
    const f = [oneWay('s', 'to-crm')];
    expect(merge(f, { s: 'Accepted' }, { s: 'Won' }, {})).toMatchObject({ toCrm: { s: 'Won' }, skipped: [] });
    expect(merge(f, { s: 'Accepted' }, {}, { s: 'Won' })).toMatchObject({ toCrm: {}, nextBase: { s: 'Accepted' }, skipped: ['s'] });
  });
});

describe('mergeRecord: first link, new fields, unreadable values, link-only fields', () => {
  it('first link: equal values become the base; otherwise the origin side is authoritative', () => {
    const f = [both('a'), both('b', 'manual')];
    expect(merge(f, undefined, { a: 1, b: 2 }, { a: 1, b: 2 })).toMatchObject({ toCrm: {}, toPc: {}, nextBase: { a: 1, b: 2 } });
    expect(merge(f, undefined, { a: 1, b: 2 }, { a: 9, b: 8 }, { origin: 'pc' })).toMatchObject({ toCrm: { a: 1, b: 2 }, toPc: {}, conflicts: [], held: [] });
    expect(merge(f, undefined, { a: 1, b: 2 }, { a: 9, b: 8 }, { origin: 'crm' })).toMatchObject({ toCrm: {}, toPc: { a: 9, b: 8 }, conflicts: [] });
  });

  it('first link without an origin, or a field new to an existing base: a difference is a conflict under the policy', () => {
    const noOrigin = merge([both('a', 'manual')], undefined, { a: 1 }, { a: 2 });
    expect(noOrigin).toMatchObject({ held: ['a'], nextBase: {} });
    const added = merge([both('old'), both('added', 'crm-wins')], { old: 1 }, { old: 1, added: 'p' }, { old: 1, added: 'c' }, { origin: 'pc' });
    expect(added).toMatchObject({ toPc: { added: 'c' }, nextBase: { old: 1, added: 'c' } });
    expect(added.conflicts).toEqual([{ key: 'added', base: undefined, pc: 'p', crm: 'c', policy: 'crm-wins', resolution: 'crm' }]);
  });

  it('a both-way field unreadable on either side is skipped and keeps its base', () => {
    expect(merge([both('s')], { s: 'open' }, { s: 'won' }, {})).toEqual({ ...NOTHING, nextBase: { s: 'open' }, skipped: ['s'] });
    expect(merge([both('s')], undefined, {}, { s: 'won' })).toEqual({ ...NOTHING, nextBase: {}, skipped: ['s'] });
  });

  it('link-only fields are written when the pair is linked and never again', () => {
    const f: MergeField[] = [{ key: 'sync', direction: 'to-crm', conflict: 'newest-wins', linkOnly: true }];
    expect(merge(f, undefined, { sync: true }, { sync: false }, { origin: 'pc' })).toMatchObject({ toCrm: { sync: true }, nextBase: { sync: true } });
    // The seller switched sync off afterwards: that must stick.
    expect(merge(f, { sync: true }, { sync: true }, { sync: false })).toEqual({ ...NOTHING, nextBase: { sync: true }, skipped: [] });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property-style checks over generated cases
// ---------------------------------------------------------------------------------------------------------------

/** Deterministic PRNG so a failure reproduces. */
const random = createSeededRandom;

const VALUES: CanonicalValue[] = [null, 'a', 'b', 1, 2, true, ['x'], ['x', 'y']];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function generateFields(rand: () => number, count: number): MergeField[] {
  return Array.from({ length: count }, (_, i) => ({ key: `f${i}`, direction: pick(rand, SYNC_DIRECTIONS), conflict: pick(rand, CONFLICT_POLICIES), linkOnly: rand() < 0.1 }));
}

function generateRecord(rand: () => number, fields: readonly MergeField[], unreadable = 0.1): CanonicalRecord {
  const record: CanonicalRecord = {};
  for (const f of fields) if (rand() >= unreadable) record[f.key] = pick(rand, VALUES);
  return record;
}

function apply(record: CanonicalRecord, writes: CanonicalRecord): CanonicalRecord {
  return { ...record, ...writes };
}

describe('mergeRecord properties (generated cases)', () => {
  const rand = random(20260101);
  const cases = Array.from({ length: 600 }, () => {
    const fields = generateFields(rand, 6);
    const base = rand() < 0.15 ? undefined : generateRecord(rand, fields, 0.05);
    const input: MergeInput = {
      fields,
      base,
      pc: generateRecord(rand, fields),
      crm: generateRecord(rand, fields),
      pcChangedAt: new Date(Math.floor(rand() * 5)).toISOString(),
      crmChangedAt: new Date(Math.floor(rand() * 5)).toISOString(),
      origin: rand() < 0.7 ? pick(rand, ['pc', 'crm'] as const) : undefined,
    };
    return input;
  });

  it('only writes in directions the field allows, and never a value the target already has', () => {
    for (const input of cases) {
      const result = mergeRecord(input);
      const byKey = new Map(input.fields.map((f) => [f.key, f]));
      for (const [key, value] of Object.entries(result.toCrm)) {
        expect(byKey.get(key)?.direction).not.toBe('to-pc');
        expect(canonicalEquals(value, input.crm[key])).toBe(false);
      }
      for (const [key, value] of Object.entries(result.toPc)) {
        expect(byKey.get(key)?.direction).not.toBe('to-crm');
        expect(canonicalEquals(value, input.pc[key])).toBe(false);
      }
    }
  });

  it('echo: once the writes land, a re-run with nextBase plans nothing new and raises no new conflict', () => {
    for (const input of cases) {
      const first = mergeRecord(input);
      const echo = mergeRecord({ ...input, base: first.nextBase, pc: apply(input.pc, first.toPc), crm: apply(input.crm, first.toCrm) });
      expect(echo.toCrm).toEqual({});
      expect(echo.toPc).toEqual({});
      // Only still-held manual conflicts may be reported again.
      expect(echo.conflicts.every((c) => c.resolution === 'held')).toBe(true);
      expect(echo.held.sort()).toEqual([...first.held].sort());
      expect(echo.nextBase).toEqual(first.nextBase);
    }
  });

  it('after the writes, every readable, non-held field agrees on both sides and with the base', () => {
    for (const input of cases) {
      const result = mergeRecord(input);
      const pc = apply(input.pc, result.toPc);
      const crm = apply(input.crm, result.toCrm);
      for (const f of input.fields) {
        if (result.held.includes(f.key) || result.skipped.includes(f.key)) continue;
        if (f.linkOnly && input.base !== undefined) continue;
        expect(canonicalEquals(pc[f.key], crm[f.key]), `${f.key} ${JSON.stringify(input)}`).toBe(true);
        expect(canonicalEquals(result.nextBase[f.key], pc[f.key])).toBe(true);
      }
    }
  });

  it('a change on one side only never raises a conflict and always reaches the other side', () => {
    for (const input of cases) {
      if (!input.base) continue;
      const base = input.base;
      const fields = input.fields.filter((f) => f.direction === 'both' && !f.linkOnly && f.key in base);
      const pc: CanonicalRecord = { ...base };
      const changedKeys = fields.filter((_, i) => i % 2 === 0).map((f) => f.key);
      for (const key of changedKeys) pc[key] = canonicalEquals(base[key], 'changed') ? 'changed again' : 'changed';
      const result = mergeRecord({ fields, base, pc, crm: { ...base } });
      expect(result.conflicts).toEqual([]);
      expect(Object.keys(result.toCrm).sort()).toEqual([...changedKeys].sort());
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A small world: two records, users editing them, events delivered late, duplicated or out of order
// ---------------------------------------------------------------------------------------------------------------

interface Side {
  record: CanonicalRecord;
  version: number;
  changedAt: number;
}

class World {
  pc: Side;
  crm: Side;
  base: CanonicalRecord | undefined;
  clock = 0;
  writes = 0;
  constructor(
    readonly fields: MergeField[],
    initial: CanonicalRecord,
  ) {
    this.pc = { record: { ...initial }, version: 0, changedAt: 0 };
    this.crm = { record: { ...initial }, version: 0, changedAt: 0 };
    this.base = { ...initial };
  }

  edit(side: 'pc' | 'crm', key: string, value: CanonicalValue): void {
    const target = this[side];
    this.clock += 1;
    target.record = { ...target.record, [key]: value };
    target.version += 1;
    target.changedAt = this.clock;
  }

  /** What the worker does per event: read both now, merge, then write with optimistic concurrency. */
  read() {
    return { pc: structuredClone(this.pc), crm: structuredClone(this.crm), base: this.base };
  }

  commit(snapshot: ReturnType<World['read']>): MergeResult | 'retry' {
    const result = mergeRecord({
      fields: this.fields,
      base: snapshot.base,
      pc: snapshot.pc.record,
      crm: snapshot.crm.record,
      pcChangedAt: new Date(snapshot.pc.changedAt).toISOString(),
      crmChangedAt: new Date(snapshot.crm.changedAt).toISOString(),
    });
    // If-Match: a side edited since the read refuses the write; the job is re-planned from a fresh read.
    const toPc = Object.keys(result.toPc).length > 0;
    const toCrm = Object.keys(result.toCrm).length > 0;
    if ((toPc && this.pc.version !== snapshot.pc.version) || (toCrm && this.crm.version !== snapshot.crm.version)) return 'retry';
    if (toPc) {
      this.pc.record = apply(this.pc.record, result.toPc);
      this.pc.version += 1;
      this.writes += 1;
    }
    if (toCrm) {
      this.crm.record = apply(this.crm.record, result.toCrm);
      this.crm.version += 1;
      this.writes += 1;
    }
    this.base = result.nextBase;
    return result;
  }

  sync(): MergeResult {
    for (;;) {
      const outcome = this.commit(this.read());
      if (outcome !== 'retry') return outcome;
    }
  }
}

describe('merge in a simulated worker', () => {
  const fields = [both('name'), both('value', 'pc-wins'), both('notes', 'manual'), oneWay('ref', 'to-crm'), oneWay('owner', 'to-pc')];
  const initial = { name: 'Deal', value: 100, notes: null, ref: 'R1', owner: 'ann' };

  it('echo: the event caused by our own write produces an empty plan', () => {
    const world = new World(fields, initial);
    world.edit('pc', 'value', 250);
    const first = world.sync();
    expect(first.toCrm).toEqual({ value: 250 });
    const echo = world.sync();
    expect(echo).toMatchObject({ toCrm: {}, toPc: {}, conflicts: [], held: [] });
    expect(world.writes).toBe(1);
  });

  it('a plan made from a stale read never overwrites a newer edit: refused by If-Match, re-planned, converged', () => {
    const world = new World(fields, initial);
    world.edit('pc', 'name', 'From PC');
    const stale = world.read();
    // A seller edits the CRM after our read: the planned CRM write would destroy that edit.
    world.edit('crm', 'name', 'From CRM');
    expect(world.commit(stale)).toBe('retry');
    const replanned = world.sync();
    expect(replanned.conflicts).toMatchObject([{ key: 'name', resolution: 'crm' }]);
    expect([world.pc.record.name, world.crm.record.name]).toEqual(['From CRM', 'From CRM']);
  });

  it('a stale read of the source side converges on the next event', () => {
    const world = new World(fields, initial);
    world.edit('crm', 'name', 'v2');
    const stale = world.read();
    world.edit('crm', 'name', 'v3');
    // Writes only Partner Center, whose version did not move: accepted, with the older value.
    expect(world.commit(stale)).toMatchObject({ toPc: { name: 'v2' } });
    world.sync();
    expect([world.pc.record.name, world.crm.record.name, world.base?.name]).toEqual(['v3', 'v3', 'v3']);
  });

  it('events delivered out of order, duplicated or late converge to the latest state (generated runs)', () => {
    const rand = random(7);
    const values: Record<string, CanonicalValue[]> = {
      name: ['A', 'B', 'C'],
      value: [1, 2, 3],
      notes: [null, 'x', 'y'],
      ref: ['R1', 'R2', 'typo'],
      owner: ['ann', 'bob'],
    };
    for (let run = 0; run < 150; run += 1) {
      const world = new World(fields, initial);
      const pending: number[] = [];
      for (let step = 0; step < 25; step += 1) {
        const roll = rand();
        if (roll < 0.45) {
          const field = pick(rand, fields);
          world.edit(rand() < 0.5 ? 'pc' : 'crm', field.key, pick(rand, values[field.key] ?? []));
          pending.push(world.clock);
          if (rand() < 0.2) pending.push(world.clock);
        } else if (pending.length > 0) {
          // Deliver any pending event: order does not matter because the worker reads current state.
          pending.splice(Math.floor(rand() * pending.length), 1);
          world.sync();
        }
      }
      while (pending.length > 0) {
        pending.pop();
        world.sync();
      }
      const final = world.sync();
      expect(final.toCrm).toEqual({});
      expect(final.toPc).toEqual({});
      for (const f of fields) {
        if (final.held.includes(f.key)) continue;
        expect(world.pc.record[f.key], `run ${run} ${f.key}`).toEqual(world.crm.record[f.key]);
        expect(world.base?.[f.key]).toEqual(world.pc.record[f.key]);
      }
      for (const key of final.held) expect(world.pc.record[key]).not.toEqual(world.crm.record[key]);
    }
  });
});
