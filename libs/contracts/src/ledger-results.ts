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
  /** Balances after the command; absent when the wallet does not exist. */
  readonly balances?: WalletBalances;
  /** Ledger transaction id of the postings, set when status is ACCEPTED. */
  readonly transactionRef?: string;
}

const RESULT_TYPES: Record<LedgerCommandType, { accepted: string; rejected: string }> = {
  'order.created': { accepted: 'order.accepted', rejected: 'order.rejected' },
  'wallet.funding.requested': { accepted: 'wallet.funded', rejected: 'wallet.funding.rejected' },
};

/** Event type of the result of a command. */
export function resultEventType(commandType: LedgerCommandType, status: CommandResultV1['status']): string {
  const types = RESULT_TYPES[commandType];
  return status === 'ACCEPTED' ? types.accepted : types.rejected;
}
