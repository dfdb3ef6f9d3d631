import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { makeTempDir } from '../support/tmp.ts';
import { freePort, spawnService } from '../support/service-process.ts';
import { CertificateHost, ingestOnlyPartnerCenter, makeIdentity, partnerCenterEvent, signedHeaders } from '../support/webhook-signer.ts';

/**
 * Persist-before-ack: the service is SIGKILLed while requests are in flight; every request that got a 2xx must be in
 * the inbox afterwards. Several trials kill at different points of the stream.
 */
describe('SIGKILL right after 2xx loses no acknowledged event', () => {
  const tmp = makeTempDir();
  const certHost = new CertificateHost();
  let certUrl = '';
  let privateKeyPem = '';
  let anchorFile = '';

  beforeAll(async () => {
    await certHost.start();
    const identity = await makeIdentity();
    certUrl = certHost.serve('/signing.cer', identity.leaf.certificateDer);
    privateKeyPem = identity.leaf.privateKeyPem;
    anchorFile = join(tmp.path, 'anchor.pem');
    writeFileSync(anchorFile, identity.ca.certificatePem);
  });
  afterAll(async () => {
    await certHost.stop();
    tmp.cleanup();
  });

  it('keeps every acknowledged event across 5 kill trials', async () => {
    const dbPath = join(tmp.path, 'crash.db');
    const acknowledged = new Set<string>();
    for (let trial = 0; trial < 5; trial++) {
      const port = await freePort();
      const service = await spawnService(
        tmp.path,
        {
          server: { host: '127.0.0.1', port },
          store: { path: dbPath },
          log: { level: 'warn' },
          partnerCenter: ingestOnlyPartnerCenter({
            certificateHosts: [certHost.host],
            insecureHttpHosts: [certHost.host],
            trustAnchors: [anchorFile],
          }),
        },
        port,
      );
      const killAfter = 20 + trial * 15;
      let acks = 0;
      const send = async (): Promise<void> => {
        const referralId = randomUUID();
        const body = partnerCenterEvent(referralId);
        try {
          const res = await fetch(`${service.url}/webhooks/partner-center`, {
            method: 'POST',
            body,
            headers: signedHeaders(body, privateKeyPem, certUrl),
          });
          if (res.status === 200) {
            acknowledged.add(referralId);
            if (++acks === killAfter) service.child.kill('SIGKILL');
          }
        } catch {
          // the process died under this request: it was never acknowledged, so it may be lost
        }
      };
      // 8 concurrent senders so requests are in every stage of processing when the kill lands
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (service.child.exitCode === null && service.child.signalCode === null) await send();
        }),
      );
      expect(acks).toBeGreaterThanOrEqual(killAfter);
    }

    const store = SqliteStore.open({ path: dbPath, synchronous: 'full' });
    try {
      const stored = new Set((await store.inbox.list({ limit: 100_000 })).map((e) => e.resourceId));
      const missing = [...acknowledged].filter((id) => !stored.has(id));
      expect(acknowledged.size).toBeGreaterThan(100);
      expect(missing).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
