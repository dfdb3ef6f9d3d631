import { z } from 'zod';
import type { ConflictResolution, HeldConflict } from '../store/types.ts';
import type { CanonicalValue } from '../canonical-value.ts';

/** `POST /api/conflicts/<id>/resolve`: which side's value to take, or the value itself (`take: "value"`). */
export const resolveConflictRequest = z
  .object({
    take: z.enum(['partner-center', 'crm', 'value']),
    value: z.union([z.string().max(100_000), z.number().finite(), z.boolean(), z.null()]).optional(),
  })
  .strict();

export type ResolveConflictRequest = z.infer<typeof resolveConflictRequest>;

/**
 * The value an operator's choice stands for. A value typed on a command line arrives as text: it takes the type of the
 * values in conflict (a number for a deal value, true/false for a flag), so "120000" never lands as a string.
 */
export function chooseResolution(conflict: HeldConflict, request: ResolveConflictRequest): { ok: true; resolution: ConflictResolution } | { ok: false; reason: string } {
  if (request.take === 'partner-center') return { ok: true, resolution: { take: 'partner-center', value: conflict.pc ?? null } };
  if (request.take === 'crm') return { ok: true, resolution: { take: 'crm', value: conflict.crm ?? null } };
  if (request.value === undefined) return { ok: false, reason: 'take "value" needs the value to write to both sides' };
  const given = request.value;
  if (typeof given !== 'string') return { ok: true, resolution: { take: 'value', value: given } };
  const kinds = new Set([conflict.pc, conflict.crm, conflict.base].filter((v) => v !== null && v !== undefined).map((v) => typeof v));
  let value: CanonicalValue = given;
  if (kinds.size === 1 && kinds.has('number')) {
    const number = Number(given.trim());
    if (given.trim() === '' || !Number.isFinite(number)) return { ok: false, reason: `${conflict.field} holds numbers; "${given}" is not one` };
    value = number;
  } else if (kinds.size === 1 && kinds.has('boolean')) {
    if (!['true', 'false'].includes(given.trim().toLowerCase())) return { ok: false, reason: `${conflict.field} is true or false; "${given}" is neither` };
    value = given.trim().toLowerCase() === 'true';
  }
  return { ok: true, resolution: { take: 'value', value } };
}
