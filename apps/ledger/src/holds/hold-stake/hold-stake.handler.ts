import { LEDGER_REJECTIONS, type LedgerRejection, type OrderCreatedV1 } from '@settlement/contracts';
import { parseAmount } from '@settlement/money';
import { Book, type PendingTransaction } from '../../book/book';

export type HoldOutcome = { status: 'ACCEPTED'; tx: PendingTransaction } | { status: 'REJECTED'; reason: LedgerRejection };

/**
 * Order opened: moves the stake from the wallet's available balance to its
 * held balance, and records a hold tied to the order id.
 */
export function holdStake(book: Book, command: OrderCreatedV1): HoldOutcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INVALID_COMMAND };
  const wallet = book.wallet(command);
  if (wallet === undefined) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.WALLET_NOT_FOUND };
  if (wallet.available.balance.lessThan(amount.value)) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INSUFFICIENT_BALANCE };
  // An order id is created once: a second create for it would double the hold.
  if (book.hold(command.orderId) !== undefined) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INVALID_COMMAND };
  const tx = book.begin(command.commandId, 'hold');
  book.transfer(tx, wallet.available, wallet.held, amount.value);
  book.createHold(command.orderId, Book.walletKey(command), command.pool ?? 'orders', amount.value, tx);
  return { status: 'ACCEPTED', tx };
}
