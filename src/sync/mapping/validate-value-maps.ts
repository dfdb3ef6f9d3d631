import type { CrmEntityMetadata } from '../../crm/metadata.ts';
import { isValidStatusPair, STATUS_TRANSITIONS } from '../../partner-center/model.ts';
import { describeValue } from './canonical.ts';
import type { PcPath } from './pc-path.ts';
import { referralShape, resolvePcPath, type PcShape } from './referral-structure.ts';
import type { Scalar } from './spec-schema.ts';
import { flowsToCrm, flowsToPc, type FieldMapping } from './spec.ts';
import { asTuple, buildValueClasses, labelOfTuple, scalarKey } from './transforms/value-classes.ts';
import type { Report } from './mapping-error.ts';

/*
 * Value maps must say what every value means in each direction they flow: every value of the PC enum the field reads
 * (toward the CRM) and every option of the CRM column (toward Partner Center) needs an entry or a default, and the
 * map must not make distinct values indistinguishable.
 */

function resolveField(field: FieldMapping, root: PcShape): Array<PcShape | undefined> {
  return field.pc.map((path) => {
    const resolved = resolvePcPath(path.segments, path.source === 'microsoft' ? referralShape() : root);
    return resolved.ok ? resolved.shape : undefined;
  });
}

/**
 * Status pairs Partner Center can hold (Partner Center "Referral resources"); `None` has no transitions and is never
 * written, so it is not required.
 */
const STATUS_PAIRS: readonly string[][] = Object.entries(STATUS_TRANSITIONS).flatMap(([status, rule]) => rule.substatuses.map((sub) => [status, sub]));
const MAX_COMBINATIONS = 500;

function isStatusPair(paths: readonly PcPath[]): boolean {
  return paths.length === 2 && paths[0]?.segments.join('.') === 'status' && paths[1]?.segments.join('.') === 'substatus';
}

/** Every PC value (tuple) the field can hold, when its paths are enums; undefined when the domain is open. */
function pcDomain(field: FieldMapping, shapes: ReadonlyArray<PcShape | undefined>): string[][] | undefined {
  if (isStatusPair(field.pc)) return STATUS_PAIRS.map((pair) => [...pair]);
  const lists: string[][] = [];
  for (const shape of shapes) {
    const values = shape?.kind === 'enum' ? shape.values : shape?.kind === 'array' && shape.element.kind === 'enum' ? shape.element.values : undefined;
    if (!values) return undefined;
    lists.push([...values]);
  }
  let combos: string[][] = [[]];
  for (const list of lists) {
    combos = combos.flatMap((combo) => list.map((value) => [...combo, value]));
    if (combos.length > MAX_COMBINATIONS) return undefined;
  }
  return combos;
}

function crmDomain(field: FieldMapping, meta: CrmEntityMetadata | undefined): Scalar[] | undefined {
  const column = field.crm.length === 1 && field.crm[0] !== undefined ? meta?.columns[field.crm[0]] : undefined;
  if (!column) return undefined;
  if (column.type === 'boolean') return [true, false];
  return column.options ? [...column.options] : undefined;
}

export function checkMapCoverage(field: FieldMapping, root: PcShape | undefined, meta: CrmEntityMetadata | undefined, report: Report): void {
  const t = field.transform;
  if (t.type !== 'valueMap' && t.type !== 'multiValueMap') return;
  const shapes = root ? resolveField(field, root) : [];
  const entries = t.map.map((e) => ({ pc: asTuple(e.pc), crm: e.crm }));
  const fallback = t.type === 'valueMap' ? t.default : undefined;
  const classes = buildValueClasses(t.map, fallback, Math.max(field.pc.length, 1));

  // PC values named in the map must exist.
  entries.forEach((entry, k) => {
    entry.pc.forEach((value, j) => {
      const shape = shapes[j];
      const known = shape?.kind === 'enum' ? shape.values : shape?.kind === 'array' && shape.element.kind === 'enum' ? shape.element.values : undefined;
      if (known && value !== null && !known.some((v) => scalarKey(v) === scalarKey(value))) {
        report(`${field.at}.transform.map[${k}].pc`, `${describeValue(value)} is not a value of ${field.pc[j]?.text ?? 'the path'} (known: ${known.join(', ')})`);
      }
    });
    if (flowsToPc(field.direction) && isStatusPair(field.pc)) {
      const [status, substatus] = entry.pc;
      if (typeof status === 'string' && typeof substatus === 'string' && !isValidStatusPair(status, substatus)) {
        report(`${field.at}.transform.map[${k}].pc`, `${status}/${substatus} is not a status/substatus pair Partner Center accepts`);
      }
    }
  });

  const domain = root ? pcDomain(field, shapes) : undefined;
  if (domain && flowsToCrm(field.direction)) {
    const missing = domain.filter((tuple) => classes.classOfPc(tuple) === undefined);
    if (missing.length > 0) {
      const fix = t.type === 'valueMap' ? 'add entries or a default.crm' : 'add entries';
      report(`${field.at}.transform.map`, `no entry for Partner Center value${missing.length > 1 ? 's' : ''} ${missing.map((m) => labelOfTuple(m)).join(', ')} (${fix})`);
    }
  }
  const options = crmDomain(field, meta);
  if (options && flowsToPc(field.direction)) {
    const missing = options.filter((option) => classes.classOfCrm(option) === undefined);
    if (missing.length > 0) {
      const fix = t.type === 'valueMap' ? 'add entries or a default.pc' : 'add entries';
      report(`${field.at}.transform.map`, `no entry for CRM option${missing.length > 1 ? 's' : ''} ${missing.map(String).join(', ')} of ${field.crm[0] ?? ''} (${fix})`);
    }
  }
  if (classes.splitsEmpty()) {
    report(`${field.at}.transform.map`, 'the empty PC value and the empty CRM value are mapped to different values; both read as empty, so map null on one side only');
  }
  for (const group of classes.ambiguous()) {
    report(
      `${field.at}.transform.map`,
      `Partner Center values ${group.pc.join(', ')} and CRM values ${group.crm.join(', ')} are linked into one class, so the mapping cannot tell any of them apart; map each value on one side to a single value on the other`,
    );
  }
}
