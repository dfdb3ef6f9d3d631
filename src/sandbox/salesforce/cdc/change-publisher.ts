import type { RecordChange } from '../data/record-changes.ts';
import type { OutboundMessaging } from '../outbound/outbound-messaging.ts';
import type { ChangeEventBuilder, ChangeEventType } from './change-event-builder.ts';
import type { ChangeEventLog, RetainedEvent } from './event-log.ts';
import type { SObjectType } from '../schema/object-model.ts';

/** Where committed changes go: change events for streaming subscribers and outbound messages. */
export class ChangePublisher {
  constructor(
    private readonly builder: ChangeEventBuilder,
    private readonly log: ChangeEventLog,
    private readonly outbound: OutboundMessaging,
  ) {}

  publish(changes: readonly RecordChange[]): void {
    if (changes.length === 0) return;
    for (const draft of this.builder.build(changes)) this.log.append(draft);
    this.outbound.onChanges(changes);
  }

  gap(type: SObjectType, changeType: ChangeEventType, recordIds: string[], userId: string): RetainedEvent {
    return this.log.append(this.builder.gap(type, changeType, recordIds, userId));
  }
}
