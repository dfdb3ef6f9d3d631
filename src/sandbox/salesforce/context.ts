import type { Logger } from '../../util/logger.ts';
import type { SandboxContext } from '../shared/context.ts';
import type { ApiUsage } from './api/api-usage.ts';
import type { SessionRegistry } from './auth/tokens.ts';
import type { BayeuxServer } from './cdc/bayeux-server.ts';
import type { ChangePublisher } from './cdc/change-publisher.ts';
import type { ChangeEventLog } from './cdc/event-log.ts';
import type { RecordService } from './data/record-service.ts';
import type { RecordStore } from './data/record-store.ts';
import type { StageCatalog } from './data/stages.ts';
import type { IdGenerator } from './ids.ts';
import type { OutboundMessaging } from './outbound/outbound-messaging.ts';
import type { ObjectRegistry } from './schema/object-model.ts';
import type { CurrencySettings } from './schema/standard-objects.ts';
import type { ToolingOrg } from './schema/tooling-org.ts';
import type { QueryCursors } from './soql/query-cursors.ts';

/** Everything the routes share; one per sandbox instance, so several sandboxes can run in one process. */
export interface SalesforceContext extends SandboxContext {
  logger: Logger;
  /** The API version the sandbox advertises as its newest (`62.0`); older versions are served too. */
  apiVersion: string;
  organizationId: string;
  registry: ObjectRegistry;
  store: RecordStore;
  ids: IdGenerator;
  stages: StageCatalog;
  records: RecordService;
  currency: CurrencySettings;
  tooling: ToolingOrg;
  sessions: SessionRegistry;
  cursors: QueryCursors;
  queryBatchSize: number;
  usage: ApiUsage;
  events: ChangeEventLog;
  publisher: ChangePublisher;
  cometd: BayeuxServer;
  outbound: OutboundMessaging;
}
