import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { LedgerRejection } from '@settlement/contracts';
import { Decimal } from '@settlement/money';
import { identifierProblem } from '../http/identifier';

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
  BALANCE_LIMIT: { http: 400, message: 'A balance would exceed 99999999999999.99999999' },
  RESULT_UNKNOWN: { http: 504, message: 'Result not known yet; retry the same request' },
  INTERNAL_ERROR: { http: 500, message: 'Internal error' },
  NOT_FOUND: { http: 404, message: 'No such endpoint' },
  METHOD_NOT_ALLOWED: { http: 405, message: 'Method not allowed' },
  BODY_TOO_LARGE: { http: 413, message: 'Request body too large' },
  URI_TOO_LONG: { http: 414, message: 'Request URI too long' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, message: 'Content-Type must be application/json' },
  RATE_LIMITED: { http: 429, message: 'Too many requests; retry after Retry-After seconds' },
} as const;

export type SeamlessErrorCode = keyof typeof SEAMLESS_ERRORS;

export class SeamlessError extends Error {
  constructor(
    readonly code: SeamlessErrorCode,
    readonly detail?: string,
    /** Sent as Retry-After with RATE_LIMITED. */
    readonly retryAfterSeconds?: number,
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
  BALANCE_LIMIT: 'BALANCE_LIMIT',
  LEDGER_ERROR: 'INTERNAL_ERROR',
};

export async function sendSeamlessError(reply: FastifyReply, error: SeamlessError): Promise<void> {
  const { http, message } = SEAMLESS_ERRORS[error.code];
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
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

/**
 * Deepest nesting of objects and arrays accepted in a body. The seed's
 * deepest is 2 (closetrade's data); canonicalJson recurses once per level, so
 * without a bound a 64 KiB body of nested arrays would overflow the stack.
 */
const jsonDepthMax = 32;

/** Parses a raw body as a JSON object or throws INVALID_REQUEST. */
export function parseSeamlessBody(raw: unknown): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = typeof raw === 'string' ? JSON.parse(raw) : undefined;
  } catch {
    // Refused below.
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SeamlessError('INVALID_REQUEST', 'body must be a JSON object');
  if (nestedDeeperThan(parsed, jsonDepthMax)) throw new SeamlessError('INVALID_REQUEST', `body nested deeper than ${jsonDepthMax} levels`);
  return parsed as Record<string, unknown>;
}

/** Whether objects and arrays nest deeper than `max`; iterative, so it cannot overflow the stack itself. */
function nestedDeeperThan(root: unknown, max: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  while (pending.length > 0) {
    const { value, depth } = pending.pop() as { value: unknown; depth: number };
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(value)) pending.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** A required identifier: a non-empty string of at most 128 characters without control characters. */
export function stringField(body: Record<string, unknown>, field: string): string {
  const problem = identifierProblem(body[field]);
  if (problem !== null) throw new SeamlessError('INVALID_REQUEST', `${field} ${problem}`);
  return body[field] as string;
}
