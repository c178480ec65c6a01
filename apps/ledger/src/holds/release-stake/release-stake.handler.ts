import { LEDGER_REJECTIONS, type LedgerRejection, type OrderCancelledV1 } from '@settlement/contracts';
import { parseAmount } from '@settlement/money';
import { Book, type PendingTransaction } from '../../book/book';

export type ReleaseOutcome = { status: 'ACCEPTED'; tx: PendingTransaction } | { status: 'REJECTED'; reason: LedgerRejection };

/**
 * Order cancelled: moves `amount` from held back to available. Naming an
 * order releases from that order's hold, never more than it still holds; a
 * cancel without an order releases from the wallet's oldest open order holds
 * (never a seamless trade's stake or a pending withdrawal).
 */
export function releaseStake(book: Book, command: OrderCancelledV1): ReleaseOutcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INVALID_COMMAND };
  const wallet = book.wallet(command);
  if (wallet === undefined) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.WALLET_NOT_FOUND };
  const walletKey = Book.walletKey(command);
  if (command.orderId !== undefined) {
    const hold = book.hold(command.orderId);
    if (hold === undefined || hold.walletKey !== walletKey || hold.pool !== 'orders') return { status: 'REJECTED', reason: LEDGER_REJECTIONS.ORDER_NOT_FOUND };
    if (amount.value.greaterThan(hold.remaining)) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.HOLD_EXCEEDED };
    const tx = book.begin(command.commandId, 'release');
    book.transfer(tx, wallet.held, wallet.available, amount.value);
    book.consumeHold(hold, amount.value);
    return { status: 'ACCEPTED', tx };
  }
  if (amount.value.greaterThan(book.openHeld(walletKey, 'orders'))) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INSUFFICIENT_HELD };
  const tx = book.begin(command.commandId, 'release');
  book.transfer(tx, wallet.held, wallet.available, amount.value);
  book.consumeOldestHolds(walletKey, 'orders', amount.value);
  return { status: 'ACCEPTED', tx };
}
