import type { IdGenerator} from '../ids.ts';
import { KEY_PREFIX } from '../ids.ts';
import type { ObjectRegistry } from '../schema/object-model.ts';
import { FORECAST_CATEGORIES } from '../schema/standard-objects.ts';
import type { RecordStore, StoredRecord } from './record-store.ts';

export interface StageDefinition {
  apiName: string;
  label: string;
  isActive: boolean;
  isClosed: boolean;
  isWon: boolean;
  defaultProbability: number;
  forecastCategoryName: string;
  sortOrder: number;
  description: string | null;
}

/**
 * A new org's sales process (Salesforce Object Reference "Opportunity": names confirmed; probabilities and flags as
 * commonly seen, UNCONFIRMED).
 */
export const DEFAULT_STAGES: readonly StageDefinition[] = [
  ['Prospecting', 10, 'Pipeline'],
  ['Qualification', 10, 'Pipeline'],
  ['Needs Analysis', 20, 'Pipeline'],
  ['Value Proposition', 50, 'Pipeline'],
  ['Id. Decision Makers', 60, 'Pipeline'],
  ['Perception Analysis', 70, 'Pipeline'],
  ['Proposal/Price Quote', 75, 'Pipeline'],
  ['Negotiation/Review', 90, 'Pipeline'],
  ['Closed Won', 100, 'Closed'],
  ['Closed Lost', 0, 'Omitted'],
].map(([name, probability, forecast], index) => ({
  apiName: name as string,
  label: name as string,
  isActive: true,
  isClosed: String(name).startsWith('Closed'),
  isWon: name === 'Closed Won',
  defaultProbability: probability as number,
  forecastCategoryName: forecast as string,
  sortOrder: index + 1,
  description: null,
}));

export function forecastCategoryApiName(name: string): string {
  return FORECAST_CATEGORIES.find((category) => category.name === name)?.api ?? 'Pipeline';
}

/**
 * OpportunityStage rows and the StageName picklist derived from them (Salesforce Object Reference "Opportunity": read
 * stages at runtime).
 */
export class StageCatalog {
  constructor(
    private readonly registry: ObjectRegistry,
    private readonly store: RecordStore,
    private readonly ids: IdGenerator,
    private readonly systemUserId: string,
  ) {}

  seedDefaults(): void {
    for (const stage of DEFAULT_STAGES) this.add(stage, Date.now());
  }

  add(stage: StageDefinition, at: number = Date.now()): StoredRecord {
    const id = this.ids.next(KEY_PREFIX.OpportunityStage);
    const record: StoredRecord = {
      id,
      sobject: 'OpportunityStage',
      deletedAt: null,
      sequence: this.store.nextSequence(),
      values: {
        Id: id,
        MasterLabel: stage.label,
        ApiName: stage.apiName,
        IsActive: stage.isActive,
        SortOrder: stage.sortOrder,
        IsClosed: stage.isClosed,
        IsWon: stage.isWon,
        ForecastCategory: forecastCategoryApiName(stage.forecastCategoryName),
        ForecastCategoryName: stage.forecastCategoryName,
        DefaultProbability: stage.defaultProbability,
        Description: stage.description,
        IsDeleted: false,
        CreatedDate: at,
        CreatedById: this.systemUserId,
        LastModifiedDate: at,
        LastModifiedById: this.systemUserId,
        SystemModstamp: at,
      },
    };
    this.store.put(record);
    this.refreshPicklist();
    return record;
  }

  all(): StoredRecord[] {
    return this.store.all('OpportunityStage').sort((a, b) => Number(a.values.SortOrder) - Number(b.values.SortOrder));
  }

  /** Picklist values match case-insensitively; the stored value takes the stage's own spelling. */
  find(apiName: string): StoredRecord | undefined {
    const wanted = apiName.toLowerCase();
    return this.all().find((stage) => String(stage.values.ApiName).toLowerCase() === wanted);
  }

  nextSortOrder(): number {
    return this.all().reduce((max, stage) => Math.max(max, Number(stage.values.SortOrder)), 0) + 1;
  }

  refreshPicklist(): void {
    const entries = this.all().map((stage) => ({
      value: String(stage.values.ApiName),
      label: String(stage.values.MasterLabel),
      active: stage.values.IsActive === true,
      defaultValue: false,
    }));
    this.registry.get('Opportunity')?.setPicklist('StageName', entries);
  }
}
