/**
 * A cluster instance reduced to its leadership, run as a child process so a test can SIGKILL it (the honest way to
 * kill a leader: the OS closes its socket, nothing in our code runs). Prints `leader true` / `leader false` lines.
 * Usage: node --import tsx test/support/leadership-child.ts <database url> <retry ms>
 */
import { PostgresLeadership } from '../../src/store/postgres/leadership.ts';
import { silentLogger } from '../../src/util/logger.ts';

const [url, retryMs] = process.argv.slice(2);
if (!url || !retryMs) throw new Error('usage: leadership-child.ts <database url> <retry ms>');
const leadership = new PostgresLeadership({ connection: url, log: silentLogger(), retryMs: Number(retryMs), applicationName: 'cosell-leadership-child' });
leadership.onChange((leader) => process.stdout.write(`leader ${leader}\n`));
// The leadership's timers do not hold the process; this does, until the test kills it.
setInterval(() => undefined, 60_000);
await leadership.start();
