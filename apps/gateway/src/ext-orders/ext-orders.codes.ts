import type { LedgerRejection } from '@settlement/contracts';

/**
 * Every answer of the ext-orders dialect, as HTTP status, `code` and `msg`.
 * The seed (000) fixes 1, 11000012, 11000013 and 11000048; the rest follow
 * its style and are documented in docs/api/ext-orders.md. This is the one
 * place domain outcomes become wire codes for this protocol.
 */
export const EXT_ORDER_CODES = {
  SUCCESS: { status: 200, code: 1, msg: 'Success' },
  USER_WALLET_NOT_FOUND: { status: 500, code: 11000012, msg: 'USER_WALLET_NOT_FOUND' },
  INSUFFICIENT_BALANCE: { status: 400, code: 11000013, msg: 'Insufficient Balance in Wallet' },
  DB_EXCEPTION: { status: 500, code: 11000048, msg: 'DB Exception' },
  MALFORMED_JSON: { status: 400, code: 11000100, msg: 'Malformed JSON body' },
  INVALID_FIELD: { status: 400, code: 11000101, msg: 'Invalid field' },
  INVALID_AMOUNT: { status: 400, code: 11000102, msg: 'Invalid amount' },
  BONUS_NOT_SUPPORTED: { status: 400, code: 11000103, msg: 'Bonus amounts must be 0 in phase 1' },
  UNKNOWN_CURRENCY: { status: 400, code: 11000104, msg: 'Unknown currency' },
  IDEMPOTENCY_CONFLICT: { status: 409, code: 11000105, msg: 'extRequestId already used with a different body' },
  RESULT_UNKNOWN: { status: 504, code: 11000106, msg: 'Result not known yet; retry with the same extRequestId or query it' },
  ORDER_NOT_FOUND: { status: 400, code: 11000107, msg: 'Order not found for this user' },
  HOLD_EXCEEDED: { status: 400, code: 11000108, msg: 'Cancel amount exceeds what the order still holds' },
  NEGATIVE_PAYOUT: { status: 400, code: 11000109, msg: 'totalOrderAmount + pnlAmount must not be negative' },
  BALANCE_LIMIT: { status: 400, code: 11000110, msg: 'A balance would exceed 99999999999999.99999999' },
  UNAUTHORIZED: { status: 401, code: 11000401, msg: 'Missing, invalid or expired bearer token' },
  NOT_FOUND: { status: 404, code: 11000404, msg: 'No such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, code: 11000405, msg: 'Method not allowed' },
  BODY_TOO_LARGE: { status: 413, code: 11000413, msg: 'Request body too large' },
  URI_TOO_LONG: { status: 414, code: 11000414, msg: 'Request URI too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 11000415, msg: 'Content-Type must be application/json' },
  RATE_LIMITED: { status: 429, code: 11000429, msg: 'Too many requests; retry after Retry-After seconds' },
} as const;

export type ExtOrderCode = (typeof EXT_ORDER_CODES)[keyof typeof EXT_ORDER_CODES];

/** Ledger rejections mapped to this protocol's codes. */
export const REJECTION_CODES: Record<LedgerRejection, ExtOrderCode> = {
  INSUFFICIENT_BALANCE: EXT_ORDER_CODES.INSUFFICIENT_BALANCE,
  WALLET_NOT_FOUND: EXT_ORDER_CODES.USER_WALLET_NOT_FOUND,
  IDEMPOTENCY_CONFLICT: EXT_ORDER_CODES.IDEMPOTENCY_CONFLICT,
  INVALID_COMMAND: EXT_ORDER_CODES.INVALID_FIELD,
  ORDER_NOT_FOUND: EXT_ORDER_CODES.ORDER_NOT_FOUND,
  HOLD_EXCEEDED: EXT_ORDER_CODES.HOLD_EXCEEDED,
  // The seed lists 11000013 as settlement's only balance error: settling more than is held.
  INSUFFICIENT_HELD: EXT_ORDER_CODES.INSUFFICIENT_BALANCE,
  NEGATIVE_PAYOUT: EXT_ORDER_CODES.NEGATIVE_PAYOUT,
  BALANCE_LIMIT: EXT_ORDER_CODES.BALANCE_LIMIT,
  // The seed's own code for a database failure: nothing moved, and a retry under the same extRequestId is applied afresh.
  LEDGER_ERROR: EXT_ORDER_CODES.DB_EXCEPTION,
};

/** The seed's response envelope. */
export interface ExtOrderEnvelope<T> {
  code: number;
  msg: string;
  /** Epoch milliseconds. */
  time: number;
  data: T | null;
  success: boolean;
}

export function envelope<T>(answer: ExtOrderCode, data: T | null = null, detail?: string): ExtOrderEnvelope<T> {
  return {
    code: answer.code,
    msg: detail === undefined ? answer.msg : `${answer.msg}: ${detail}`,
    time: Date.now(),
    data,
    success: answer.code === EXT_ORDER_CODES.SUCCESS.code,
  };
}

/** An answer decided before reaching the ledger (validation, auth). */
export class ExtOrderError extends Error {
  constructor(
    readonly answer: ExtOrderCode,
    readonly detail?: string,
    /** Sent as Retry-After with RATE_LIMITED. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail ?? answer.msg);
  }
}
