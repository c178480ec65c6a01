import { isDatabaseUnavailable } from './database';

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
