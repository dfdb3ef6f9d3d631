// A job runner in a process of its own, for crash tests: it prints "claimed <key>" when a job starts and never finishes
// it, so the test can SIGKILL it mid-job. Usage: node --import tsx pg-job-runner-child.ts <database url> <unlock ms>
import pg from 'pg';
import pino from 'pino';
import { PostgresJobQueue } from '../../src/store/postgres/job-queue.ts';

const [url, unlockMs] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on('error', () => undefined);
pool.on('connect', (client) => client.on('error', () => undefined));
await new PostgresJobQueue(pool).run({
  concurrency: 1,
  logger: pino({ level: 'silent' }),
  pollIntervalMs: 200,
  crashUnlockAfterMs: Number(unlockMs),
  handle: (job) => {
    process.stdout.write(`claimed ${job.key}\n`);
    return new Promise(() => undefined);
  },
});
process.stdout.write('ready\n');
