import { badRequest, ErrorCode } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { RecordValues } from './record.ts';

export interface StatePair {
  statecode: number;
  statuscode: number;
}

function stateOptions(entity: EntityDefinition) {
  return entity.attributes.get('statecode')?.options ?? [];
}

function statusOptions(entity: EntityDefinition) {
  return entity.attributes.get('statuscode')?.options ?? [];
}

export function hasState(entity: EntityDefinition): boolean {
  return entity.attributes.has('statecode') && entity.attributes.has('statuscode');
}

export function defaultStatusOf(entity: EntityDefinition, statecode: number): number | undefined {
  return stateOptions(entity).find((option) => option.value === statecode)?.defaultStatus;
}

export function stateOfStatus(entity: EntityDefinition, statuscode: number): number | undefined {
  return statusOptions(entity).find((option) => option.value === statuscode)?.state;
}

export function initialState(entity: EntityDefinition): StatePair | undefined {
  if (!hasState(entity)) return undefined;
  const first = stateOptions(entity)[0];
  if (!first || first.defaultStatus === undefined) return undefined;
  return { statecode: first.value, statuscode: first.defaultStatus };
}

/**
 * The state a write ends in. Like the platform: a statuscode alone implies its statecode, a statecode alone takes its
 * default status, and a pair must belong together.
 */
export function resolveState(entity: EntityDefinition, current: StatePair, input: RecordValues): StatePair {
  const sentState = typeof input.statecode === 'number' ? input.statecode : undefined;
  const sentStatus = typeof input.statuscode === 'number' ? input.statuscode : undefined;
  if (sentState === undefined && sentStatus === undefined) return current;
  if (sentStatus !== undefined) {
    const owner = stateOfStatus(entity, sentStatus);
    const statecode = sentState ?? owner ?? current.statecode;
    if (owner !== statecode) {
      const stateLabel = stateOptions(entity).find((option) => option.value === statecode)?.label ?? String(statecode);
      throw badRequest(`${sentStatus} is not a valid status code for state code ${entity.schemaName}State.${stateLabel} on ${entity.logicalName}.`, ErrorCode.InvalidArgument);
    }
    return { statecode, statuscode: sentStatus };
  }
  const statecode = sentState ?? current.statecode;
  const statuscode = defaultStatusOf(entity, statecode);
  if (statuscode === undefined) throw badRequest(`${statecode} is not a valid state code on ${entity.logicalName}.`, ErrorCode.InvalidArgument);
  return { statecode, statuscode };
}

/**
 * Won and lost opportunities are read-only until reopened ("WinOpportunity Action"); other tables stay editable when
 * inactive.
 */
export function isClosedOpportunity(entity: EntityDefinition, values: RecordValues): boolean {
  return entity.logicalName === 'opportunity' && typeof values.statecode === 'number' && values.statecode !== 0;
}
