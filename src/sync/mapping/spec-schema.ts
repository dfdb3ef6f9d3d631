import { z } from 'zod';
import { CRM_ENTITIES, CRM_KINDS, isCrmEntityName } from '../../crm/connector.ts';
import { MICROSOFT_PREFIX, PC_PATH_PATTERN } from './pc-path.ts';
import { parseTemplate } from './template-text.ts';

/*
 * The mapping file as written (YAML → this schema). Everything that can be checked without CRM metadata is checked
 * here, so a broken file fails at load with the exact path; checks needing the CRM's columns live in
 * validate-mapping.ts.
 */

export const SYNC_DIRECTIONS = ['both', 'to-crm', 'to-pc'] as const;
export type SyncDirection = (typeof SYNC_DIRECTIONS)[number];

export const CONFLICT_POLICIES = ['pc-wins', 'crm-wins', 'newest-wins', 'manual'] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

export const TRANSFORM_TYPES = [
  'none',
  'string',
  'number',
  'money',
  'boolean',
  'date',
  'datetime',
  'valueMap',
  'multiValueMap',
  'template',
  'join',
  'split',
  'lookup',
  'constant',
  'countryName',
] as const;
export type TransformType = (typeof TRANSFORM_TYPES)[number];

export const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof scalarSchema>;

/** A PC value in a value map: one scalar, or a tuple for composite fields such as `[status, substatus]`. */
const pcValueSchema = z.union([scalarSchema, z.array(scalarSchema).min(1)]);
export type PcMapValue = z.infer<typeof pcValueSchema>;

const pcPathSchema = z
  .string()
  .regex(PC_PATH_PATTERN, 'expected a Partner Center path such as details.dealValue or customerProfile.team[0].email');

/** `{prefix}` is replaced by the file's publisher prefix; `@name` is a virtual column the connector implements. */
const crmColumnSchema = z
  .string()
  .regex(/^(?:@[A-Za-z][A-Za-z0-9_]*|(?:[A-Za-z0-9_]|\{prefix\})+)$/, 'expected a CRM column name such as estimatedvalue, {prefix}_referralidentifier or @state');

const caseSchema = z.enum(['upper', 'lower']);

const transformSchemas = [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('string'),
    /** Canonical values are cut to this length, so a long PC value equals its truncated CRM copy. */
    maxLength: z.int().positive().optional(),
    case: caseSchema.optional(),
    /** A value not matching is unreadable (not synced) rather than written, e.g. country names where a code is needed. */
    pattern: z
      .string()
      .refine(isRegExp, 'not a valid regular expression')
      .optional(),
  }),
  z.strictObject({ type: z.literal('number') }),
  z.strictObject({ type: z.literal('money'), decimals: z.int().min(0).max(10).default(2) }),
  z.strictObject({ type: z.literal('boolean'), nullAs: z.boolean().optional() }),
  z.strictObject({ type: z.literal('date') }),
  z.strictObject({ type: z.literal('datetime') }),
  z.strictObject({
    type: z.literal('valueMap'),
    map: z.array(z.strictObject({ pc: pcValueSchema, crm: scalarSchema })).min(1, 'a value map needs at least one entry'),
    /** Per direction: `crm` is written for PC values not in the map, `pc` for CRM values not in the map. */
    default: z.strictObject({ pc: pcValueSchema.optional(), crm: scalarSchema.optional() }).optional(),
  }),
  z.strictObject({
    type: z.literal('multiValueMap'),
    map: z.array(z.strictObject({ pc: z.string(), crm: z.union([z.string(), z.number()]) })).min(1, 'a value map needs at least one entry'),
  }),
  z.strictObject({ type: z.literal('template'), template: z.string().min(1) }),
  z.strictObject({ type: z.literal('join'), separator: z.string().min(1).default(' ') }),
  z.strictObject({ type: z.literal('split'), separator: z.string().min(1).default(' ') }),
  z.strictObject({ type: z.literal('lookup'), entity: z.string().min(1), by: z.string().min(1), case: caseSchema.optional() }),
  z.strictObject({
    type: z.literal('constant'),
    value: scalarSchema,
    /** `create`: only when a pair is first linked, so a seller can change it later; `always`: enforced on every sync. */
    on: z.enum(['create', 'always']).default('create'),
  }),
  /**
   * A text column holding a country's English name ("United States"): read as its ISO 3166 alpha-2 code (a name ISO
   * 3166 does not know is unreadable, so it is never sent), written as the official name of the code.
   */
  z.strictObject({ type: z.literal('countryName') }),
] as const;

const transformUnion = z.discriminatedUnion('type', transformSchemas, {
  error: (issue) => (issue.code === 'invalid_union' ? `unknown transform type; expected one of ${TRANSFORM_TYPES.join(', ')}` : undefined),
});

/** `transform: money` is shorthand for `transform: { type: money }`. */
export const transformSchema = z.preprocess((value) => (typeof value === 'string' ? { type: value } : value), transformUnion);
export type Transform = z.output<typeof transformUnion>;
export type TransformOf<T extends TransformType> = Extract<Transform, { type: T }>;

const fieldSchema = z
  .strictObject({
    key: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'expected a key such as dealValue (letters, digits, _ . -)'),
    pc: z.union([pcPathSchema, z.array(pcPathSchema).min(1)]).optional(),
    crm: z.union([crmColumnSchema, z.array(crmColumnSchema).min(1)]).optional(),
    direction: z.enum(SYNC_DIRECTIONS).default('both'),
    transform: transformSchema.default({ type: 'none' }),
    conflict: z.enum(CONFLICT_POLICIES).default('newest-wins'),
  })
  .superRefine(checkFieldShape);
export type RawField = z.output<typeof fieldSchema>;

/**
 * Why a deal was lost: Partner Center's `statusReason` ⇄ a CRM column, through a value map. Not a field: it only
 * travels with a close as lost (Closed/Lost one way, the CRM's lost state the other), never on its own.
 */
const lossReasonSchema = z.strictObject({
  crm: crmColumnSchema,
  map: z.array(z.strictObject({ pc: z.string().min(1), crm: scalarSchema })).min(1, 'a value map needs at least one entry'),
  /** `crm` is written for a Partner Center reason not in the map; `pc` is sent for a CRM value not in the map. */
  default: z.strictObject({ pc: z.string().min(1).optional(), crm: scalarSchema.optional() }).optional(),
});
export type RawLossReason = z.output<typeof lossReasonSchema>;

const entitySchema = z.strictObject({
  /** The entity maps to each element of this PC list (contacts ⇄ `customerProfile.team`); field paths are relative. */
  pcItems: pcPathSchema.optional(),
  fields: z.array(fieldSchema),
  lossReason: lossReasonSchema.optional(),
  /** Opportunity contacts: a contact removed on one side is removed on the other too (default false: audited only). */
  propagateContactRemovals: z.boolean().optional(),
  /**
   * Opportunity contacts and the partner team after creation, both ways (default true; false turns it off). A merge
   * reads them only when they may have changed: Partner Center's differ from the last merge, a notification about the
   * deal's people arrived, or the periodic pass of open co-sell pairs (see sync/run/contacts.ts).
   */
  syncContactsAndTeam: z.boolean().optional(),
});
export type RawEntity = z.output<typeof entitySchema>;

export const mappingFileSchema = z.strictObject({
  crm: z.enum(CRM_KINDS),
  /**
   * Dataverse publisher prefix (Dataverse "Create and update column definitions using the Web API"), e.g. `cosell`;
   * substituted into `{prefix}` in column names.
   */
  prefix: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{1,15}$/, 'expected a publisher prefix such as cosell (letters and digits, 2–16 characters)')
    .optional(),
  entities: z.record(z.string(), entitySchema).superRefine((entities, ctx) => {
    for (const name of Object.keys(entities)) {
      if (!isCrmEntityName(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `unknown entity "${name}"; expected one of ${CRM_ENTITIES.join(', ')}` });
      }
    }
  }),
});
export type RawMappingFile = z.output<typeof mappingFileSchema>;

// ---------------------------------------------------------------------------------------------------------------

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function asList<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

type FieldDraft = Omit<RawField, 'transform'> & { transform: Transform };

/** Which PC/CRM arities each transform accepts, and the rules no metadata is needed for. */
function checkFieldShape(field: FieldDraft, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path: path as (string | number)[], message });
  const pc = asList(field.pc);
  const crm = asList(field.crm);
  const { transform, direction } = field;

  if (pc.some((p) => p.startsWith(MICROSOFT_PREFIX)) && direction !== 'to-crm') {
    issue(['direction'], `paths under ${MICROSOFT_PREFIX} read Microsoft's referral, which we never write: use direction to-crm`);
  }

  switch (transform.type) {
    case 'constant':
      if (direction === 'both') issue(['direction'], 'a constant flows one way: use direction to-crm or to-pc');
      if (direction === 'to-crm') {
        if (field.pc !== undefined) issue(['pc'], 'a to-crm constant has no Partner Center path (the value is the constant)');
        if (crm.length !== 1) issue(['crm'], 'a to-crm constant needs exactly one CRM column');
      }
      if (direction === 'to-pc') {
        if (field.crm !== undefined) issue(['crm'], 'a to-pc constant has no CRM column (the value is the constant)');
        if (pc.length !== 1) issue(['pc'], 'a to-pc constant needs exactly one Partner Center path');
      }
      return;
    case 'template': {
      if (direction !== 'to-crm') issue(['direction'], 'a template only renders Partner Center values into the CRM: use direction to-crm');
      if (field.pc !== undefined) issue(['pc'], 'a template reads the paths named in its {placeholders}; remove pc');
      if (crm.length !== 1) issue(['crm'], 'a template needs exactly one CRM column');
      const parsed = parseTemplate(transform.template);
      if (!parsed.ok) issue(['transform', 'template'], parsed.reason);
      else {
        for (const placeholder of parsed.paths) {
          if (!PC_PATH_PATTERN.test(placeholder)) issue(['transform', 'template'], `"{${placeholder}}" is not a Partner Center path`);
        }
      }
      return;
    }
    default:
      break;
  }

  if (pc.length === 0) issue(['pc'], 'missing the Partner Center path (pc)');
  if (crm.length === 0) issue(['crm'], 'missing the CRM column (crm)');

  const multiPc = pc.length > 1;
  const multiCrm = crm.length > 1;
  if (transform.type === 'join') {
    if (pc.length < 2) issue(['pc'], 'join combines several Partner Center paths: give a list of at least two');
  } else if (multiPc && transform.type !== 'valueMap') {
    issue(['pc'], `only valueMap and join read several Partner Center paths; ${transform.type} reads one`);
  }
  if (transform.type === 'split') {
    if (crm.length < 2) issue(['crm'], 'split fills several CRM columns: give a list of at least two');
  } else if (multiCrm) {
    issue(['crm'], `only split writes several CRM columns; ${transform.type} writes one`);
  }

  if (transform.type === 'valueMap') checkValueMap(transform, pc.length, issue);
}

function checkValueMap(transform: TransformOf<'valueMap'>, arity: number, issue: (path: PropertyKey[], message: string) => void): void {
  if (arity === 0) return;
  const arityOf = (value: PcMapValue) => (Array.isArray(value) ? value.length : 1);
  const what = arity === 1 ? 'one value' : `a list of ${arity} values (one per pc path)`;
  transform.map.forEach((entry, index) => {
    if (arityOf(entry.pc) !== arity) issue(['transform', 'map', index, 'pc'], `expected ${what}`);
  });
  const fallback = transform.default;
  if (fallback?.pc !== undefined) {
    if (arityOf(fallback.pc) !== arity) issue(['transform', 'default', 'pc'], `expected ${what}`);
    else if (fallback.pc !== null && !transform.map.some((e) => sameTuple(e.pc, fallback.pc as PcMapValue))) {
      issue(['transform', 'default', 'pc'], 'the default must be one of the pc values listed in the map, so its meaning is known');
    }
  }
  if (fallback?.crm !== undefined && fallback.crm !== null && !transform.map.some((e) => e.crm === fallback.crm)) {
    issue(['transform', 'default', 'crm'], 'the default must be one of the crm values listed in the map, so its meaning is known');
  }
}

function sameTuple(a: PcMapValue, b: PcMapValue): boolean {
  const left = asList(a);
  const right = asList(b);
  return left.length === right.length && left.every((v, i) => v === right[i]);
}
