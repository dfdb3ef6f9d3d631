import { describe, expect, it } from 'vitest';
import { describeStoreLocation, postgresLocation } from '../../../src/store/open.ts';

describe('postgresLocation', () => {
  it('names host, port and database, never the credentials', () => {
    const location = postgresLocation('postgres://cosell:s3cret@db.internal:6432/cosell_prod');
    expect(location).toEqual({ driver: 'postgres', host: 'db.internal:6432', database: 'cosell_prod' });
    expect(describeStoreLocation(location)).toBe('db.internal:6432/cosell_prod');
  });

  it('falls back as libpq does: the user name for a missing database, the socket directory for host', () => {
    expect(postgresLocation('postgres://cosell@db.internal')).toEqual({ driver: 'postgres', host: 'db.internal', database: 'cosell' });
    expect(postgresLocation('postgresql:///cosell?host=/var/run/postgresql')).toEqual({ driver: 'postgres', host: '/var/run/postgresql', database: 'cosell' });
  });

  it('shows a SQLite store as its path', () => {
    expect(describeStoreLocation({ driver: 'sqlite', path: '/var/lib/cosell/cosell.db' })).toBe('/var/lib/cosell/cosell.db');
  });
});
