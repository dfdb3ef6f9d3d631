import { z } from 'zod';
import { CrmApiError } from '../connector.ts';
import { isLookupColumn, type ColumnInfo } from './column-catalog.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { isGuid, normalizeGuid, parseResponse, stringLiteral } from './odata.ts';
import { navigationProperty } from './record-reader.ts';
import { CODE_LOOKUPS, CUSTOMER_LOOKUPS, ENTITY_SETS, LOOKUP_TARGETS } from './tables.ts';
import { toWire } from './wire-values.ts';

/*
 * Neutral column values → a Dataverse request body. Lookups become `<navigation>@odata.bind` ("Create a table row using
 * the Web API"): a GUID binds directly, `{ entity, id }` names the table of a polymorphic customer lookup, and a code
 * (currency `USD`) is resolved to its row once and cached — currencies do not change ids.
 */

const referenceSchema = z.object({ entity: z.string().min(1), id: z.string().regex(/^\{?[0-9a-f-]{36}\}?$/i) });

function invalid(message: string): CrmApiError {
  return new CrmApiError(message, undefined, 'invalidValue', false);
}

export class WriteBodyBuilder {
  private readonly codes = new Map<string, Promise<string>>();

  constructor(private readonly client: DataverseClient) {}

  async build(values: Record<string, unknown>, catalog: Map<string, ColumnInfo>): Promise<Record<string, unknown>> {
    const body: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(values)) {
      if (column.startsWith('@')) throw invalid(`unknown virtual column ${column}`);
      const info = catalog.get(column);
      if (isLookupColumn(info) || column in LOOKUP_TARGETS || CUSTOMER_LOOKUPS.has(column)) {
        const [key, bind] = await this.bind(column, value, info);
        body[key] = bind;
      } else {
        body[column] = toWire(value, info);
      }
    }
    return body;
  }

  private async bind(column: string, value: unknown, info: ColumnInfo | undefined): Promise<[string, string | null]> {
    if (CUSTOMER_LOOKUPS.has(column)) {
      if (value === null) return [`${navigationProperty(column, info, 'account')}@odata.bind`, null];
      const reference = referenceSchema.safeParse(value);
      if (!reference.success) throw invalid(`${column} is a customer lookup: write it as { entity: 'account' | 'contact', id }`);
      return [`${navigationProperty(column, info, reference.data.entity)}@odata.bind`, `/${this.entitySet(reference.data.entity)}(${normalizeGuid(reference.data.id)})`];
    }
    const key = `${navigationProperty(column, info)}@odata.bind`;
    if (value === null || value === undefined) return [key, null];
    const reference = referenceSchema.safeParse(value);
    if (reference.success) return [key, `/${this.entitySet(reference.data.entity)}(${normalizeGuid(reference.data.id)})`];
    const target = LOOKUP_TARGETS[column];
    if (!target) throw invalid(`cannot write lookup ${column}: its target table is unknown; write it as { entity, id }`);
    if (isGuid(value)) return [key, `/${this.entitySet(target)}(${normalizeGuid(value)})`];
    if (typeof value === 'string' && CODE_LOOKUPS[target]) return [key, `/${this.entitySet(target)}(${await this.resolveCode(target, value)})`];
    throw invalid(`cannot write ${JSON.stringify(value)} to lookup ${column}: expected a GUID or { entity, id }`);
  }

  private entitySet(entity: string): string {
    const set = ENTITY_SETS[entity.toLowerCase()];
    if (!set) throw invalid(`cannot bind to table ${entity}: its entity set name is unknown`);
    return set;
  }

  private resolveCode(target: string, code: string): Promise<string> {
    const lookup = CODE_LOOKUPS[target];
    if (!lookup) return Promise.reject(invalid(`${target} has no code column`));
    const cacheKey = `${target}:${code.trim().toUpperCase()}`;
    let pending = this.codes.get(cacheKey);
    if (!pending) {
      pending = this.fetchCode(lookup, target, code.trim());
      pending.catch(() => this.codes.delete(cacheKey));
      this.codes.set(cacheKey, pending);
    }
    return pending;
  }

  private async fetchCode(lookup: (typeof CODE_LOOKUPS)[string], target: string, code: string): Promise<string> {
    const raw = await this.client.run({ method: 'GET', route: lookup.entitySet }, (signal) =>
      this.client.api.retrieveMultiple({
        collection: lookup.entitySet,
        select: [lookup.idColumn],
        filter: `${lookup.codeColumn} eq ${stringLiteral(code)}`,
        top: 1,
        signal,
      }),
    );
    const rows = parseResponse(z.looseObject({ value: z.array(z.record(z.string(), z.unknown())) }), raw, `GET ${lookup.entitySet}`).value;
    const id = rows[0]?.[lookup.idColumn];
    if (typeof id !== 'string') throw invalid(`no ${target} with ${lookup.codeColumn} '${code}' exists in Dataverse (add or activate it there)`);
    return normalizeGuid(id);
  }
}
