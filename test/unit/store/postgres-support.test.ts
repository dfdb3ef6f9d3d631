import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../support/postgres.ts';

describe('PostgreSQL test support', () => {
  it('creates a database of its own that accepts connections and drops it', async () => {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    await client.end();
    expect(database.url.endsWith(`/${rows[0]?.name}`)).toBe(true);
    await database.drop();
    const again = new pg.Client({ connectionString: database.url });
    await expect(again.connect()).rejects.toThrow(/does not exist/);
  });
});
