import { fileURLToPath } from 'node:url';
import type { CrmVendor } from '../vendor.ts';
import { dynamicsConfigSchema, type DynamicsConfig } from '../../config/dynamics.ts';
import { createDynamicsConnector, dynamicsWebhookAuth } from './factory.ts';
import { dataverseNotificationDecoder, DYNAMICS_NOTIFICATION_ROUTE } from './notifications.ts';
import { changedColumns } from './webhook.ts';

export const DYNAMICS_VENDOR: CrmVendor<DynamicsConfig> = {
  kind: 'dynamics',
  api: 'dataverse',
  configSchema: dynamicsConfigSchema,
  defaultMappingPath: fileURLToPath(new URL('../../../mappings/dynamics.yaml', import.meta.url)),
  mappingOptions: (config) => ({ prefix: config.prefix }),
  createConnector: (config, deps) => createDynamicsConnector(config, deps),
  notificationRoute: DYNAMICS_NOTIFICATION_ROUTE,
  async notificationDecoder(config, env) {
    const auth = await dynamicsWebhookAuth(config, env);
    return auth ? dataverseNotificationDecoder(config.name, auth) : undefined;
  },
  notifiedChanges: changedColumns,
};
