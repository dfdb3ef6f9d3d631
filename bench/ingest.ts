/**
 * Webhook ingest benchmark: the real service (child process, SQLite inbox with synchronous=FULL) on loopback, fed
 * correctly signed, distinct Partner Center events over keep-alive connections.
 *
 *   npm run bench:ingest [-- --rate 2000 --seconds 5 --concurrency 64]
 *
 * Phase 1 (open loop) sends at a fixed rate and reports latency percentiles; phase 2 (closed loop) reports the maximum
 * verified events/s. Figures are printed, never asserted.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { makeTempDir } from '../test/support/tmp.ts';
import { freePort, spawnService } from '../test/support/service-process.ts';
import { CertificateHost, ingestOnlyPartnerCenter, makeIdentity, partnerCenterEvent, signedHeaders } from '../test/support/webhook-signer.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '64' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const tmp = makeTempDir('cosell-bench-');
const certHost = await new CertificateHost().start();
const identity = await makeIdentity();
const certUrl = certHost.serve('/signing.cer', identity.leaf.certificateDer);
const anchor = join(tmp.path, 'anchor.pem');
writeFileSync(anchor, identity.ca.certificatePem);

// Enough distinct events for both phases at up to 5,000/s; past that they wrap and arrive as redeliveries.
const total = Math.ceil(rate * seconds * 1.1) + 200 + 5_000 * seconds;
process.stderr.write(`signing ${total} distinct events...\n`);
const requests = Array.from({ length: total }, () => {
  const body = partnerCenterEvent(randomUUID());
  return { body, headers: signedHeaders(body, identity.leaf.privateKeyPem, certUrl) };
});

const port = await freePort();
const service = await spawnService(
  tmp.path,
  {
    server: { host: '127.0.0.1', port },
    store: { path: join(tmp.path, 'bench.db'), synchronous: 'full' },
    log: { level: 'warn' },
    partnerCenter: ingestOnlyPartnerCenter({ certificateHosts: [certHost.host], insecureHttpHosts: [certHost.host], trustAnchors: [anchor] }),
  },
  port,
);
const pool = new Pool(service.url, { connections: concurrency, pipelining: 1 });
let next = 0;
let failures = 0;

async function sendOne(): Promise<number> {
  const r = requests[next++ % requests.length] as (typeof requests)[number];
  const start = performance.now();
  const res = await pool.request({ path: '/webhooks/partner-center', method: 'POST', body: r.body, headers: r.headers });
  await res.body.dump();
  if (res.statusCode !== 200) failures++;
  return performance.now() - start;
}

// warm-up: certificate fetch, JIT, SQLite page cache
await Promise.all(Array.from({ length: 200 }, () => sendOne()));

// Phase 1: open loop at a fixed rate
const latencies: number[] = [];
const openStart = performance.now();
const inflight: Promise<void>[] = [];
const count = Math.round(rate * seconds);
for (let i = 0; i < count; i++) {
  const due = openStart + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  inflight.push(sendOne().then((ms) => void latencies.push(ms)));
}
await Promise.all(inflight);
const openElapsed = (performance.now() - openStart) / 1000;
latencies.sort((a, b) => a - b);

// Phase 2: closed loop, maximum throughput
let done = 0;
const closedStart = performance.now();
const deadline = closedStart + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await sendOne();
      done++;
    }
  }),
);
const closedElapsed = (performance.now() - closedStart) / 1000;

await pool.close();
service.child.kill('SIGTERM');
await new Promise((r) => service.child.once('exit', r));
await certHost.stop();
tmp.cleanup();

const fmt = (n: number) => n.toFixed(2);
console.log(`bench:ingest — signed Partner Center webhooks → verified → durable SQLite inbox (synchronous=FULL), loopback`);
console.log(`open loop  : target ${rate} events/s for ${seconds}s → achieved ${(count / openElapsed).toFixed(0)} events/s`);
console.log(`             latency p50 ${fmt(percentile(latencies, 50))} ms · p90 ${fmt(percentile(latencies, 90))} ms · p99 ${fmt(percentile(latencies, 99))} ms · max ${fmt(latencies[latencies.length - 1] ?? Number.NaN)} ms`);
console.log(`closed loop: ${concurrency} concurrent → ${(done / closedElapsed).toFixed(0)} verified events/s`);
console.log(`non-200 responses: ${failures}`);
