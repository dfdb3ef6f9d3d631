export * from './model.ts';
export { describeIssues } from '../util/describe-issues.ts';
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
  isRetryable,
  templateRoute,
  type ApiHttpClientOptions,
  type ApiRequest,
  type ApiResponse,
  type HttpMethod,
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
