import { LEDGER_REJECTIONS, type WithdrawalSettledV1 } from '@settlement/contracts';
import { accountCodes } from '../../book/account-codes';
import { Book } from '../../book/book';
import { rejected, type Outcome } from '../../book/outcome';
import { withdrawalHoldId } from '../request-withdrawal/request-withdrawal.handler';

/**
 * The rail answered: `completed` pays the held amount out to the external
 * clearing account, `failed` returns it to available. Either happens once.
 */
export function settleWithdrawal(book: Book, command: WithdrawalSettledV1, result: 'completed' | 'failed'): Outcome {
  const wallet = book.wallet(command);
  if (wallet === undefined) return rejected(LEDGER_REJECTIONS.WALLET_NOT_FOUND);
  const hold = book.hold(withdrawalHoldId(command.withdrawalId));
  if (hold === undefined || hold.walletKey !== Book.walletKey(command)) return rejected(LEDGER_REJECTIONS.ORDER_NOT_FOUND);
  if (hold.remaining.isZero()) return rejected(LEDGER_REJECTIONS.HOLD_EXCEEDED);
  const amount = hold.remaining;
  const tx = book.begin(command.commandId, result === 'completed' ? 'withdrawal-paid' : 'withdrawal-returned');
  const to = result === 'completed' ? book.account(accountCodes.externalClearing(command.currency)) : wallet.available;
  book.transfer(tx, wallet.held, to, amount);
  book.consumeHold(hold, amount);
  return { status: 'ACCEPTED', tx };
}
