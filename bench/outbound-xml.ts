/**
 * Hostile Outbound Message benchmark: POST /webhooks/salesforce in-process (fastify inject, real SQLite inbox), fed XML
 * bombs and forged messages, with and without the endpoint secret.
 *
 *   npm run bench:outbound-xml [-- --requests 2000]
 *
 * Prints, per kind of body: its size, the status it gets and the median time per request; then the RSS and heap before
 * and after `--requests` hostile requests in a row (bodies cycled). Figures are printed, never asserted.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { parseConfig } from '../src/config/load.ts';
import { sqliteStoreConfig } from '../src/config/schema.ts';
import { OutboundEndpointSecret } from '../src/crm/salesforce/outbound-endpoint.ts';
import { outboundMessageDecoder } from '../src/crm/salesforce/notifications.ts';
import { CertificateSource } from '../src/partner-center/certificate-source.ts';
import { WebhookSignatureVerifier } from '../src/partner-center/signature.ts';
import { buildPublicApp } from '../src/server/app.ts';
import { Metrics } from '../src/server/metrics.ts';
import { SqliteStore } from '../src/store/sqlite/index.ts';
import { silentLogger } from '../src/util/logger.ts';
import { makeTempDir } from '../test/support/tmp.ts';
import { positiveInteger } from './support/cli.ts';

const { requests } = new Command('bench:outbound-xml')
  .description('hostile Salesforce Outbound Messages against the webhook route')
  .option('--requests <n>', 'hostile requests in a row', positiveInteger, 2000)
  .allowExcessArguments(false)
  .showHelpAfterError()
  .parse()
  .opts<{ requests: number }>();

const SECRET = 'bench-outbound-secret-0123456789abcdefghij';
const ORG = '00D000000000001AAA';

const envelope = (notifications: string[], sObjectAttributes = ''): string =>
  `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>` +
  `<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${ORG}</OrganizationId><ActionId>04k000000000001AAA</ActionId>` +
  notifications.map((n) => n.replace('<sObject ', `<sObject${sObjectAttributes} `)).join('') +
  '</notifications></soapenv:Body></soapenv:Envelope>';
const notification = (i: number): string =>
  `<Notification><Id>04l${String(i).padStart(12, '0')}</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>006${String(i + 1).padStart(12, '0')}AAA</sf:Id></sObject></Notification>`;

const lol = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('');
const kinds: Array<{ name: string; body: string; path: string }> = [
  {
    name: 'namespace bomb (1,500 declarations on the root, 20,000 elements)',
    body: `<r${Array.from({ length: 1_500 }, (_, i) => ` xmlns:n${i}="u"`).join('')}>${'<a/>'.repeat(20_000)}</r>`,
    path: `/webhooks/salesforce/${SECRET}`,
  },
  {
    name: 'namespace bomb spread within per-element limits (225 in scope, 19,000 elements)',
    body:
      Array.from({ length: 15 }, (_, d) => `<d${d}${Array.from({ length: 15 }, (_, i) => ` xmlns:p${d}x${i}="urn:${d}:${i}"`).join('')}>`).join('') +
      '<a>x</a>'.repeat(19_000) +
      Array.from({ length: 15 }, (_, d) => `</d${14 - d}>`).join(''),
    path: `/webhooks/salesforce/${SECRET}`,
  },
  { name: 'billion laughs', body: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${lol}]><lolz>&lol9;</lolz>`, path: `/webhooks/salesforce/${SECRET}` },
  { name: 'nesting 20,000 deep', body: `${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}`, path: `/webhooks/salesforce/${SECRET}` },
  {
    name: '5,000 attributes on one element',
    body: envelope([notification(1)], Array.from({ length: 5_000 }, (_, i) => ` a${i}="v"`).join('')),
    path: `/webhooks/salesforce/${SECRET}`,
  },
  { name: 'forged: 1,000 notifications, no secret', body: envelope(Array.from({ length: 1_000 }, (_, i) => notification(i))), path: '/webhooks/salesforce' },
  { name: '101 notifications, with the secret', body: envelope(Array.from({ length: 101 }, (_, i) => notification(i))), path: `/webhooks/salesforce/${SECRET}` },
];

const tmp = makeTempDir('cosell-bench-');
const config = parseConfig('bench', { store: { path: join(tmp.path, 'cosell.db') }, partnerCenter: { referralsApiUrl: 'http://127.0.0.1:9', webhooksApiUrl: 'http://127.0.0.1:9' } });
const store = SqliteStore.open({ path: sqliteStoreConfig(config.store, 'the bench').path, synchronous: 'normal' });
const app = await buildPublicApp({
  store,
  logger: silentLogger(),
  metrics: new Metrics(),
  verifier: new WebhookSignatureVerifier(config.partnerCenter.webhooks, new CertificateSource(config.partnerCenter.webhooks)),
  bodyLimitBytes: config.server.bodyLimitBytes,
  trustProxy: false,
  crmNotifications: { salesforce: { decoder: outboundMessageDecoder({ name: 'salesforce', organizationId: ORG, secret: new OutboundEndpointSecret(SECRET) }) } },
});

const post = (kind: { body: string; path: string }) =>
  app.inject({ method: 'POST', url: kind.path, headers: { 'content-type': 'text/xml; charset=utf-8' }, payload: kind.body });

console.log('kind | KiB | status | median ms');
for (const kind of kinds) {
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < 20; i += 1) {
    const started = performance.now();
    status = (await post(kind)).statusCode;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`${kind.name} | ${(Buffer.byteLength(kind.body) / 1024).toFixed(0)} | ${status} | ${(times[10] ?? Number.NaN).toFixed(1)}`);
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const before = process.memoryUsage();
const startedAll = performance.now();
for (let i = 0; i < requests; i += 1) await post(kinds[i % kinds.length] as (typeof kinds)[number]);
const after = process.memoryUsage();
console.log(
  `${requests} hostile requests in ${((performance.now() - startedAll) / 1000).toFixed(1)} s: RSS ${mb(before.rss)} → ${mb(after.rss)} MB, ` +
    `heap used ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, events stored: ${await store.inbox.count('salesforce')}`,
);
await app.close();
await store.close();
tmp.cleanup();
