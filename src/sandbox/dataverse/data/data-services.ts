import { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { AccessTeams } from './access-teams.ts';
import { Associations } from './associations.ts';
import { LeadQualifier } from './lead-qualify.ts';
import { OpportunityCloser } from './opportunity-close.ts';
import { RecordInputParser } from './record-input.ts';
import { RecordLocator } from './record-locator.ts';
import { RecordQuery } from './record-query.ts';
import { RecordService } from './record-service.ts';
import { RecordStore } from './record-store.ts';
import { RecordRenderer } from './record-wire.ts';

/** The org's data and metadata plus the services over them; one per sandbox instance. */
export interface DataServices {
  registry: MetadataRegistry;
  store: RecordStore;
  locator: RecordLocator;
  inputs: RecordInputParser;
  records: RecordService;
  renderer: RecordRenderer;
  query: RecordQuery;
  closer: OpportunityCloser;
  qualifier: LeadQualifier;
  associations: Associations;
  accessTeams: AccessTeams;
}

export function createDataServices(): DataServices {
  const registry = new MetadataRegistry();
  const store = new RecordStore();
  const locator = new RecordLocator(store);
  const inputs = new RecordInputParser(registry, locator);
  const associations = new Associations(registry, store);
  const records = new RecordService(registry, store, locator, associations);
  return {
    registry,
    store,
    locator,
    inputs,
    records,
    renderer: new RecordRenderer(registry, store),
    query: new RecordQuery(registry, store),
    closer: new OpportunityCloser(registry, store, inputs, records),
    qualifier: new LeadQualifier(registry, store, records),
    associations,
    accessTeams: new AccessTeams(registry, store, records, associations),
  };
}
