export { DynamicsConnector, type DynamicsConnectorOptions } from './dynamics-connector.ts';
export { DataverseClient, type DataverseClientOptions } from './dataverse-client.ts';
export { createDynamicsConnector, dynamicsTokenProvider, dynamicsWebhookAuth, type DynamicsConnectorDeps } from './factory.ts';
export { dynamicsConfigSchema, type DynamicsConfig, type DynamicsConfigInput } from '../../config/dynamics.ts';
export { setupDynamics, DynamicsSetupError, type SetupDynamicsOptions, type SetupProgress, type SetupReport } from './provisioning.ts';
export {
  parseDataverseWebhook,
  verifyWebhookAuth,
  DataverseWebhookParseError,
  DEFAULT_WEBHOOK_HEADER,
  type DataverseWebhookEvent,
  type DynamicsWebhookAuth,
  type WebhookAuthResult,
} from './webhook.ts';
export { customColumnNames, SYNC_STATUS_OPTIONS, ASSISTANCE_LABELS, ASSISTANCE_OPTION_BASE, type CustomColumnNames } from './custom-columns.ts';
