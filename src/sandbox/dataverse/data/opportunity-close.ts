import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, ErrorCode } from '../errors.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { isEntityReference, type RecordValues } from './record.ts';
import type { RecordInputParser } from './record-input.ts';
import type { RecordService, WriteContext } from './record-service.ts';
import type { RecordStore } from './record-store.ts';
import { stateOfStatus } from './state-rules.ts';

const closeRequestSchema = z.object({
  // Edm.Int32 per the action definition; a numeric string is accepted as well (tolerant).
  Status: z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]),
  OpportunityClose: z.record(z.string(), z.unknown()),
});

export type CloseOutcome = 'Win' | 'Lose';

/**
 * WinOpportunity / LoseOpportunity ("WinOpportunity Action"): creates the opportunityclose activity and closes the
 * opportunity. Besides the Win/Lose message, an Update of statecode/statuscode is announced too — whether real
 * Dataverse raises Update steps on a win is UNCONFIRMED, and announcing it is the tolerant choice for a product
 * registered on Update only.
 */
export class OpportunityCloser {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
    private readonly inputs: RecordInputParser,
    private readonly records: RecordService,
  ) {}

  close(outcome: CloseOutcome, body: unknown, context: WriteContext): void {
    const parsed = parseWithProblems(closeRequestSchema, body ?? {});
    if (!parsed.ok) throw badRequest(`Invalid ${outcome}Opportunity request: ${summarizeProblems(parsed.problems)}`);
    const { Status: status, OpportunityClose: closeBody } = parsed.value;
    const opportunityEntity = this.registry.requireEntity('opportunity');
    const closeEntity = this.registry.requireEntity('opportunityclose');
    const closeInput = this.inputs.parse(closeEntity, closeBody, context.contentIds);
    const reference = closeInput.values.opportunityid;
    if (!isEntityReference(reference)) throw badRequest(`OpportunityClose must reference the opportunity with 'opportunityid@odata.bind'.`);
    const opportunity = this.store.get('opportunity', reference.id);
    if (!opportunity) throw badRequest(`opportunity With Id = ${reference.id} Does Not Exist`, ErrorCode.ObjectDoesNotExist);
    if (opportunity.values.statecode !== 0) throw badRequest('The opportunity is already closed; reopen it before winning or losing it again.', ErrorCode.InvalidArgument);
    const wantedState = outcome === 'Win' ? 1 : 2;
    if (stateOfStatus(opportunityEntity, status) !== wantedState) {
      throw badRequest(`${status} is not a valid status code for state code OpportunityState.${outcome === 'Win' ? 'Won' : 'Lost'} on opportunity with Id ${opportunity.id}.`, ErrorCode.InvalidArgument);
    }

    const closeValues: RecordValues = { ...closeInput.values, statecode: 1, statuscode: 2 };
    if (closeValues.subject === undefined) closeValues.subject = outcome === 'Win' ? 'Opportunity Close - Won' : 'Opportunity Close - Lost';
    const closeRecord = this.records.create(closeEntity, { values: closeValues, sent: Object.keys(closeValues) }, { ...context, system: true });

    const changes: RecordValues = { statecode: wantedState, statuscode: status };
    if (typeof closeInput.values.actualend === 'string') changes.actualclosedate = closeInput.values.actualend;
    if (typeof closeInput.values.actualrevenue === 'number') changes.actualvalue = closeInput.values.actualrevenue;
    const closed = this.records.update(opportunityEntity, opportunity, { values: changes, sent: Object.keys(changes) }, context);

    context.events.add({
      message: outcome,
      entity: 'opportunity',
      id: opportunity.id,
      target: {},
      sentAttributes: [],
      preImage: { ...opportunity.values },
      postImage: { ...closed.values },
      extraInputs: [
        { key: 'OpportunityClose', value: { kind: 'entity', entity: 'opportunityclose', id: closeRecord.id, values: { ...closeRecord.values } } },
        { key: 'Status', value: { kind: 'optionSet', value: status } },
      ],
      caller: context.caller,
      correlationId: context.correlationId,
      occurredAt: new Date(),
      ...(context.tag !== undefined ? { tag: context.tag } : {}),
    });
  }
}
