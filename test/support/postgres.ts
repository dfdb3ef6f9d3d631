import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import './postgres-global-setup.ts';

export interface TestDatabase {
  /** Connection URL of a database no other test uses. */
  url: string;
  /** Drops the database (ending its connections first). */
  drop(): Promise<void>;
}

/** The server tests create their databases on (see postgres-global-setup.ts). */
export function postgresServerUrl(): string {
  return inject('postgresUrl');
}

/** Creates an empty database of its own for one test (or one file's tests) on the test server. */
export async function createTestDatabase(prefix = 'cosell_test'): Promise<TestDatabase> {
  const server = postgresServerUrl();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin(server, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(server, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(server: string, task: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
}
