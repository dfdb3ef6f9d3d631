import { randomUUID } from 'node:crypto';
import { duplicateRecord, DataverseError, ErrorCode } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import type { CollectionNavigation } from '../metadata/relationship-model.ts';
import type { StoredRecord } from './record.ts';
import type { RecordStore } from './record-store.ts';

/**
 * Rows of N:N intersect tables ("Associate and disassociate table rows using the Web API"): one row per associated
 * pair, kept in the store so a `$batch` change set rolls them back with everything else.
 */
export class Associations {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
  ) {}

  private pairRows(navigation: CollectionNavigation, selfId: string): StoredRecord[] {
    return this.store.all(navigation.relationship.intersectEntityName).filter((row) => row.values[navigation.selfAttribute] === selfId);
  }

  /** The rows on the other side, in association order. */
  related(navigation: CollectionNavigation, self: StoredRecord): StoredRecord[] {
    return this.pairRows(navigation, self.id)
      .map((row) => this.store.get(navigation.target, String(row.values[navigation.targetAttribute])))
      .filter((row): row is StoredRecord => row !== undefined);
  }

  /** Associating a pair that is already associated is refused with the platform's duplicate-key error. */
  associate(navigation: CollectionNavigation, self: StoredRecord, target: StoredRecord): void {
    if (this.pairRows(navigation, self.id).some((row) => row.values[navigation.targetAttribute] === target.id)) {
      throw duplicateRecord('Cannot insert duplicate key: the records are already associated through this relationship.');
    }
    this.store.insert(navigation.relationship.intersectEntityName, randomUUID(), {
      [navigation.selfAttribute]: self.id,
      [navigation.targetAttribute]: target.id,
      versionnumber: this.store.nextVersion(),
    });
  }

  disassociate(navigation: CollectionNavigation, self: StoredRecord, targetId: string): void {
    const row = this.pairRows(navigation, self.id).find((candidate) => candidate.values[navigation.targetAttribute] === targetId.toLowerCase());
    if (!row) {
      throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `${navigation.target} With Id = ${targetId} is not associated with ${self.entity} With Id = ${self.id} through ${navigation.relationship.schemaName}.`);
    }
    this.store.delete(navigation.relationship.intersectEntityName, row.id);
  }

  /** Deleting a row removes its associations, as Dataverse does with the intersect rows. */
  forget(entity: EntityDefinition, id: string): void {
    for (const navigation of this.registry.collectionNavigations(entity)) {
      for (const row of this.pairRows(navigation, id)) this.store.delete(navigation.relationship.intersectEntityName, row.id);
    }
  }
}
