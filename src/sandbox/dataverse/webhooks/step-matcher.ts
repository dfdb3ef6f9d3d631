import { isEntityReference, type StoredRecord } from '../data/record.ts';
import type { RecordStore } from '../data/record-store.ts';
import type { DataEvent } from './events.ts';

export interface MatchedStep {
  step: StoredRecord;
  endpoint: StoredRecord;
  stage: number;
  mode: number;
  images: StoredRecord[];
}

const WEBHOOK_CONTRACT = 8;

function referenceId(row: StoredRecord, column: string): string | undefined {
  const value = row.values[column];
  return isEntityReference(value) ? value.id : undefined;
}

/** Finds the enabled webhook steps registered for an event: message, table filter, handler and filtering attributes. */
export function matchSteps(store: RecordStore, event: DataEvent): MatchedStep[] {
  const matched: MatchedStep[] = [];
  for (const step of store.all('sdkmessageprocessingstep')) {
    if (step.values.statecode !== 0) continue;
    const messageId = referenceId(step, 'sdkmessageid');
    const message = messageId ? store.get('sdkmessage', messageId) : undefined;
    if (message?.values.name !== event.message) continue;
    const filterId = referenceId(step, 'sdkmessagefilterid');
    if (filterId) {
      const filter = store.get('sdkmessagefilter', filterId);
      if (filter?.values.primaryobjecttypecode !== event.entity) continue;
    }
    const endpointId = referenceId(step, 'eventhandler');
    const endpoint = endpointId ? store.get('serviceendpoint', endpointId) : undefined;
    if (!endpoint || endpoint.values.contract !== WEBHOOK_CONTRACT || typeof endpoint.values.url !== 'string') continue;
    if (event.message === 'Update' && !passesFilteringAttributes(step, event.sentAttributes)) continue;
    const images = store.all('sdkmessageprocessingstepimage').filter((image) => referenceId(image, 'sdkmessageprocessingstepid') === step.id);
    matched.push({ step, endpoint, stage: Number(step.values.stage ?? 40), mode: Number(step.values.mode ?? 1), images });
  }
  return matched.sort((a, b) => Number(a.step.values.rank ?? 1) - Number(b.step.values.rank ?? 1));
}

/**
 * An Update step with filtering attributes fires when the request sent any of them, changed or not ("Update and delete
 * table rows using the Web API", "Use webhooks to create external handlers for server events").
 */
function passesFilteringAttributes(step: StoredRecord, sent: string[]): boolean {
  const raw = step.values.filteringattributes;
  if (typeof raw !== 'string' || raw.trim() === '') return true;
  const filtering = new Set(raw.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== ''));
  return sent.some((name) => filtering.has(name));
}
