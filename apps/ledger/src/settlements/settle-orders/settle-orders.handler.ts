import { LEDGER_REJECTIONS, type LedgerRejection, type SettlementRequestedV1 } from '@settlement/contracts';
import { parseAmount, type Decimal } from '@settlement/money';
import { accountCodes } from '../../book/account-codes';
import { Book, type PendingTransaction } from '../../book/book';

export type SettleOutcome =
  | { status: 'ACCEPTED'; tx: PendingTransaction; total: Decimal; pnl: Decimal; payout: Decimal }
  | { status: 'REJECTED'; reason: LedgerRejection };

/** The payout of a settlement, or null when it would be negative. Pure arithmetic, exact. */
export function settlementPayout(total: Decimal, pnl: Decimal): Decimal | null {
  const payout = total.plus(pnl);
  return payout.isNegative() ? null : payout;
}

/**
 * Settlement of several orders (seed 000): `totalOrderAmount` leaves held
 * (consuming the oldest open holds of the `orders` pool: never a seamless
 * trade's stake or a pending withdrawal), `totalOrderAmount + pnlAmount` goes to
 * available, and the merchant's house account takes the other side of the
 * profit or loss.
 */
export function settleOrders(book: Book, command: SettlementRequestedV1): SettleOutcome {
  const total = parseAmount(command.totalOrderAmount, 'non-negative');
  const pnl = parseAmount(command.pnlAmount, 'any');
  if (!total.ok || !pnl.ok) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INVALID_COMMAND };
  const payout = settlementPayout(total.value, pnl.value);
  if (payout === null) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.NEGATIVE_PAYOUT };
  const wallet = book.wallet(command);
  if (wallet === undefined) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.WALLET_NOT_FOUND };
  if (total.value.greaterThan(book.openHeld(Book.walletKey(command), 'orders'))) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INSUFFICIENT_HELD };
  const house = book.account(accountCodes.house(command.merchantId, command.currency));
  const tx = book.begin(command.commandId, 'settlement');
  if (total.value.greaterThan(0)) {
    book.transfer(tx, wallet.held, wallet.available, total.value);
    book.consumeOldestHolds(Book.walletKey(command), 'orders', total.value);
  }
  // Available already holds the stake back, and payout >= 0, so a loss never takes it below zero.
  if (pnl.value.greaterThan(0)) book.transfer(tx, house, wallet.available, pnl.value);
  if (pnl.value.lessThan(0)) book.transfer(tx, wallet.available, house, pnl.value.negated());
  return { status: 'ACCEPTED', tx, total: total.value, pnl: pnl.value, payout };
}
