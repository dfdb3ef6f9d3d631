import type { ConfigInput } from './schema.ts';

export const SANDBOX_PORTS = { service: 4100, partnerCenter: 4101, dataverse: 4102, salesforce: 4103 } as const;
export const SANDBOX_DATA_DIR = 'data/sandbox';
export const SANDBOX_ROOT_CERTIFICATE = `${SANDBOX_DATA_DIR}/partner-center-root.pem`;
/** Written by `npm start` on first run; the Dataverse sandbox sends it with every webhook. */
export const SANDBOX_DYNAMICS_WEBHOOK_SECRET = `${SANDBOX_DATA_DIR}/dynamics-webhook.secret`;

/**
 * What "no configuration" means: everything local, talking to the sandboxes on their default ports, with the sandbox's
 * own root CA as the only trust anchor and plain http allowed for its certificate URL alone.
 */
export function sandboxConfig(
  overrides: { servicePort?: number; partnerCenterPort?: number; dataversePort?: number; salesforcePort?: number; storePath?: string } = {},
): ConfigInput {
  const pcPort = overrides.partnerCenterPort ?? SANDBOX_PORTS.partnerCenter;
  const servicePort = overrides.servicePort ?? SANDBOX_PORTS.service;
  const pcHost = `127.0.0.1:${pcPort}`;
  const dataversePort = overrides.dataversePort ?? SANDBOX_PORTS.dataverse;
  const salesforcePort = overrides.salesforcePort ?? SANDBOX_PORTS.salesforce;
  return {
    server: { host: '127.0.0.1', port: servicePort, publicUrl: `http://127.0.0.1:${servicePort}` },
    sync: { reconcileIntervalSeconds: 30, reconcileOverlapSeconds: 60 },
    dynamics: {
      orgUrl: `http://127.0.0.1:${dataversePort}`,
      mode: 'sandbox',
      webhook: { auth: 'HttpHeader', secret: { file: SANDBOX_DYNAMICS_WEBHOOK_SECRET } },
    },
    salesforce: { instanceUrl: `http://127.0.0.1:${salesforcePort}`, mode: 'sandbox', notifications: 'cdc' },
    store: { driver: 'sqlite', path: overrides.storePath ?? `${SANDBOX_DATA_DIR}/cosell.db`, synchronous: 'full' },
    partnerCenter: {
      referralsApiUrl: `http://${pcHost}`,
      webhooksApiUrl: `http://${pcHost}`,
      auth: { mode: 'sandbox', token: 'sandbox-token' },
      webhooks: {
        certificateHosts: [pcHost],
        insecureHttpHosts: [pcHost],
        trustAnchors: [SANDBOX_ROOT_CERTIFICATE],
      },
    },
  };
}
