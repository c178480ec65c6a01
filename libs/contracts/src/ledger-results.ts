import type { LedgerCommandType } from './ledger-commands';

/**
 * Business outcomes the ledger reports as values, never as exceptions. Each
 * protocol maps these to its own wire codes in one place.
 */
export const LEDGER_REJECTIONS = {
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  WALLET_NOT_FOUND: 'WALLET_NOT_FOUND',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  INVALID_COMMAND: 'INVALID_COMMAND',
  /** A cancel names an order that was never created for this wallet. */
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  /** A cancel asks for more than the order still holds (it may be settled or cancelled already). */
  HOLD_EXCEEDED: 'HOLD_EXCEEDED',
  /** A settlement or cancel asks for more than the wallet holds. */
  INSUFFICIENT_HELD: 'INSUFFICIENT_HELD',
  /** `totalOrderAmount + pnlAmount` is negative: a payout cannot be. */
  NEGATIVE_PAYOUT: 'NEGATIVE_PAYOUT',
  /**
   * The command would take an account's balance (the wallet's, or a platform
   * account's such as the merchant's house account) past what NUMERIC(22,8)
   * holds: 99999999999999.99999999 either way. Nothing moves.
   */
  BALANCE_LIMIT: 'BALANCE_LIMIT',
  /**
   * The ledger's database refused the command on every attempt, alone and in
   * its batch (an error of the command's own data nobody foresaw): it moved
   * nothing and was parked for operators (`parked_messages`). The one
   * rejection that is not final: nothing is recorded under the command's id,
   * so a retry under the same key is applied afresh (once the cause is gone,
   * it may be accepted). Never carries balances.
   */
  LEDGER_ERROR: 'LEDGER_ERROR',
} as const;

export type LedgerRejection = (typeof LEDGER_REJECTIONS)[keyof typeof LEDGER_REJECTIONS];

/** Balances of a wallet after a command, as exact decimal strings. */
export interface WalletBalances {
  readonly currency: string;
  readonly available: string;
  readonly held: string;
}

/** Payload of every result event (`order.accepted`, `order.rejected`, `wallet.funded`, ...). */
export interface CommandResultV1 {
  readonly commandId: string;
  readonly commandType: LedgerCommandType;
  /** Request hash of the command this answers; a waiter matches on id and hash, so a conflicting retry never answers the original. */
  readonly requestHash: string;
  readonly status: 'ACCEPTED' | 'REJECTED';
  /** Set when status is REJECTED. */
  readonly reason?: LedgerRejection;
  /** Balances after the command; absent when the wallet does not exist, and on LEDGER_ERROR. */
  readonly balances?: WalletBalances;
  /** Ledger transaction id of the postings, set when status is ACCEPTED. */
  readonly transactionRef?: string;
}

const RESULT_TYPES: Record<LedgerCommandType, { accepted: string; rejected: string }> = {
  'order.created': { accepted: 'order.accepted', rejected: 'order.rejected' },
  'order.cancelled': { accepted: 'order.released', rejected: 'order.cancel.rejected' },
  'settlement.requested': { accepted: 'settlement.accepted', rejected: 'settlement.rejected' },
  'trade.closed': { accepted: 'trade.settled', rejected: 'trade.close.rejected' },
  'withdrawal.requested': { accepted: 'withdrawal.held', rejected: 'withdrawal.rejected' },
  'withdrawal.completed': { accepted: 'withdrawal.paid', rejected: 'withdrawal.completion.rejected' },
  'withdrawal.failed': { accepted: 'withdrawal.returned', rejected: 'withdrawal.failure.rejected' },
  'transfer.requested': { accepted: 'transfer.debited', rejected: 'transfer.rejected' },
  'transfer.credit': { accepted: 'transfer.credited', rejected: 'transfer.credit.rejected' },
  'transfer.refund': { accepted: 'transfer.refunded', rejected: 'transfer.refund.rejected' },
  'conversion.requested': { accepted: 'conversion.debited', rejected: 'conversion.rejected' },
  'conversion.credit': { accepted: 'conversion.credited', rejected: 'conversion.credit.rejected' },
  'conversion.refund': { accepted: 'conversion.refunded', rejected: 'conversion.refund.rejected' },
  'wallet.funding.requested': { accepted: 'wallet.funded', rejected: 'wallet.funding.rejected' },
};

/** Event type of the result of a command. */
export function resultEventType(commandType: LedgerCommandType, status: CommandResultV1['status']): string {
  const types = RESULT_TYPES[commandType];
  return status === 'ACCEPTED' ? types.accepted : types.rejected;
}

/**
 * `settlement.posted` v1 on `settlement.posted.v1`, keyed by merchant: the
 * fact finance consumes. Written in the same transaction as the postings.
 */
export interface SettlementPostedV1 {
  readonly transactionRef: string;
  readonly commandId: string;
  readonly merchantId: string;
  readonly username: string;
  readonly currency: string;
  readonly totalOrderAmount: string;
  readonly pnlAmount: string;
  /** `totalOrderAmount + pnlAmount`, credited to the user's available balance. */
  readonly payoutAmount: string;
  readonly extRefId?: string;
  readonly balances: WalletBalances;
}
