import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.ts';
import { CertificateSource } from './partner-center/certificate-source.ts';
import { WebhookSignatureVerifier } from './partner-center/signature.ts';
import { Metrics } from './server/metrics.ts';
import { buildApp } from './server/app.ts';
import { SqliteStore } from './store/sqlite/index.ts';
import type { Store } from './store/types.ts';
import type { Logger } from './util/logger.ts';

export interface RunningService {
  url: string;
  app: FastifyInstance;
  store: Store;
  metrics: Metrics;
  close(): Promise<void>;
}

/** Everything `cosell start` runs, as a value tests and `npm start` can hold and stop. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const store = SqliteStore.open({ path: config.store.path, synchronous: config.store.synchronous });
  try {
    const metrics = new Metrics();
    const verifier = new WebhookSignatureVerifier(
      config.partnerCenter.webhooks,
      new CertificateSource(config.partnerCenter.webhooks),
    );
    const app = await buildApp({ store, logger, metrics, verifier, bodyLimitBytes: config.server.bodyLimitBytes });
    await app.listen({ host: config.server.host, port: config.server.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    logger.info({ url, store: config.store.path }, 'cosell-sync service listening');
    let closed = false;
    return {
      url,
      app,
      store,
      metrics,
      async close() {
        if (closed) return;
        closed = true;
        await app.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
