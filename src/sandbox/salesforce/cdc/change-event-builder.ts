import { randomUUID } from 'node:crypto';
import type { RecordChange } from '../data/record-changes.ts';
import { formatIsoDateTime } from '../data/wire-dates.ts';
import type { FieldDefinition, FieldValue } from '../schema/field-model.ts';
import type { ObjectRegistry, SObjectType } from '../schema/object-model.ts';

export type ChangeEventType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE' | 'GAP_CREATE' | 'GAP_UPDATE' | 'GAP_DELETE' | 'GAP_UNDELETE' | 'GAP_OVERFLOW';

export interface ChangeEventHeader {
  entityName: string;
  recordIds: string[];
  changeType: ChangeEventType;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  changedFields: string[];
  nulledFields: string[];
  diffFields: string[];
}

/** A change event before it gets its replay id. */
export interface ChangeEventDraft {
  entityName: string;
  schema: string;
  payload: { ChangeEventHeader: ChangeEventHeader } & Record<string, unknown>;
}

/**
 * Fields never in a change event body: the id (it is in `recordIds`), platform bookkeeping, and calculated values
 * (a person's `Name` travels as the compound of its parts instead).
 */
function inEvent(field: FieldDefinition): boolean {
  return field.name !== 'Id' && !field.system && !field.calculated;
}

/** CometD payloads carry datetimes as ISO 8601 strings (the Pub/Sub API's epoch longs are an Avro artefact). */
function eventValue(field: FieldDefinition, value: FieldValue): FieldValue {
  if (value === null) return null;
  return field.type === 'datetime' && typeof value === 'number' ? formatIsoDateTime(value) : value;
}

/**
 * Dotted name used in changedFields: `BillingAddress.City` for compound components (Change Data Capture Developer Guide
 * sample), else the field.
 */
function eventFieldName(field: FieldDefinition): string {
  return field.compound ? `${field.compound.field}.${field.compound.component}` : field.name;
}

/**
 * Builds the body: every listed field with its value, compound components nested under the compound name with the
 * components that are not listed set to null — the shape of the verbatim Account sample in the Change Data Capture
 * Developer Guide.
 */
function body(type: SObjectType, values: Readonly<Record<string, FieldValue>>, listed: ReadonlySet<string>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const field of type.fields) {
    if (!inEvent(field) || !listed.has(field.name)) continue;
    if (field.compound) {
      const compound = (result[field.compound.field] ??= Object.fromEntries(
        type.fields.filter((f) => f.compound?.field === field.compound?.field).map((f) => [f.compound?.component ?? f.name, null]),
      )) as Record<string, unknown>;
      compound[field.compound.component] = eventValue(field, values[field.name] ?? null);
      continue;
    }
    result[field.name] = eventValue(field, values[field.name] ?? null);
  }
  return result;
}

/**
 * Turns one committed transaction's row changes into change events (Change Data Capture Developer Guide):
 * CREATE/UNDELETE carry every non-null field, UPDATE only the changed ones plus LastModifiedDate, DELETE the header
 * alone. Events of one transaction share a transactionKey and are numbered by sequenceNumber.
 */
export class ChangeEventBuilder {
  private commitNumber = 10_000_000_000;

  constructor(private readonly registry: ObjectRegistry) {}

  build(changes: readonly RecordChange[]): ChangeEventDraft[] {
    const transactionKey = randomUUID();
    this.commitNumber += 1;
    const drafts: ChangeEventDraft[] = [];
    for (const change of changes) {
      const type = this.registry.get(change.sobject);
      if (!type?.capabilities.changeEvents) continue;
      const values = change.after.values;
      const eventFields = type.fields.filter(inEvent);
      let listed: Set<string>;
      let changedFields: string[] = [];
      let nulledFields: string[] = [];
      if (change.changeType === 'UPDATE') {
        listed = new Set([...change.changedFields.filter((name) => eventFields.some((f) => f.name === name)), 'LastModifiedDate']);
        const changed = eventFields.filter((f) => listed.has(f.name));
        changedFields = changed.map(eventFieldName);
        nulledFields = changed.filter((f) => (values[f.name] ?? null) === null).map(eventFieldName);
      } else if (change.changeType === 'DELETE') {
        listed = new Set();
      } else {
        listed = new Set(eventFields.filter((f) => (values[f.name] ?? null) !== null).map((f) => f.name));
      }
      drafts.push({
        entityName: type.name,
        schema: type.schemaId(),
        payload: {
          ChangeEventHeader: {
            entityName: type.name,
            recordIds: [change.recordId],
            changeType: change.changeType,
            changeOrigin: change.changeOrigin,
            transactionKey,
            sequenceNumber: drafts.length + 1,
            commitTimestamp: change.at,
            commitNumber: this.commitNumber,
            commitUser: change.userId,
            changedFields,
            nulledFields,
            diffFields: [],
          },
          ...body(type, values, listed),
        },
      });
    }
    return drafts;
  }

  /** A gap event: "something changed, re-read these records" — no field data (Change Data Capture Developer Guide). */
  gap(type: SObjectType, changeType: ChangeEventType, recordIds: string[], userId: string): ChangeEventDraft {
    this.commitNumber += 1;
    return {
      entityName: type.name,
      schema: type.schemaId(),
      payload: {
        ChangeEventHeader: {
          entityName: type.name,
          recordIds,
          changeType,
          changeOrigin: '',
          transactionKey: randomUUID(),
          sequenceNumber: 1,
          commitTimestamp: Date.now(),
          commitNumber: this.commitNumber,
          commitUser: userId,
          changedFields: [],
          nulledFields: [],
          diffFields: [],
        },
      },
    };
  }
}
