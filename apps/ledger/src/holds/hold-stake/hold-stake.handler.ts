import { LEDGER_REJECTIONS, type LedgerRejection, type OrderCreatedV1 } from '@settlement/contracts';
import { parseAmount, type Decimal } from '@settlement/money';
import type { Book, PendingTransaction } from '../../book/book';

/** A hold the batch writer must record, so a later cancel or settlement can find it. */
export interface NewHold {
  readonly orderId: string;
  readonly walletKey: string;
  readonly amount: Decimal;
  readonly tx: PendingTransaction;
}

export type HoldOutcome = { status: 'ACCEPTED'; tx: PendingTransaction; hold: NewHold } | { status: 'REJECTED'; reason: LedgerRejection };

/**
 * Order opened: moves the stake from the wallet's available balance to its
 * held balance, tied to the order id.
 */
export function holdStake(book: Book, command: OrderCreatedV1): HoldOutcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INVALID_COMMAND };
  const wallet = book.wallet(command);
  if (wallet === undefined) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.WALLET_NOT_FOUND };
  if (wallet.available.balance.lessThan(amount.value)) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INSUFFICIENT_BALANCE };
  const tx = book.begin(command.commandId, 'hold');
  book.transfer(tx, wallet.available, wallet.held, amount.value);
  return { status: 'ACCEPTED', tx, hold: { orderId: command.orderId, walletKey: wallet.available.walletKey ?? '', amount: amount.value, tx } };
}
