import type { CrmEntityName, CrmKind } from '../../crm/connector.ts';
import type { PcPath } from './pc-path.ts';
import type { ConflictPolicy, SyncDirection, Transform, TransformOf } from './spec-schema.ts';

/** A loaded mapping file: paths parsed, `{prefix}` applied, defaults filled. */
export interface MappingSpec {
  file: string;
  crm: CrmKind;
  prefix: string | undefined;
  entities: Partial<Record<CrmEntityName, EntitySpec>>;
}

export interface EntitySpec {
  entity: CrmEntityName;
  /** Location in the file (`entities.contact`), for messages. */
  at: string;
  /** Set when each record of this entity is one element of a PC list; field paths are then relative to it. */
  pcItems: PcPath | undefined;
  fields: FieldMapping[];
  /** Why a deal was lost, carried with a close as lost (see spec-schema.ts); `crm` has `{prefix}` applied. */
  lossReason?: LossReasonSpec;
  /** See spec-schema.ts. */
  propagateContactRemovals?: boolean;
  /** See spec-schema.ts. */
  syncContactsAndTeam?: boolean;
}

export interface LossReasonSpec {
  at: string;
  crm: string;
  transform: TransformOf<'valueMap'>;
}

export interface FieldMapping {
  key: string;
  /** Location in the file (`entities.opportunity.fields[3]`), for messages. */
  at: string;
  /**
   * The PC paths the field reads (and, unless it is to-crm only, writes), in order. A template's are the paths in
   * its placeholders; a to-crm constant has none.
   */
  pc: PcPath[];
  /** The CRM columns, `{prefix}` already applied. A to-pc constant has none. */
  crm: string[];
  direction: SyncDirection;
  conflict: ConflictPolicy;
  transform: Transform;
  /** Only synced when a pair is first linked (a `constant` with `on: create`). */
  linkOnly: boolean;
}

export function flowsToCrm(direction: SyncDirection): boolean {
  return direction !== 'to-pc';
}

export function flowsToPc(direction: SyncDirection): boolean {
  return direction !== 'to-crm';
}

/** The CRM entities a mapping file has a section for. */
export function mappedEntities(spec: MappingSpec): CrmEntityName[] {
  return Object.values(spec.entities).flatMap((entity) => (entity ? [entity.entity] : []));
}
