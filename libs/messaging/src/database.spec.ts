import { createServiceDataSource, isDatabaseUnavailable, migrate, retryWhileDatabaseUnavailable, runtimeRoleOf, runtimeRoleSql } from './database';

describe('isDatabaseUnavailable', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('is true for a server that refuses, resets or is shutting down or starting, and for a lost connection', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001']) expect(isDatabaseUnavailable(withCode(code))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    // typeorm's QueryFailedError carries the driver's error.
    expect(isDatabaseUnavailable(Object.assign(new Error('query failed'), { driverError: withCode('57P03') }))).toBe(true);
  });

  it('is false for a statement that failed: a constraint, a deadlock, bad SQL, anything else', () => {
    for (const code of ['23505', '23514', '40P01', '40001', '42601', '22P02']) expect(isDatabaseUnavailable(withCode(code))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('query failed'), { driverError: withCode('23505') }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('the batch read returned no SELECT result'))).toBe(false);
    expect(isDatabaseUnavailable('not an error')).toBe(false);
  });
});

describe('retryWhileDatabaseUnavailable', () => {
  const unavailable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('tries again while Postgres cannot be reached, and returns what the first success returns', async () => {
    let calls = 0;
    const retried: string[] = [];
    const result = await retryWhileDatabaseUnavailable(
      async () => {
        calls += 1;
        if (calls < 3) throw unavailable();
        return 'committed';
      },
      (e) => retried.push(e.message),
      { waitMs: 1000, delayMs: 10 },
    );
    expect(result).toBe('committed');
    expect(calls).toBe(3);
    expect(retried).toHaveLength(2);
  });

  it('throws any other error at once, without trying again', async () => {
    let calls = 0;
    const constraint = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(
      retryWhileDatabaseUnavailable(
        async () => {
          calls += 1;
          throw constraint;
        },
        () => undefined,
        { waitMs: 1000, delayMs: 10 },
      ),
    ).rejects.toBe(constraint);
    expect(calls).toBe(1);
  });

  it('gives up and throws the outage once the wait is over, so Kafka delivers the batch again later', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      retryWhileDatabaseUnavailable(
        async () => {
          calls += 1;
          throw unavailable();
        },
        () => undefined,
        { waitMs: 100, delayMs: 20 },
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(6);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('migrate', () => {
  it('refuses a pool of one connection at once, which the lock would hold while the migrations waited for it forever', async () => {
    // Nothing listens on port 9: the refusal comes before any connection is tried.
    const source = createServiceDataSource({ url: 'postgres://u:p@127.0.0.1:9/db', schema: 'things', migrations: [], poolSize: 1, service: 'test' });
    await expect(migrate(source, 'things')).rejects.toThrow("migrate needs a pool of at least 2 connections (one holds the lock, the migrations run on another); things's has 1");
  });
});

describe('runtime roles', () => {
  it("names a schema's runtime role after it, and refuses a name that is not a plain identifier", () => {
    expect(runtimeRoleOf('ledger')).toBe('ledger_runtime');
    expect(() => runtimeRoleOf('ledger; DROP ROLE x')).toThrow('schema ledger; DROP ROLE x is not a plain identifier');
    expect(() => createServiceDataSource({ url: 'postgres://u:p@127.0.0.1:9/db', schema: 's', migrations: [], service: 'test', role: 'x -c y=z' })).toThrow('role x -c y=z is not a plain identifier');
  });

  it('grants what it is given, table by table, and the sequences', () => {
    const sql = runtimeRoleSql('things', [
      { tables: ['a', 'b'], privileges: 'SELECT, INSERT' },
      { tables: ['c'], privileges: 'SELECT, UPDATE (balance, remaining), MAINTAIN' },
    ]);
    expect(sql.slice(1)).toEqual([
      'GRANT USAGE ON SCHEMA things TO things_runtime',
      'GRANT SELECT, INSERT ON things.a, things.b TO things_runtime',
      'GRANT SELECT, UPDATE (balance, remaining), MAINTAIN ON things.c TO things_runtime',
      'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA things TO things_runtime',
    ]);
    expect(sql[0]).toContain('CREATE ROLE things_runtime NOLOGIN');
  });

  it('refuses privileges that are not a plain list (ALL, or more SQL) and tables that are not plain names', () => {
    expect(() => runtimeRoleSql('things', [{ tables: ['a'], privileges: 'ALL' }])).toThrow('privileges ALL are not a plain privilege list');
    expect(() => runtimeRoleSql('things', [{ tables: ['a'], privileges: 'SELECT ON things.a TO x; GRANT SELECT' }])).toThrow('are not a plain privilege list');
    expect(() => runtimeRoleSql('things', [{ tables: ['a TO public; --'], privileges: 'SELECT' }])).toThrow('table a TO public; -- is not a plain identifier');
  });
});
