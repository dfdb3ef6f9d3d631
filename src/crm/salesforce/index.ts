export { SalesforceConnector, SAME_SECOND_SETTLE_MS, type SalesforceConnectorOptions } from './salesforce-connector.ts';
export { SalesforceClient, type SalesforceClientOptions } from './salesforce-client.ts';
export { createSalesforceConnector, salesforceAuthenticator, salesforceConnectorOptions, type SalesforceConnectorDeps } from './factory.ts';
export { salesforceConfigSchema, type SalesforceConfig, type SalesforceConfigInput } from '../../config/salesforce.ts';
export { ClientCredentialsAuthenticator, JwtBearerAuthenticator, signJwtAssertion, type SalesforceAuthenticator, type SalesforceGrant } from './auth.ts';
export { setupSalesforce, setupInstructions, SalesforceSetupError, type SetupSalesforceOptions, type SetupProgress, type SetupReport } from './provisioning.ts';
export { COLLECTION_LIMIT } from './bulk-create.ts';
export { cdcCursorKey, changeEventChannel, isOwnChange } from './change-stream.ts';
export {
  ackResponse,
  outboundRefs,
  parseOutboundMessage,
  verifyOrganization,
  ACK_CONTENT_TYPE,
  OUTBOUND_NAMESPACE,
  OutboundMessageParseError,
  type OutboundMessage,
  type OutboundNotification,
} from './outbound-message.ts';
export { FIELDS, ASSISTANCE_VALUES, SYNC_STATUS_VALUES, customFieldSpecs } from './custom-fields.ts';
export { DAILY_LIMIT_RETRY_MS } from './salesforce-errors.ts';
