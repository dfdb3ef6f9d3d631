import type { Logger } from '../../util/logger.ts';
import type { SandboxContext } from '../shared/context.ts';
import type { BatchExecutor } from './api/batch/batch-executor.ts';
import type { DataDispatcher } from './api/dispatcher.ts';
import type { TokenRegistry } from './auth/tokens.ts';
import type { SandboxUser } from './auth/users.ts';
import type { DataServices } from './data/data-services.ts';
import type { WebhookPublisher } from './webhooks/webhook-publisher.ts';
import type { DataverseWebhookSender } from './webhooks/webhook-sender.ts';

/** Everything the routes share; one per sandbox instance, so several sandboxes can run in one process. */
export interface DataverseContext extends SandboxContext {
  logger: Logger;
  services: DataServices;
  dispatcher: DataDispatcher;
  batch: BatchExecutor;
  publisher: WebhookPublisher;
  sender: DataverseWebhookSender;
  /** The org's users as seeded: application users (one per client id) and sellers. */
  users: readonly SandboxUser[];
  tokens: TokenRegistry;
  strictTokens: boolean;
  /** Clears business rows (and with `metadata`, runtime columns and keys too); the org catalogue is re-seeded. */
  resetData: (options: { metadata: boolean }) => number;
}
