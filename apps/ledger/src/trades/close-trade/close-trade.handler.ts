import { LEDGER_REJECTIONS, type TradeClosedV1 } from '@settlement/contracts';
import { parseAmount } from '@settlement/money';
import { accountCodes } from '../../book/account-codes';
import { Book } from '../../book/book';
import { rejected, type Outcome } from '../../book/outcome';

/**
 * Per-trade close (seed 003 `closetrade`): the trade's remaining stake leaves
 * held, `winAmount` goes to available, and the house account takes the
 * difference (it gains a lost stake, pays a win above the stake).
 */
export function closeTrade(book: Book, command: TradeClosedV1): Outcome {
  const win = parseAmount(command.winAmount, 'non-negative');
  if (!win.ok) return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  const wallet = book.wallet(command);
  if (wallet === undefined) return rejected(LEDGER_REJECTIONS.WALLET_NOT_FOUND);
  const hold = book.hold(command.orderId);
  if (hold === undefined || hold.walletKey !== Book.walletKey(command) || hold.pool !== 'trades') return rejected(LEDGER_REJECTIONS.ORDER_NOT_FOUND);
  // A closed (or fully cancelled) trade holds nothing: closing it again would pay twice.
  if (hold.remaining.isZero()) return rejected(LEDGER_REJECTIONS.HOLD_EXCEEDED);
  const stake = hold.remaining;
  const house = book.account(accountCodes.house(command.merchantId, command.currency));
  const tx = book.begin(command.commandId, 'trade-close');
  book.transfer(tx, wallet.held, wallet.available, stake);
  book.consumeHold(hold, stake);
  const pnl = win.value.minus(stake);
  if (pnl.greaterThan(0)) book.transfer(tx, house, wallet.available, pnl);
  if (pnl.lessThan(0)) book.transfer(tx, wallet.available, house, pnl.negated());
  return { status: 'ACCEPTED', tx };
}
