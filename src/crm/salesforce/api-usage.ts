import type { Logger } from '../../util/logger.ts';

/*
 * The daily API allocation ("API Request Limits and Allocations") as every REST response reports it:
 * `Sforce-Limit-Info: api-usage=n/max`. Exceeding it stops the integration for the rest of a rolling 24 h, so crossing
 * 80 % is worth a warning — once per 5 % step rather than on every call.
 */

export const USAGE_WARNING_RATIO = 0.8;

export interface ApiUsageSnapshot {
  used: number;
  max: number;
}

export function parseLimitInfo(header: string | undefined): ApiUsageSnapshot | undefined {
  // The header may also carry `per-app-api-usage=n/max(appName=…)`, the connected app's own share: not the org's limit.
  const match = header ? /(?:^|[\s,;])api-usage=(\d+)\/(\d+)/.exec(header) : null;
  if (!match) return undefined;
  const used = Number(match[1]);
  const max = Number(match[2]);
  return max > 0 ? { used, max } : undefined;
}

export class ApiUsageMonitor {
  private latest: ApiUsageSnapshot | undefined;
  private warnedStep = -1;

  constructor(private readonly logger: Logger) {}

  observe(header: string | undefined): void {
    const usage = parseLimitInfo(header);
    if (!usage) return;
    this.latest = usage;
    const ratio = usage.used / usage.max;
    if (ratio < USAGE_WARNING_RATIO) {
      this.warnedStep = -1;
      return;
    }
    const step = Math.floor(ratio * 20);
    if (step <= this.warnedStep) return;
    this.warnedStep = step;
    this.logger.warn(
      { api: 'salesforce', used: usage.used, max: usage.max, percent: Math.round(ratio * 100) },
      'Salesforce daily API allocation above 80 %: at 100 % every call fails with REQUEST_LIMIT_EXCEEDED until usage rolls off',
    );
  }

  snapshot(): ApiUsageSnapshot | undefined {
    return this.latest ? { ...this.latest } : undefined;
  }
}
