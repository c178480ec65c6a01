import { LEDGER_REJECTIONS, type WithdrawalRequestedV1 } from '@settlement/contracts';
import { parseAmount } from '@settlement/money';
import { Book } from '../../book/book';
import { rejected, type Outcome } from '../../book/outcome';

/** The hold id of a withdrawal, distinct from order ids. */
export function withdrawalHoldId(withdrawalId: string): string {
  return `withdrawal:${withdrawalId}`;
}

/** Withdrawal requested: the amount leaves available and waits in held for the rail's answer. */
export function requestWithdrawal(book: Book, command: WithdrawalRequestedV1): Outcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  const wallet = book.wallet(command);
  if (wallet === undefined) return rejected(LEDGER_REJECTIONS.WALLET_NOT_FOUND);
  if (wallet.available.balance.lessThan(amount.value)) return rejected(LEDGER_REJECTIONS.INSUFFICIENT_BALANCE);
  const holdId = withdrawalHoldId(command.withdrawalId);
  if (book.hold(holdId) !== undefined) return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  const tx = book.begin(command.commandId, 'withdrawal-hold');
  book.transfer(tx, wallet.available, wallet.held, amount.value);
  book.createHold(holdId, Book.walletKey(command), 'withdrawals', amount.value, tx);
  return { status: 'ACCEPTED', tx };
}
