import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.ts';
import type { CrmConnector } from './crm/connector.ts';
import { dynamicsWebhookAuth } from './crm/dynamics/factory.ts';
import { outboundEndpointOf } from './crm/salesforce/outbound-endpoint.ts';
import { CertificateSource } from './partner-center/certificate-source.ts';
import { partnerCenterClients } from './partner-center/from-config.ts';
import { WebhookSignatureVerifier } from './partner-center/signature.ts';
import { Metrics } from './server/metrics.ts';
import { buildApp } from './server/app.ts';
import { SqliteStore } from './store/sqlite/index.ts';
import { startRetentionSchedule } from './store/sqlite/retention.ts';
import type { Store } from './store/types.ts';
import { createEngine, loadConnections, type Engine } from './sync/engine.ts';
import type { Logger } from './util/logger.ts';

export interface RunningService {
  url: string;
  app: FastifyInstance;
  store: Store;
  metrics: Metrics;
  engine: Engine | undefined;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Run the worker and the periodic reconciler (default true). Tests turn it off to drive the engine themselves. */
  runEngine?: boolean;
}

/** The connector's echo recognition, bound to it (a connection without one syncs every notification). */
const ownWriteCheckOf = (connector: CrmConnector | undefined) => connector?.isOwnWrite?.bind(connector);

/** Everything `cosell start` runs, as a value tests and `npm start` can hold and stop. */
export async function startService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<RunningService> {
  const store = SqliteStore.open({ path: config.store.path, synchronous: config.store.synchronous });
  let engine: Engine | undefined;
  try {
    // Before any connection is made: a missing or malformed endpoint secret is a configuration error (exit code 2).
    const salesforceWebhook = config.salesforce ? await outboundEndpointOf(config.salesforce) : undefined;
    const metrics = new Metrics();
    const verifier = new WebhookSignatureVerifier(
      config.partnerCenter.webhooks,
      new CertificateSource(config.partnerCenter.webhooks),
    );
    const connections = await loadConnections(config, logger, metrics.recordApiCall);
    if (connections.size > 0) {
      const { referrals } = await partnerCenterClients(config.partnerCenter, { logger, onCall: metrics.recordApiCall });
      engine = createEngine({ config, store, referrals, connections, logger, onJobOutcome: metrics.recordJob });
      metrics.watchQueueDepth(() => store.jobs.depth());
    }
    const dynamicsAuth = config.dynamics ? await dynamicsWebhookAuth(config.dynamics) : undefined;
    const app = await buildApp({
      store,
      logger,
      metrics,
      verifier,
      bodyLimitBytes: config.server.bodyLimitBytes,
      engine,
      dynamicsWebhook: config.dynamics && dynamicsAuth ? { name: config.dynamics.name, auth: dynamicsAuth, isOwnWrite: ownWriteCheckOf(connections.get(config.dynamics.name)?.connector) } : undefined,
      salesforceWebhook,
    });
    await app.listen({ host: config.server.host, port: config.server.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    if (engine && options.runEngine !== false) engine.start();
    const retention = startRetentionSchedule(store.compactor, config.store.retention, logger.child({ component: 'retention' }));
    logger.info({ url, store: config.store.path, connections: engine ? [...engine.connections.keys()] : [] }, 'cosell-sync service listening');
    let closed = false;
    const running: RunningService = {
      url,
      app,
      store,
      metrics,
      engine,
      async close() {
        if (closed) return;
        closed = true;
        await app.close();
        await engine?.stop();
        await retention.stop();
        await store.close();
      },
    };
    return running;
  } catch (error) {
    await engine?.stop();
    await store.close();
    throw error;
  }
}
