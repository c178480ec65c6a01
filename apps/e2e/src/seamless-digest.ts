import { createHmac } from 'node:crypto';

/** The documented digest recipe (docs/api/seamless-wallet.md), written out independently of the gateway's code. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The body with its `hash`: hex HMAC-SHA256 of its canonical JSON, keyed by the merchant's wallet secret. */
export function signed(body: Record<string, unknown>, secret: string): Record<string, unknown> {
  return { ...body, hash: createHmac('sha256', secret).update(canonical(body)).digest('hex') };
}
