import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startService, type RunningService } from '../../src/service.ts';
import type { Store } from '../../src/store/types.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { testAdminConfig } from './admin.ts';
import { makeTempDir } from './tmp.ts';
import { ingestOnlyPartnerCenter } from './webhook-signer.ts';

/*
 * The service with no CRM and no Partner Center sandbox, in-process: for the suites that test what it does on its own
 * (the Partner Center webhook route against signatures and attacks, the store's upkeep). Partner Center's APIs are
 * unreachable, so nothing syncs; webhooks are verified against the certificate hosts and trust anchors the suite
 * passes. The sync suites use ServiceHarness (service-harness.ts) instead.
 */

export interface IngestHarnessOptions {
  /** `partnerCenter.webhooks` settings (certificate hosts, limits); `trustAnchors` is filled from `trustAnchorPem`. */
  webhooks?: Record<string, unknown>;
  /** A PEM trust anchor for the webhook certificates, written to a file in the harness directory. */
  trustAnchorPem?: string;
  /** Settings of the `store` section besides its path (synchronous, retention). */
  store?: Omit<NonNullable<ConfigInput['store']>, 'path'>;
}

export class IngestHarness {
  private constructor(
    readonly service: RunningService,
    private readonly tmp: { path: string; cleanup(): void },
  ) {}

  static async start(options: IngestHarnessOptions = {}): Promise<IngestHarness> {
    const tmp = makeTempDir('cosell-ingest-');
    try {
      const anchors = options.trustAnchorPem === undefined ? [] : [join(tmp.path, 'anchors.pem')];
      if (options.trustAnchorPem !== undefined) writeFileSync(anchors[0] as string, options.trustAnchorPem);
      const config = parseConfig('ingest harness', {
        server: { host: '127.0.0.1', port: 0 },
        admin: testAdminConfig(),
        store: { ...options.store, path: join(tmp.path, 'cosell.db') },
        log: { level: 'silent' },
        partnerCenter: ingestOnlyPartnerCenter({ ...options.webhooks, ...(anchors.length > 0 ? { trustAnchors: anchors } : {}) }),
      });
      return new IngestHarness(await startService(config, silentLogger()), tmp);
    } catch (error) {
      tmp.cleanup();
      throw error;
    }
  }

  /** The public listener (webhooks, /healthz). */
  get url(): string {
    return this.service.url;
  }

  /** The admin listener (API, /metrics). */
  get adminUrl(): string {
    return this.service.adminUrl;
  }

  get store(): Store {
    return this.service.store;
  }

  async close(): Promise<void> {
    await this.service.close().catch(() => undefined);
    this.tmp.cleanup();
  }
}
