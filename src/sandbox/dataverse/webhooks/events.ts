import type { Caller } from '../auth/users.ts';
import type { RecordValues } from '../data/record.ts';

export type EventMessage = 'Create' | 'Update' | 'Delete' | 'Win' | 'Lose' | 'AddUserToRecordTeam' | 'RemoveUserFromRecordTeam';

/** One platform operation a webhook step may be registered on. */
export interface DataEvent {
  message: EventMessage;
  entity: string;
  id: string;
  /** Columns of the `Target` input parameter (for Delete the target is a reference, so this is empty). */
  target: RecordValues;
  /** Columns the request actually sent; Update steps with `filteringattributes` fire only if one of them is listed. */
  sentAttributes: string[];
  preImage?: RecordValues;
  postImage?: RecordValues;
  /** Extra input parameters (Win/Lose: `OpportunityClose` entity and `Status`). */
  extraInputs?: Array<{ key: string; value: EventInputValue }>;
  caller: Caller;
  correlationId: string;
  occurredAt: Date;
  /**
   * The request's `tag` parameter ("Use optional parameters"); surfaced as the `tag` shared variable.
   */
  tag?: string;
}

export type EventInputValue =
  | { kind: 'entity'; entity: string; id: string; values: RecordValues }
  | { kind: 'optionSet'; value: number }
  | { kind: 'reference'; entity: string; id: string }
  | { kind: 'guid'; value: string };

/**
 * Collects the events of one request (or one change set) so they are published only after the work committed: a
 * rolled-back change set must not have told anyone about writes that never happened.
 */
export class EventCollector {
  readonly events: DataEvent[] = [];

  add(event: DataEvent): void {
    this.events.push(event);
  }

  drain(): DataEvent[] {
    return this.events.splice(0, this.events.length);
  }
}
