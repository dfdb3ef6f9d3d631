import type { CrmColumn, CrmColumnType, CrmEntityMetadata } from '../../crm/metadata.ts';
import { describeValue } from './canonical.ts';
import { MappingError, type MappingIssue, type Report } from './mapping-error.ts';
import { describeShape, referralShape, resolvePcPath, SERVICE_OWNED_PC_ROOTS, type PcShape } from './referral-structure.ts';
import type { CrmEntityName } from '../../crm/connector.ts';
import type { Scalar, Transform } from './spec-schema.ts';
import { flowsToCrm, flowsToPc, type EntitySpec, type FieldMapping, type MappingSpec } from './spec.ts';
import { scalarKey } from './transforms/value-classes.ts';
import { checkMapCoverage } from './validate-value-maps.ts';

/*
 * Checks a loaded mapping against the CRM's columns (as its connector reports them) and the referral's structure.
 * Returns every issue rather than the first, so one start-up (or CLI check) shows all that needs fixing.
 */

export type MappingMetadata = Partial<Record<CrmEntityName, CrmEntityMetadata>>;

export function validateMapping(spec: MappingSpec, metadata: MappingMetadata): MappingIssue[] {
  const issues: MappingIssue[] = [];
  const report = (path: string, reason: string) => issues.push({ file: spec.file, path, reason });
  for (const entity of Object.values(spec.entities)) {
    const meta = metadata[entity.entity];
    if (!meta) report(entity.at, `the CRM reports no table for entity ${entity.entity}`);
    const root = itemShape(entity, report);
    const seen = { keys: new Map<string, string>(), crm: new Map<string, string>(), pc: new Map<string, string>() };
    for (const field of entity.fields) {
      checkUnique(field, entity, seen, report);
      if (root) checkPcSide(field, entity, root, report);
      if (meta) checkCrmSide(field, meta, report);
      checkMapCoverage(field, root, meta, report);
    }
    if (meta) checkRequiredColumns(entity, meta, report);
    const loss = entity.lossReason;
    // Read with every record: a missing column would fail each read rather than this start-up check.
    if (loss && meta && !Object.hasOwn(meta.columns, loss.crm)) report(`${loss.at}.crm`, `unknown column "${loss.crm}" on ${meta.crmName}; re-run cosell setup or remove lossReason`);
  }
  return issues;
}

/** Columns the connector fills itself on a customer create (the contact's account). */
const CONNECTOR_FILLED: Partial<Record<CrmEntityName, readonly string[]>> = { contact: ['parentcustomerid', 'AccountId'] };

/**
 * A customer the service creates must carry every column the org requires, or each create is refused (Salesforce) or
 * leaves a record the org's forms will not save (Dataverse). Checked for the sections that create customers.
 */
function checkRequiredColumns(entity: EntitySpec, meta: CrmEntityMetadata, report: Report): void {
  if (entity.entity !== 'account' && entity.entity !== 'contact') return;
  const filled = new Set([...(CONNECTOR_FILLED[entity.entity] ?? []), ...entity.fields.filter((f) => flowsToCrm(f.direction)).flatMap((f) => f.crm)].map((c) => c.toLowerCase()));
  for (const column of Object.values(meta.columns)) {
    if (!column.required || column.readOnly || filled.has(column.name.toLowerCase())) continue;
    report(
      `${entity.at}.fields`,
      `${meta.crmName}.${column.name} is required by the org but no field fills it: map it, or add a field with crm: ${column.name}, direction: to-crm and transform: { type: constant, value: <default>, on: create }`,
    );
  }
}

/** For start-up: throws a MappingError listing every issue. */
export function assertValidMapping(spec: MappingSpec, metadata: MappingMetadata): void {
  const [first, ...others] = validateMapping(spec, metadata);
  if (first) throw new MappingError([first, ...others]);
}

function pcLocation(field: FieldMapping, index: number): string {
  if (field.transform.type === 'template') return `${field.at}.transform.template`;
  return field.pc.length === 1 ? `${field.at}.pc` : `${field.at}.pc[${index}]`;
}

function crmLocation(field: FieldMapping, index: number): string {
  return field.crm.length === 1 ? `${field.at}.crm` : `${field.at}.crm[${index}]`;
}

/** The shape field paths are resolved against: the referral, or the element of the entity's `pcItems` list. */
function itemShape(entity: EntitySpec, report: Report): PcShape | undefined {
  if (!entity.pcItems) return referralShape();
  const resolved = resolvePcPath(entity.pcItems.segments);
  if (!resolved.ok) {
    report(`${entity.at}.pcItems`, `unknown Partner Center path "${entity.pcItems.text}": ${resolved.reason}`);
    return undefined;
  }
  if (resolved.shape.kind === 'any') return resolved.shape;
  if (resolved.shape.kind !== 'array') {
    report(`${entity.at}.pcItems`, `${entity.pcItems.text} is ${describeShape(resolved.shape)}, not a list`);
    return undefined;
  }
  return resolved.shape.element;
}

function checkUnique(field: FieldMapping, entity: EntitySpec, seen: Record<'keys' | 'crm' | 'pc', Map<string, string>>, report: Report): void {
  const firstKey = seen.keys.get(field.key);
  if (firstKey !== undefined) report(`${field.at}.key`, `duplicate key "${field.key}" (first used by ${firstKey})`);
  else seen.keys.set(field.key, field.at);

  // Two fields writing one target would fight over it on every sync.
  if (flowsToCrm(field.direction)) {
    field.crm.forEach((column, index) => {
      const other = seen.crm.get(column);
      if (other !== undefined) report(crmLocation(field, index), `column ${column} is also written by field "${other}"`);
      else seen.crm.set(column, field.key);
    });
  }
  if (flowsToPc(field.direction)) {
    field.pc.forEach((path, index) => {
      const absolute = entity.pcItems ? `${entity.pcItems.text}[].${path.text}` : path.text;
      const other = seen.pc.get(absolute);
      if (other !== undefined) report(pcLocation(field, index), `Partner Center path ${path.text} is also written by field "${other}"`);
      else seen.pc.set(absolute, field.key);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Partner Center side
// ---------------------------------------------------------------------------------------------------------------

function checkPcSide(field: FieldMapping, entity: EntitySpec, root: PcShape, report: Report): void {
  field.pc.forEach((path, index) => {
    const resolved = resolvePcPath(path.segments, path.source === 'microsoft' ? referralShape() : root);
    if (!resolved.ok) {
      report(pcLocation(field, index), `unknown Partner Center path "${path.text}": ${resolved.reason}`);
      return;
    }
    const top = entity.pcItems ? entity.pcItems.segments[0] : path.segments[0];
    if (flowsToPc(field.direction) && path.source === 'referral' && SERVICE_OWNED_PC_ROOTS.includes(String(top))) {
      report(pcLocation(field, index), `${path.text} is set by Partner Center and cannot be written: use direction to-crm`);
    }
    const expected = pcKindsFor(field.transform);
    if (resolved.shape.kind !== 'any' && !expected.includes(resolved.shape.kind)) {
      report(`${field.at}.transform`, `${field.transform.type} cannot read ${path.text}, which is ${describeShape(resolved.shape)}`);
    }
  });
}

const SCALAR_KINDS: readonly PcShape['kind'][] = ['string', 'enum', 'number', 'boolean'];

function pcKindsFor(t: Transform): readonly PcShape['kind'][] {
  switch (t.type) {
    case 'number':
    case 'money':
      return ['number'];
    case 'boolean':
      return ['boolean'];
    case 'date':
    case 'datetime':
      return ['string'];
    case 'multiValueMap':
      return ['array'];
    case 'constant':
      return typeof t.value === 'boolean' ? ['boolean'] : typeof t.value === 'number' ? ['number'] : SCALAR_KINDS;
    default:
      return SCALAR_KINDS;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CRM side
// ---------------------------------------------------------------------------------------------------------------

const TEXT_COLUMNS: readonly CrmColumnType[] = ['string', 'memo', 'url'];

function crmTypesFor(t: Transform): readonly CrmColumnType[] {
  switch (t.type) {
    case 'none':
      // Dates and choices need their own transform, or each side's form would differ forever.
      return [...TEXT_COLUMNS, 'boolean', 'integer', 'decimal', 'money'];
    case 'string':
    case 'template':
    case 'join':
    case 'split':
    case 'countryName':
      return TEXT_COLUMNS;
    case 'number':
      return ['integer', 'decimal', 'money'];
    case 'money':
      return ['money', 'decimal'];
    case 'boolean':
      return ['boolean'];
    case 'date':
      return ['date'];
    case 'datetime':
      return ['datetime'];
    case 'valueMap':
      return ['picklist', 'boolean', 'integer', ...TEXT_COLUMNS];
    case 'multiValueMap':
      return ['multipicklist'];
    case 'lookup':
      return ['lookup'];
    case 'constant':
      if (typeof t.value === 'boolean') return ['boolean'];
      if (typeof t.value === 'number') return ['integer', 'decimal', 'money', 'picklist'];
      if (typeof t.value === 'string') return [...TEXT_COLUMNS, 'picklist'];
      return [...TEXT_COLUMNS, 'boolean', 'integer', 'decimal', 'money', 'picklist', 'date', 'datetime', 'lookup', 'multipicklist'];
  }
}

function checkCrmSide(field: FieldMapping, meta: CrmEntityMetadata, report: Report): void {
  field.crm.forEach((name, index) => {
    const column = meta.columns[name];
    if (!column) {
      const hint = suggestColumn(name, Object.keys(meta.columns));
      report(crmLocation(field, index), `unknown column "${name}" on ${meta.crmName}${hint ? ` (did you mean "${hint}"?)` : ''}`);
      return;
    }
    if (column.readOnly && flowsToCrm(field.direction)) {
      report(crmLocation(field, index), `${name} is read-only in the CRM; a field writing it must have direction to-pc`);
    }
    const t = field.transform;
    if (column.type !== 'virtual' && !crmTypesFor(t).includes(column.type)) {
      report(`${field.at}.transform`, `${t.type} does not fit ${name}, a ${column.type} column (fits: ${crmTypesFor(t).join(', ')})`);
      return;
    }
    if (t.type === 'lookup' && column.target !== undefined && column.target !== t.entity) {
      report(`${field.at}.transform.entity`, `${name} points at ${column.target}, not ${t.entity}`);
    }
    if (t.type === 'lookup' && meta.lookupTargets && !meta.lookupTargets.includes(t.entity)) {
      const allowed = meta.lookupTargets.length > 0 ? `only to ${meta.lookupTargets.join(', ')}` : 'to no table';
      report(`${field.at}.transform.entity`, `a lookup on ${meta.crmName} resolves codes ${allowed}; a lookup to ${t.entity} works in the account and contact sections`);
    }
    if (t.type === 'string' && t.maxLength !== undefined && column.maxLength !== undefined && t.maxLength > column.maxLength) {
      report(`${field.at}.transform.maxLength`, `${name} holds at most ${column.maxLength} characters`);
    }
    if (t.type === 'constant') checkCrmValue(t.value, column, `${field.at}.transform.value`, report);
    if (t.type === 'valueMap') {
      t.map.forEach((entry, k) => checkCrmValue(entry.crm, column, `${field.at}.transform.map[${k}].crm`, report));
      if (t.default?.crm !== undefined) checkCrmValue(t.default.crm, column, `${field.at}.transform.default.crm`, report);
    }
    if (t.type === 'multiValueMap') t.map.forEach((entry, k) => checkCrmValue(entry.crm, column, `${field.at}.transform.map[${k}].crm`, report));
  });
}

/** A value the mapping writes to a column must be one the column can hold. */
function checkCrmValue(value: Scalar, column: CrmColumn, path: string, report: Report): void {
  if (value === null) return;
  const options = column.options;
  if (options && (column.type === 'picklist' || column.type === 'multipicklist' || column.type === 'virtual')) {
    if (!options.some((o) => scalarKey(o) === scalarKey(value))) {
      report(path, `${describeValue(value)} is not an option of ${column.name} (options: ${options.join(', ')})`);
    }
    return;
  }
  const expected: Partial<Record<CrmColumnType, string>> = { boolean: 'boolean', integer: 'number', decimal: 'number', money: 'number', string: 'string', memo: 'string', url: 'string' };
  const type = expected[column.type];
  if (type !== undefined && typeof value !== type) report(path, `${column.name} is a ${column.type} column; ${describeValue(value)} is not a ${type}`);
}

function suggestColumn(name: string, columns: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  return columns.find((c) => c.toLowerCase() === lower) ?? columns.find((c) => editDistance(c.toLowerCase(), lower) <= 2);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
