import { fileURLToPath } from 'node:url';
import type { CrmVendor } from '../vendor.ts';
import { salesforceConfigSchema, type SalesforceConfig } from '../../config/salesforce.ts';
import { cdcChangedFields } from './cdc-changes.ts';
import { createSalesforceConnector } from './factory.ts';
import { outboundMessageDecoder, SALESFORCE_NOTIFICATION_ROUTE } from './notifications.ts';
import { outboundEndpointOf } from './outbound-endpoint.ts';

export const SALESFORCE_VENDOR: CrmVendor<SalesforceConfig> = {
  kind: 'salesforce',
  api: 'salesforce',
  configSchema: salesforceConfigSchema,
  defaultMappingPath: fileURLToPath(new URL('../../../mappings/salesforce.yaml', import.meta.url)),
  mappingOptions: () => ({}),
  createConnector: (config, deps) => createSalesforceConnector(config, deps),
  notificationRoute: SALESFORCE_NOTIFICATION_ROUTE,
  async notificationDecoder(config, env) {
    const endpoint = await outboundEndpointOf(config, env);
    return endpoint ? outboundMessageDecoder(endpoint) : undefined;
  },
  // Change Data Capture events say which fields changed (Outbound Messages do not: their rows read as null).
  notifiedChanges: cdcChangedFields,
};
