import { z } from 'zod';
import { referralSchema } from '../../partner-center/model.ts';
import { formatPcPath, type PcSegment } from './pc-path.ts';

/*
 * What a mapping may say about the referral's structure, read from the referral zod schema itself so that the
 * validator and the model cannot drift apart.
 *
 * Tolerance rule: the schema keeps unknown keys on every object (so parsing never fails), but a mapping that names a
 * key the schema does not declare is almost always a typo (`details.dealvalue`), so it is reported. The exceptions are
 * the containers whose content is undocumented or varies by programme — `details.requirements.additionalRequirements`,
 * `offers`, `salesPlays`, `partnerRole`, `solutionArea`, `solutionPlay` (declared as unknown / empty open objects):
 * under those any deeper path is accepted and read as whatever arrives.
 */

export type PcShape =
  | { kind: 'string' }
  | { kind: 'number' }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'array'; element: PcShape }
  | { kind: 'object'; keys: readonly string[]; child: (key: string) => PcShape | undefined }
  /** A tolerant container or a value of unconfirmed shape: any path below it, any value in it. */
  | { kind: 'any' };

export function shapeOf(schema: z.ZodType): PcShape {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) return shapeOf(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodString) return { kind: 'string' };
  if (schema instanceof z.ZodNumber) return { kind: 'number' };
  if (schema instanceof z.ZodBoolean) return { kind: 'boolean' };
  if (schema instanceof z.ZodEnum) return { kind: 'enum', values: schema.options.map(String) };
  if (schema instanceof z.ZodArray) return { kind: 'array', element: shapeOf(schema.element as z.ZodType) };
  if (schema instanceof z.ZodObject) {
    const shape = schema.shape as Record<string, z.ZodType>;
    const keys = Object.keys(shape);
    if (keys.length === 0) return { kind: 'any' };
    return { kind: 'object', keys, child: (key) => (Object.hasOwn(shape, key) ? shapeOf(shape[key] as z.ZodType) : undefined) };
  }
  if (schema instanceof z.ZodUnion) return unionShape(schema.options as readonly z.ZodType[]);
  return { kind: 'any' };
}

/** The model's tolerant enums are `known values | any string`; money is `number | numeric string`. */
function unionShape(options: readonly z.ZodType[]): PcShape {
  const shapes = options.map((option) => (option instanceof z.ZodPipe ? shapeOf(option.out as z.ZodType) : shapeOf(option)));
  const enumShape = shapes.find((s) => s.kind === 'enum');
  if (enumShape) return enumShape;
  if (shapes.every((s) => s.kind === 'number' || s.kind === 'any') && shapes.some((s) => s.kind === 'number')) return { kind: 'number' };
  return { kind: 'any' };
}

const REFERRAL_SHAPE = shapeOf(referralSchema);

export type PathResolution = { ok: true; shape: PcShape } | { ok: false; reason: string };

export function resolvePcPath(segments: readonly PcSegment[], root: PcShape = REFERRAL_SHAPE): PathResolution {
  let shape = root;
  for (const [index, segment] of segments.entries()) {
    const here = index === 0 ? 'the referral' : formatPcPath(segments.slice(0, index));
    if (shape.kind === 'any') return { ok: true, shape };
    if (typeof segment === 'number') {
      if (shape.kind !== 'array') return { ok: false, reason: `${here} is not a list, so it cannot be indexed with [${segment}]` };
      shape = shape.element;
      continue;
    }
    if (shape.kind === 'array') return { ok: false, reason: `${here} is a list; pick an element first, e.g. ${here}[0].${segment}` };
    if (shape.kind !== 'object') return { ok: false, reason: `${here} is a ${shape.kind}, it has no "${segment}"` };
    const child = shape.child(segment);
    if (!child) {
      const near = shape.keys.find((k) => k.toLowerCase() === segment.toLowerCase());
      const hint = near ? `did you mean "${near}"?` : `known keys: ${shape.keys.filter((k) => !k.startsWith('@')).join(', ')}`;
      return { ok: false, reason: `${here} has no "${segment}" (${hint})` };
    }
    shape = child;
  }
  return { ok: true, shape };
}

export function referralShape(): PcShape {
  return REFERRAL_SHAPE;
}

/** Describes a shape briefly for messages: "a number", "one of New, Active, …". */
export function describeShape(shape: PcShape): string {
  switch (shape.kind) {
    case 'enum':
      return `an enum (${shape.values.join(', ')})`;
    case 'array':
      return `a list of ${describeShape(shape.element).replace(/^an? /, '')}s`;
    case 'any':
      return 'a value of any shape';
    case 'object':
      return 'an object';
    default:
      return `a ${shape.kind}`;
  }
}

/**
 * Values Partner Center sets itself; a mapping writing them would be rejected by the service. Only the clearly
 * service-owned ones are listed: for fields like `acceptedDateTime` whether a PATCH is refused is UNCONFIRMED, so they
 * stay writable (the tolerant choice) and the API's answer will tell.
 */
export const SERVICE_OWNED_PC_ROOTS: readonly string[] = [
  'id',
  'engagementId',
  'organizationId',
  'organizationName',
  'createdDateTime',
  'updatedDateTime',
  'eTag',
  'links',
  'trackingInfo',
];
