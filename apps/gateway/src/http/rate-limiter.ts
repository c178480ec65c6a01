/** A token bucket's refill rate and size. */
export interface RateLimit {
  /** Tokens added per second: the sustained rate allowed. */
  readonly perSecond: number;
  /** Bucket size: the burst allowed on top of an idle period. */
  readonly burst: number;
}

/** The answer of a bucket: allowed, or refused with the seconds after which one token is back. */
export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

/**
 * In-memory token buckets, one per key (a merchant, a source IP). Enough for
 * one gateway instance; several instances each allow the limit, so a
 * deployment divides its limits by the instance count or moves the buckets
 * to a shared store. At most `keysMax` buckets are kept: past that the least
 * recently used is forgotten (a forgotten key starts again with a full bucket,
 * which only ever errs on the side of letting requests through).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly keysMax: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    if (!(limit.perSecond > 0 && limit.burst >= 1 && keysMax >= 1)) throw new Error(`invalid rate limit ${JSON.stringify(limit)} / ${keysMax} keys`);
  }

  /** Takes one token for `key`. */
  take(key: string): RateDecision {
    const now = this.nowMs();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, refilledAtMs: now };
    // Re-inserted on every use, so the Map's first key is the least recently used.
    this.buckets.delete(key);
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.refilledAtMs) / 1000) * this.limit.perSecond);
    bucket.refilledAtMs = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    if (this.buckets.size >= this.keysMax) this.buckets.delete(this.buckets.keys().next().value as string);
    this.buckets.set(key, bucket);
    if (allowed) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond)) };
  }
}
