/**
 * How long each vendor client takes to give up on a host that accepts the TCP connection and never answers, with the
 * default limits (connect / headers / body, retry policy): those of the service (`cosell start`) and those of the
 * commands a person runs (`init`, `setup`, `mapping check`, …: INTERACTIVE_HTTP_TIMEOUTS, no retry after a timeout).
 * Prints one line per client and mode; asserts nothing.
 *
 *   npm run bench:silent-host [-- pc|dataverse|salesforce] [--service|--interactive]
 */
import { createServer, type Socket } from 'node:net';
import { Command } from 'commander';
import { DynamicsConnector } from '../src/crm/dynamics/dynamics-connector.ts';
import { SalesforceClient } from '../src/crm/salesforce/salesforce-client.ts';
import { useInteractiveLimits } from '../src/http/outbound.ts';
import { StaticTokenProvider } from '../src/http/tokens.ts';
import { ReferralsClient } from '../src/partner-center/referrals-client.ts';
import { silentLogger } from '../src/util/logger.ts';

const ID = '0f6d4a52-5c1e-4d8e-9a57-3b7f0e0c2a11';

const calls: Record<string, (url: string) => Promise<unknown>> = {
  pc: (url) => new ReferralsClient({ baseUrl: url, tokenProvider: new StaticTokenProvider('token') }).get(ID),
  dataverse: (url) =>
    new DynamicsConnector({ name: 'dynamics', orgUrl: url, tokenProvider: new StaticTokenProvider('token'), logger: silentLogger() }).read(
      { entity: 'opportunity', id: ID },
      [],
    ),
  salesforce: (url) =>
    new SalesforceClient({
      authenticator: { grant: () => Promise.resolve({ accessToken: 'token', instanceUrl: url, userId: undefined, organizationId: undefined }) },
      apiVersion: '62.0',
      callOptionsClient: 'cosell',
      logger: silentLogger(),
    }).send({ method: 'GET', path: '/sobjects/Opportunity/006000000000001AAA', route: 'sobjects/Opportunity/{id}' }),
};

async function measure(name: string, call: (url: string) => Promise<unknown>): Promise<string> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const started = performance.now();
  let outcome: string;
  try {
    await call(url);
    outcome = 'answered (unexpected)';
  } catch (error) {
    outcome = error instanceof Error ? error.message : String(error);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const socket of sockets) socket.destroy();
  server.close();
  return `${name}: gave up after ${seconds} s, ${sockets.length} connection(s): ${outcome}`;
}

const program = new Command('bench:silent-host')
  .description('how long each vendor client takes to give up on a host that never answers')
  .argument('[clients...]', `clients to measure: ${Object.keys(calls).join(', ')} (default all)`)
  .option('--service', "only the service's limits")
  .option('--interactive', "only the interactive commands' limits")
  .showHelpAfterError()
  .parse();
const selected = program.processedArgs[0] as string[];
const unknown = selected.filter((name) => !(name in calls));
if (unknown.length > 0) program.error(`unknown client(s): ${unknown.join(', ')}; expected ${Object.keys(calls).join(', ')}`);
const names = selected.length > 0 ? selected : Object.keys(calls);
const flags = program.opts<{ service?: boolean; interactive?: boolean }>();
const modes = (['service', 'interactive'] as const).filter((mode) => (!flags.service && !flags.interactive) || flags[mode] === true);
// The limits are process-wide: one mode after the other, the clients of a mode side by side.
for (const mode of modes) {
  useInteractiveLimits(mode === 'interactive');
  const results = await Promise.all(names.map((name) => measure(name, calls[name]!)));
  for (const line of results) console.log(`[${mode}] ${line}`);
}
