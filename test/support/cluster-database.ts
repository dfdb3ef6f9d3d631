import { randomBytes } from 'node:crypto';
import pg from 'pg';

/*
 * A fresh database for a benchmark run (outside vitest, so without postgres.ts's injected server): created on the
 * server COSELL_TEST_DATABASE_URL names (default: the local one, trust auth), dropped afterwards.
 */

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(prefix = 'cosell_bench'): Promise<BenchDatabase> {
  const server = process.env.COSELL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient(server, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => withClient(server, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}

async function withClient<T>(server: string, task: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
}
