import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { LedgerRejection } from '@settlement/contracts';
import { Decimal } from '@settlement/money';

/** Base path of the seamless-wallet callbacks (seed 003 gives no path; docs/api/seamless-wallet.md). */
export const SEAMLESS_BASE = 'seamless/v1';

/**
 * Every error of this dialect: one shape, `{status:"Error", code, message}`,
 * with an HTTP status. The success shape is the seed's `{balance, currency, status:"Ok"}`.
 */
export const SEAMLESS_ERRORS = {
  INVALID_REQUEST: { http: 400, message: 'Malformed or invalid request' },
  INVALID_TOKEN: { http: 401, message: 'Unknown wallet access token' },
  TOKEN_EXPIRED: { http: 401, message: 'Wallet access token expired' },
  INVALID_HASH: { http: 401, message: 'Message digest does not match' },
  INSUFFICIENT_FUNDS: { http: 400, message: 'Insufficient funds' },
  WALLET_NOT_FOUND: { http: 404, message: 'The user has no wallet in this currency' },
  UNKNOWN_TRADE: { http: 404, message: 'No open trade with this externalTradeId' },
  TRADE_ALREADY_CLOSED: { http: 409, message: 'The trade is closed already' },
  DUPLICATE_TRADE: { http: 409, message: 'externalTradeId already used with a different amount' },
  RESULT_UNKNOWN: { http: 504, message: 'Result not known yet; retry the same request' },
  INTERNAL_ERROR: { http: 500, message: 'Internal error' },
} as const;

export type SeamlessErrorCode = keyof typeof SEAMLESS_ERRORS;

export class SeamlessError extends Error {
  constructor(
    readonly code: SeamlessErrorCode,
    readonly detail?: string,
  ) {
    super(detail ?? SEAMLESS_ERRORS[code].message);
  }
}

/** Ledger rejections in this dialect. */
export const SEAMLESS_REJECTIONS: Record<LedgerRejection, SeamlessErrorCode> = {
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_FUNDS',
  WALLET_NOT_FOUND: 'WALLET_NOT_FOUND',
  IDEMPOTENCY_CONFLICT: 'DUPLICATE_TRADE',
  INVALID_COMMAND: 'INVALID_REQUEST',
  ORDER_NOT_FOUND: 'UNKNOWN_TRADE',
  HOLD_EXCEEDED: 'TRADE_ALREADY_CLOSED',
  INSUFFICIENT_HELD: 'INSUFFICIENT_FUNDS',
  NEGATIVE_PAYOUT: 'INVALID_REQUEST',
};

export async function sendSeamlessError(reply: FastifyReply, error: SeamlessError): Promise<void> {
  const { http, message } = SEAMLESS_ERRORS[error.code];
  await reply.status(http).send({ status: 'Error', code: error.code, message: error.detail === undefined ? message : `${message}: ${error.detail}` });
}

/** The seed's success answer; balances are written without trailing zeros ("2180", "2180.5"). */
export function balanceAnswer(available: string, currency: string): { balance: string; currency: string; status: 'Ok' } {
  return { balance: new Decimal(available).toFixed(), currency, status: 'Ok' };
}

/**
 * JSON with object keys sorted at every level and no whitespace: the text
 * the digest is computed over, so field order and spacing never matter.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The request digest: hex HMAC-SHA256 over the canonical JSON of the body without `hash`, keyed by the merchant's wallet secret. */
export function requestDigest(body: Record<string, unknown>, walletSecret: string): string {
  const { hash: _hash, ...rest } = body;
  return createHmac('sha256', walletSecret).update(canonicalJson(rest)).digest('hex');
}

/** Checks the body's `hash` in constant time. */
export function digestMatches(body: Record<string, unknown>, walletSecret: string): boolean {
  const given = body['hash'];
  if (typeof given !== 'string' || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(requestDigest(body, walletSecret), 'hex'));
}

/** Parses a raw body as a JSON object or throws INVALID_REQUEST. */
export function parseSeamlessBody(raw: unknown): Record<string, unknown> {
  try {
    const parsed: unknown = typeof raw === 'string' ? JSON.parse(raw) : undefined;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Falls through.
  }
  throw new SeamlessError('INVALID_REQUEST', 'body must be a JSON object');
}

/** A required non-empty string field of at most 128 characters. */
export function stringField(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '' || value.length > 128) throw new SeamlessError('INVALID_REQUEST', `${field} must be a non-empty string`);
  return value;
}
