import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest } from '../errors.ts';
import type { AttributeKind } from './attribute-model.ts';
import type { EntityDefinition, KeyDefinition } from './entity-model.ts';
import { labelText } from './labels.ts';

const keyRequestSchema = z
  .object({
    SchemaName: z.string().min(1),
    LogicalName: z.string().optional(),
    DisplayName: z.object({}).loose(),
    KeyAttributes: z.array(z.string().min(1)).min(1).max(16),
  })
  .loose();

/** Column types an alternate key may use (define-alternate-keys doc): no memo, money, boolean or multi-select. */
const KEYABLE: ReadonlySet<AttributeKind> = new Set(['String', 'Integer', 'Decimal', 'DateTime', 'Lookup', 'Customer', 'Owner', 'Picklist', 'Uniqueidentifier', 'BigInt']);
const MAX_KEYS_PER_TABLE = 10;

export function keyFromRequest(entity: EntityDefinition, body: unknown): KeyDefinition {
  const parsed = parseWithProblems(keyRequestSchema, body ?? {});
  if (!parsed.ok) throw badRequest(`Invalid entity key definition: ${summarizeProblems(parsed.problems)}`);
  const request = parsed.value;
  if (entity.keys.length >= MAX_KEYS_PER_TABLE) throw badRequest(`The table ${entity.logicalName} already has the maximum of ${MAX_KEYS_PER_TABLE} alternate keys.`);
  const keyAttributes = request.KeyAttributes.map((name) => name.toLowerCase());
  for (const name of keyAttributes) {
    const attribute = entity.attributes.get(name);
    if (!attribute) throw badRequest(`The attribute '${name}' used in the key ${request.SchemaName} does not exist on ${entity.logicalName}.`);
    if (!KEYABLE.has(attribute.kind)) throw badRequest(`The attribute '${name}' of type ${attribute.kind} cannot be part of an alternate key.`);
  }
  return {
    metadataId: randomUUID(),
    logicalName: request.SchemaName.toLowerCase(),
    schemaName: request.SchemaName,
    displayName: labelText(request.DisplayName) ?? request.SchemaName,
    keyAttributes,
    status: 'Active',
    isCustom: true,
  };
}
