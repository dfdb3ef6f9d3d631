/**
 * One HTTP attempt against a vendor API (Partner Center, Dataverse, Salesforce, their token endpoints), for metrics and
 * readiness. `route` is a template (`opportunities({id})`), never an id, so label cardinality stays bounded.
 */
export interface HttpCallRecord {
  /** `referrals`, `webhooks`, `dataverse`, `salesforce`. */
  api: string;
  method: string;
  route: string;
  status: number | 'network-error';
  durationMs: number;
  /** 1 for the first attempt of a call, 2 for its first retry, … */
  attempt: number;
}

export type CallRecorder = (call: HttpCallRecord) => void;
