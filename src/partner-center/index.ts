export * from './model.ts';
export { describeIssues } from './describe-issues.ts';
export {
  REFERRAL_EVENT_NAMES,
  dedupKeyFor,
  isReferralEventName,
  parseWebhookEvent,
  type PartnerCenterWebhookEvent,
  type ReferralEventName,
  type WebhookEventParseResult,
} from './webhook-event.ts';
export { PartnerCenterApiError, type PartnerCenterApiErrorInit } from './api-error.ts';
export {
  ApiHttpClient,
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  isRetryable,
  parseRetryAfter,
  templateRoute,
  type ApiCallRecord,
  type ApiHttpClientOptions,
  type ApiRequest,
  type ApiResponse,
  type HttpMethod,
  type RetryPolicy,
} from './http.ts';
export { buildJsonPatch, escapePointerSegment, type FieldChange, type JsonPatchOp, type JsonPatchOperation } from './json-patch.ts';
export {
  DEFAULT_REFERRALS_API_URL,
  InvalidReferralError,
  REFERRALS_PATH,
  ReferralNotFoundError,
  ReferralsClient,
  UnsafeNextLinkError,
  buildODataQuery,
  updatedSince,
  type CallOptions,
  type PatchOptions,
  type ReferralListQuery,
  type ReferralPage,
  type ReferralsClientOptions,
  type VersionedReferral,
} from './referrals-client.ts';
export {
  DEFAULT_WEBHOOKS_API_URL,
  RegistrationExistsError,
  WebhooksClient,
  type TestEventStatus,
  type WebhookRegistration,
  type WebhookRegistrationRequest,
  type WebhooksClientOptions,
} from './webhooks-client.ts';
export {
  CachingTokenProvider,
  ClientCredentialsTokenProvider,
  StaticTokenProvider,
  TokenAcquisitionError,
  type AccessToken,
  type ClientCredentialsTokenOptions,
  type TokenCacheOptions,
  type TokenProvider,
} from './tokens.ts';
export {
  DEFAULT_AUTHORITY_HOST,
  EntraClientCredentialsProvider,
  EntraRefreshTokenProvider,
  REFERRALS_API_SCOPE,
  WEBHOOKS_API_SCOPE,
  type EntraAppOptions,
  type EntraRefreshTokenOptions,
} from './entra-tokens.ts';
