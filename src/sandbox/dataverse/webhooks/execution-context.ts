import { randomUUID } from 'node:crypto';
import { SANDBOX_ORGANIZATION } from '../auth/users.ts';
import { formatValue } from '../data/formatted-values.ts';
import { isEntityReference, type RecordValues } from '../data/record.ts';
import type { RecordStore } from '../data/record-store.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import type { DataEvent, EventInputValue } from './events.ts';
import type { MatchedStep } from './step-matcher.ts';
import { entityPayload, entityReference, wcfDate, type WcfValue } from './wcf-json.ts';

/**
 * 256 KB ("Use webhooks to create external handlers for server events"): above it the platform drops ParentContext,
 * InputParameters and images and sets a header.
 */
export const MAX_CONTEXT_BYTES = 256 * 1024;

function pick(values: RecordValues, names: string[] | undefined): RecordValues {
  if (!names) return values;
  const picked: RecordValues = {};
  for (const name of names) if (name in values) picked[name] = values[name] ?? null;
  return picked;
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

/**
 * How Win / Lose contexts name the opportunity. Their InputParameters carry `OpportunityClose` (the close activity,
 * whose `opportunityid` references the opportunity) and `Status`, never a `Target`. Whether `PrimaryEntityId` is then the
 * opportunity's id or the empty GUID is not documented (the WinOpportunity / LoseOpportunity message pages describe
 * only the request), so the sandbox can send either: `record` (the id, the default) or `empty` (the empty GUID).
 */
export type ClosePrimaryEntityId = 'record' | 'empty';

/**
 * Builds `Microsoft.Xrm.Sdk.RemoteExecutionContext` as a webhook receives it (verbatim sample in "Use webhooks to
 * create external handlers for server events").
 */
export class ExecutionContextBuilder {
  closePrimaryEntityId: ClosePrimaryEntityId = 'record';

  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
  ) {}

  private formattedValues(entity: EntityDefinition, values: RecordValues): Array<{ key: string; value: string }> {
    const currency = values.transactioncurrencyid;
    const symbol = isEntityReference(currency) ? this.store.get('transactioncurrency', currency.id)?.values.currencysymbol : undefined;
    const context = { currencySymbol: typeof symbol === 'string' ? symbol : '$' };
    const formatted: Array<{ key: string; value: string }> = [];
    for (const [key, value] of Object.entries(values)) {
      const attribute = entity.attributes.get(key);
      if (!attribute || key === 'versionnumber') continue;
      const text = formatValue(attribute, value, context);
      if (text !== undefined) formatted.push({ key, value: text });
    }
    return formatted;
  }

  private image(entity: EntityDefinition, id: string, values: RecordValues): WcfValue {
    return entityPayload(entity, id, values, { typed: false, formattedValues: this.formattedValues(entity, values) });
  }

  private inputValue(value: EventInputValue): WcfValue {
    if (value.kind === 'optionSet') return { __type: 'OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts', Value: value.value };
    if (value.kind === 'reference') return entityReference(value.id, value.entity);
    if (value.kind === 'guid') return value.value;
    const entity = this.registry.requireEntity(value.entity);
    return entityPayload(entity, value.id, value.values, { typed: true });
  }

  build(event: DataEvent, match: MatchedStep, options: { trimmed: boolean }): Record<string, WcfValue> {
    const entity = this.registry.requireEntity(event.entity);
    const inputs: WcfValue[] = [];
    // The record-team messages have no Target: their `Record` is an extra input.
    if (event.message === 'Delete') inputs.push({ key: 'Target', value: entityReference(event.id, event.entity) });
    else if (event.message === 'Create' || event.message === 'Update') inputs.push({ key: 'Target', value: entityPayload(entity, event.id, event.target, { typed: true }) });
    for (const extra of event.extraInputs ?? []) inputs.push({ key: extra.key, value: this.inputValue(extra.value) });

    const postImages: WcfValue[] = [];
    const preImages: WcfValue[] = [];
    if (event.postImage && match.mode === 1 && entity.primaryNameAttribute) {
      // Async steps always carry the primary name image, as in the verbatim sample.
      postImages.push({ key: 'AsynchronousStepPrimaryName', value: this.image(entity, event.id, pick(event.postImage, [entity.primaryNameAttribute, entity.primaryIdAttribute])) });
    }
    for (const image of match.images) {
      const alias = typeof image.values.entityalias === 'string' ? image.values.entityalias : 'image';
      const columns = typeof image.values.attributes === 'string' && image.values.attributes.trim() !== '' ? image.values.attributes.split(',').map((name) => name.trim().toLowerCase()) : undefined;
      const type = Number(image.values.imagetype ?? 1);
      if ((type === 1 || type === 2) && event.postImage) postImages.push({ key: alias, value: this.image(entity, event.id, pick(event.postImage, columns)) });
      if ((type === 0 || type === 2) && event.preImage && event.message !== 'Create') preImages.push({ key: alias, value: this.image(entity, event.id, pick(event.preImage, columns)) });
    }

    const impersonating = match.step.values.impersonatinguserid;
    return {
      BusinessUnitId: SANDBOX_ORGANIZATION.businessUnitId,
      CorrelationId: event.correlationId,
      Depth: 1,
      InitiatingUserId: event.caller.initiatingUserId,
      InputParameters: options.trimmed ? [] : inputs,
      IsExecutingOffline: false,
      IsInTransaction: false,
      IsOfflinePlayback: false,
      IsolationMode: 1,
      MessageName: event.message,
      Mode: match.mode,
      OperationCreatedOn: wcfDate(event.occurredAt, true),
      OperationId: randomUUID(),
      OrganizationId: SANDBOX_ORGANIZATION.id,
      OrganizationName: SANDBOX_ORGANIZATION.name,
      OutputParameters: event.message === 'Create' ? [{ key: 'id', value: event.id }] : [],
      OwningExtension: { Id: match.step.id, KeyAttributes: [], LogicalName: 'sdkmessageprocessingstep', Name: null, RowVersion: null },
      // The real parent context (stage 30) is omitted, as in the abridged sample of the Dataverse webhook docs.
      ParentContext: null,
      PostEntityImages: options.trimmed ? [] : postImages,
      PreEntityImages: options.trimmed ? [] : preImages,
      PrimaryEntityId: (event.message === 'Win' || event.message === 'Lose') && this.closePrimaryEntityId === 'empty' ? EMPTY_GUID : event.id,
      PrimaryEntityName: event.entity,
      RequestId: null,
      SecondaryEntityName: 'none',
      // Plug-ins see the `tag` parameter as a shared variable; that webhooks carry it is UNCONFIRMED ("Use optional
      // parameters"), so do not rely on it alone.
      SharedVariables: event.tag !== undefined ? [{ key: 'tag', value: event.tag }] : [],
      Stage: match.stage,
      // A step registered to run as a given user reports that user; otherwise the caller (possibly impersonated).
      UserId: isEntityReference(impersonating) ? impersonating.id : event.caller.userId,
    };
  }
}
