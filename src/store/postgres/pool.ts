import pg from 'pg';

export interface PostgresPoolOptions {
  /** postgres://user:password@host:port/database — resolved from its secret reference by the caller. */
  url: string;
  pool: { max: number };
  /** Absent: TLS as the URL says (sslmode), or none. */
  ssl?: { rejectUnauthorized: boolean; ca?: string | undefined } | undefined;
  /** Shown in pg_stat_activity, so an operator can tell our connections apart. */
  applicationName: string;
}

/**
 * A pg.Pool for the store. Errors of idle clients (the server restarted, a network blip) would otherwise be an
 * unhandled 'error' event that ends the process; the pool drops such a client and the next query opens a new one.
 * Every client also gets its own error listener when it connects: a client checked out when its connection dies (a
 * held advisory-lock session, graphile-worker's LISTEN client) emits 'error' on itself, not on the pool, and
 * graphile-worker warns about pool clients without one. The query under way still rejects with the error.
 */
export function createPool(options: PostgresPoolOptions, onIdleError?: (message: string) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.pool.max,
    application_name: options.applicationName,
    ...(options.ssl ? { ssl: { rejectUnauthorized: options.ssl.rejectUnauthorized, ...(options.ssl.ca !== undefined ? { ca: options.ssl.ca } : {}) } } : {}),
  });
  const report = (error: Error): void => onIdleError?.(redactUrl(error.message, options.url));
  pool.on('error', report);
  pool.on('connect', (client) => {
    client.on('error', report);
  });
  return pool;
}

/** The URL as it may be shown: its password replaced. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable PostgreSQL URL)';
  }
}

/** Removes the URL's password from a message (a driver error may quote the connection string). */
export function redactUrl(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return message;
  }
  return password ? message.split(password).join('***') : message;
}

/** Runs `work` in one transaction on one client: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A `pg.Pool` or a client inside a transaction: what a one-statement helper runs its query on. */
export type Queryable = Pick<pg.ClientBase, 'query'>;
