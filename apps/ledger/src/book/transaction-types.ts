/**
 * What a ledger transaction did, stored in `transactions.type` and filtered
 * on by the posting history (`?type=`). One per handler outcome; a command
 * makes at most one transaction.
 */
export const TRANSACTION_TYPES = [
  'hold',
  'release',
  'settlement',
  'trade-close',
  'funding',
  'withdrawal-hold',
  'withdrawal-paid',
  'withdrawal-returned',
  'transfer-debit',
  'transfer-credit',
  'transfer-bounce',
  'transfer-refund',
  'convert-sell',
  'convert-buy',
  'convert-bounce',
  'convert-refund',
] as const;

export type TransactionType = (typeof TRANSACTION_TYPES)[number];

const known: ReadonlySet<string> = new Set(TRANSACTION_TYPES);

export function isTransactionType(value: string): value is TransactionType {
  return known.has(value);
}
