import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import type { DataverseContext } from '../context.ts';
import { badRequest } from '../errors.ts';
import { attributesFor } from '../metadata/attribute-builders.ts';

/*
 * A custom lookup column between two existing tables, as a customizer adds one in the maker portal (for instance the
 * country "helper field" of Microsoft's co-sell connector: account → a custom country table). The sandbox's Web API
 * models many-to-many relationships only, so this control route stands in for creating the one-to-many relationship;
 * the column then behaves as any custom lookup: `_x_value`, `<SchemaName>@odata.bind`, `$expand=<SchemaName>`.
 */

const lookupColumnSchema = z.object({
  /** The table getting the column (`account`). */
  table: z.string().min(1),
  /** `cosell_CountryId`: its logical name is the lower case; the navigation property, as in Dataverse, the schema name. */
  schemaName: z.string().regex(/^[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+$/, 'expected a prefixed schema name such as cosell_CountryId'),
  /** The table it points at (`cosell_country`). */
  target: z.string().min(1),
  display: z.string().min(1).optional(),
  requiredLevel: z.enum(['None', 'Recommended', 'ApplicationRequired']).optional(),
});

export function registerLookupColumnRoute(app: FastifyInstance, ctx: DataverseContext): void {
  const { registry } = ctx.services;
  app.post('/_sandbox/lookup-columns', async (request, reply) => {
    const parsed = parseWithProblems(lookupColumnSchema, request.body ?? {});
    if (!parsed.ok) throw badRequest(`Invalid lookup column: ${summarizeProblems(parsed.problems)}`);
    const { table, schemaName, target, display, requiredLevel } = parsed.value;
    const entity = registry.requireEntity(table);
    const targetEntity = registry.requireEntity(target);
    const logicalName = schemaName.toLowerCase();
    const column = attributesFor(entity.logicalName).lookup(logicalName, [[targetEntity.logicalName, schemaName]], {
      kind: 'Lookup',
      schemaName,
      display: display ?? schemaName,
      required: requiredLevel ?? 'None',
    });
    registry.addAttribute(entity, { ...column, isCustom: true });
    return reply.code(201).send({ table: entity.logicalName, column: logicalName, navigationProperty: schemaName, target: targetEntity.logicalName });
  });
}
