import type { z } from 'zod';
import type { ResolveSecretOptions } from '../config/secrets.ts';
import type { HttpCallRecord } from '../http/call-record.ts';
import type { Logger } from '../util/logger.ts';
import type { CrmConnector, CrmKind } from './connector.ts';
import type { NotificationDecoder, NotificationRoute, NotifiedChangesReader } from './notifications.ts';

export interface ConnectorDeps {
  logger: Logger;
  /** Every HTTP attempt the connector makes, token requests included. */
  onCall?: (call: HttpCallRecord) => void;
  /** `sync.reconcileOverlapSeconds`: how far behind its cursor a connector's own change listing re-reads. */
  reconcileOverlapMs?: number;
}

/**
 * Everything the service needs to know about one CRM, provided by the CRM's own folder and listed in crm/vendors.ts,
 * so that the engine, the service and the HTTP server name no vendor.
 */
export interface CrmVendor<Config extends { name: string }> {
  kind: CrmKind;
  /** The `api` label of its calls in metrics and readiness. */
  api: string;
  /** Its section of the configuration file (`dynamics:`, `salesforce:`). */
  configSchema: z.ZodType<Config>;
  /** The mapping shipped for it (mappings/<kind>.yaml), located relative to this module, not the working directory. */
  defaultMappingPath: string;
  /** Options for loading its mapping file (Dynamics: the publisher prefix of the configured solution). */
  mappingOptions(config: Config): { prefix?: string };
  createConnector(config: Config, deps: ConnectorDeps): Promise<CrmConnector>;
  notificationRoute: NotificationRoute;
  /**
   * The decoder for the configured connection, secrets resolved (a bad one is a ConfigError naming the setting);
   * undefined when the connection takes no notifications over HTTP.
   */
  notificationDecoder(config: Config, env?: ResolveSecretOptions['env']): Promise<NotificationDecoder | undefined>;
  /** Reads which columns a stored notification changed, where the vendor's notifications say so (Dataverse, Salesforce CDC). */
  notifiedChanges?: NotifiedChangesReader;
}
