import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, ErrorCode, noSuchColumn } from '../errors.ts';
import { type IdGenerator, KEY_PREFIX } from '../ids.ts';
import type { ObjectRegistry } from '../schema/object-model.ts';
import { WRITABLE_OBJECTS } from '../schema/standard-objects.ts';

/** What an admin sets up in a Workflow Rule / Flow "Outbound Message" action (SOAP API "Outbound Messaging"). */
export const outboundMessageSchema = z
  .object({
    name: z.string().min(1).max(80),
    sobject: z.enum(WRITABLE_OBJECTS),
    /** Fields sent in each notification; Id is always sent first. */
    fields: z.array(z.string().min(1)).min(1),
    endpointUrl: z.url({ protocol: /^https?$/ }),
    includeSessionId: z.boolean().optional(),
    /** Workflow evaluation: on create only, or on create and every edit (the usual choice for sync). */
    trigger: z.enum(['create', 'createOrUpdate']).optional(),
    /** Only fire an update when one of these fields changed (a Flow's entry condition); all updates when absent. */
    triggerFields: z.array(z.string().min(1)).optional(),
    active: z.boolean().optional(),
  })
  .strict();

export interface OutboundMessageDefinition {
  id: string;
  name: string;
  sobject: string;
  fields: string[];
  endpointUrl: string;
  includeSessionId: boolean;
  trigger: 'create' | 'createOrUpdate';
  triggerFields: string[] | null;
  active: boolean;
  createdAt: string;
}

/** Parses and validates a definition against the schema, returning canonical field names. */
export function parseOutboundMessage(body: unknown, registry: ObjectRegistry, ids: IdGenerator): OutboundMessageDefinition {
  const parsed = parseWithProblems(outboundMessageSchema, body ?? {});
  if (!parsed.ok) throw badRequest(ErrorCode.InvalidInput, `Invalid outbound message: ${summarizeProblems(parsed.problems)}`);
  const input = parsed.value;
  const type = registry.get(input.sobject);
  if (!type) throw badRequest(ErrorCode.InvalidType, `Unknown object ${input.sobject}`);
  const canonical = (names: string[]): string[] =>
    names.map((name) => {
      const field = type.field(name);
      if (!field) throw noSuchColumn(name, type.name);
      return field.name;
    });
  const fields = canonical(input.fields).filter((name) => name !== 'Id');
  return {
    id: ids.next(KEY_PREFIX.OutboundMessage),
    name: input.name,
    sobject: type.name,
    fields: ['Id', ...new Set(fields)],
    endpointUrl: input.endpointUrl,
    includeSessionId: input.includeSessionId ?? false,
    trigger: input.trigger ?? 'createOrUpdate',
    triggerFields: input.triggerFields ? canonical(input.triggerFields) : null,
    active: input.active ?? true,
    createdAt: new Date().toISOString(),
  };
}
