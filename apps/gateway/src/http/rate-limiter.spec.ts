import { TokenBuckets } from './rate-limiter';
import { identifierProblem } from './identifier';

describe('TokenBuckets', () => {
  it('allows the burst, then refuses with the seconds until a token is back, and refills at the rate', () => {
    let now = 0;
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 }, 10, () => now);
    expect([1, 2, 3].map(() => buckets.take('m').allowed)).toEqual([true, true, true]);
    expect(buckets.take('m')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now = 500;
    expect(buckets.take('m').allowed).toBe(true);
    expect(buckets.take('m').allowed).toBe(false);
  });

  it('keeps one bucket per key', () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, 10, () => 0);
    expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
    expect(buckets.take('b').allowed).toBe(true);
  });

  it('forgets the least recently used key past keysMax, never more than that many', () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, 2, () => 0);
    buckets.take('a');
    buckets.take('b');
    buckets.take('a');
    buckets.take('c');
    // b was least recently used, so it starts again full; a is still empty.
    expect(buckets.take('b').allowed).toBe(true);
    expect(buckets.take('c').allowed).toBe(false);
  });
});

describe('identifierProblem', () => {
  it('counts code points as JSON Schema maxLength does, and refuses control characters and lone surrogates', () => {
    expect(identifierProblem('😀'.repeat(128))).toBeNull();
    expect(identifierProblem('😀'.repeat(129))).toBe('is too long');
    expect(identifierProblem('a\u0000b')).toBe('has control characters');
    expect(identifierProblem('a\u007fb')).toBe('has control characters');
    expect(identifierProblem('a\ud800b')).toBe('has a lone surrogate');
    expect(identifierProblem('\udc00')).toBe('has a lone surrogate');
    expect(identifierProblem('')).toBe('must be a non-empty string');
    expect(identifierProblem(5)).toBe('must be a non-empty string');
  });
});
