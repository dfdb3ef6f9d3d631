import { describeValue, read, unreadable, unwritable, write, type Reading } from '../canonical.ts';
import type { TransformOf } from '../spec-schema.ts';
import type { FieldCodec } from './codec.ts';
import { buildValueClasses } from './value-classes.ts';

/** Enum ⇄ picklist (or string, or boolean); see value-classes.ts for how lossy maps stay stable. */
export function valueMapCodec(t: TransformOf<'valueMap'>, arity: number): FieldCodec {
  const classes = buildValueClasses(t.map, t.default, arity);
  return {
    fromPc: (values) => {
      const label = classes.classOfPc(values);
      return label === undefined ? unreadable(`no map entry or default.crm for Partner Center value ${describeValue(values.length === 1 ? values[0] : values)}`) : read(label);
    },
    fromCrm: ([value]) => {
      const label = classes.classOfCrm(value);
      return label === undefined ? unreadable(`no map entry or default.pc for CRM value ${describeValue(value)}`) : read(label);
    },
    toPc: (label) => {
      if (Array.isArray(label) || typeof label === 'number' || typeof label === 'boolean') return unwritable(`${describeValue(label)} is not a value-map value`);
      const values = classes.pcOf(label);
      return values === undefined ? unwritable(`${describeValue(label)} is not a value of this map`) : write(...values);
    },
    toCrm: (label) => {
      if (Array.isArray(label) || typeof label === 'number' || typeof label === 'boolean') return unwritable(`${describeValue(label)} is not a value-map value`);
      const value = classes.crmOf(label);
      return value === undefined ? unwritable(`${describeValue(label)} is not a value of this map`) : write(value);
    },
  };
}

/**
 * PC string list ⇄ multi-select picklist. Canonical: the sorted, de-duplicated class labels, `null` when empty. One
 * unmapped element makes the whole field unreadable rather than silently dropping it (a later write would lose it). CRM
 * values may arrive as a list or as Dataverse's comma-separated string (Dataverse "Create and update column definitions
 * using the Web API", UNCONFIRMED): both are accepted.
 */
export function multiValueMapCodec(t: TransformOf<'multiValueMap'>): FieldCodec {
  const classes = buildValueClasses(t.map, undefined, 1);
  const collect = (items: readonly unknown[], classOf: (item: unknown) => string | null | undefined, side: string): Reading => {
    const labels = new Set<string>();
    for (const item of items) {
      const label = classOf(item);
      if (label === undefined) return unreadable(`no map entry for ${side} value ${describeValue(item)}`);
      if (label !== null) labels.add(label);
    }
    return read(labels.size === 0 ? null : [...labels].sort());
  };
  return {
    fromPc: ([value]) => {
      if (value === null || value === undefined) return read(null);
      if (!Array.isArray(value)) return unreadable(`expected a list, got ${describeValue(value)}`);
      return collect(value, (item) => classes.classOfPc([item]), 'Partner Center');
    },
    fromCrm: ([value]) => {
      if (value === null || value === undefined || value === '') return read(null);
      const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [value];
      return collect(items, (item) => classes.classOfCrm(item), 'CRM');
    },
    toPc: (labels) => {
      if (labels === null) return write([]);
      if (!Array.isArray(labels)) return unwritable(`expected a list, got ${describeValue(labels)}`);
      const values = labels.map((label) => classes.pcOf(label)?.[0]);
      const missing = labels.find((_, i) => values[i] === undefined);
      return missing === undefined ? write(values) : unwritable(`${describeValue(missing)} is not a value of this map`);
    },
    toCrm: (labels) => {
      if (labels === null) return write(null);
      if (!Array.isArray(labels)) return unwritable(`expected a list, got ${describeValue(labels)}`);
      const values = labels.map((label) => classes.crmOf(label));
      const missing = labels.find((_, i) => values[i] === undefined);
      return missing === undefined ? write([...new Set(values)]) : unwritable(`${describeValue(missing)} is not a value of this map`);
    },
  };
}
