import { LEDGER_REJECTIONS, type TransferLegV1, type TransferRequestedV1 } from '@settlement/contracts';
import { formatAmount, parseAmount } from '@settlement/money';
import { accountCodes } from '../../book/account-codes';
import type { Book } from '../../book/book';
import { rejected, type Outcome } from '../../book/outcome';

/**
 * Source leg: the amount moves from the sender's available balance to the
 * merchant's transit account, and a `transfer.credit` for the receiver's
 * partition is written in the same transaction. Between the legs the money
 * is in transit, never unaccounted for.
 */
export function debitTransfer(book: Book, command: TransferRequestedV1): Outcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok || command.toUsername === command.username || command.toUsername === '') return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  const wallet = book.wallet(command);
  if (wallet === undefined) return rejected(LEDGER_REJECTIONS.WALLET_NOT_FOUND);
  if (wallet.available.balance.lessThan(amount.value)) return rejected(LEDGER_REJECTIONS.INSUFFICIENT_BALANCE);
  const tx = book.begin(command.commandId, 'transfer-debit');
  book.transfer(tx, wallet.available, book.account(accountCodes.transit(command.merchantId, command.currency)), amount.value);
  const leg: TransferLegV1 = {
    commandId: `${command.commandId}:credit`,
    requestHash: command.requestHash,
    merchantId: command.merchantId,
    username: command.toUsername,
    currency: command.currency,
    transferId: command.commandId,
    amount: formatAmount(amount.value),
    counterparty: command.username,
  };
  return { status: 'ACCEPTED', tx, followUps: [{ type: 'transfer.credit', payload: leg }] };
}

/**
 * Second leg: transit to the receiver's available balance, or, when the
 * receiver has no wallet or the amount would take it past NUMERIC(22,8), a
 * `transfer.refund` back to the sender.
 */
export function creditTransfer(book: Book, command: TransferLegV1, kind: 'credit' | 'refund'): Outcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  const transit = book.account(accountCodes.transit(command.merchantId, command.currency));
  const wallet = book.wallet(command);
  if (wallet === undefined || (kind === 'credit' && !book.canReceive(wallet.available, amount.value))) {
    // A refund goes to the sender, whose wallet existed a moment ago: missing, it is no refund of ours, and is
    // answered as such rather than failing the batch. (A refund past the limit is rejected BALANCE_LIMIT, the
    // money staying in transit, accounted for.)
    if (kind === 'refund') return rejected(LEDGER_REJECTIONS.WALLET_NOT_FOUND);
    const tx = book.begin(command.commandId, 'transfer-bounce');
    const refund: TransferLegV1 = {
      ...command,
      commandId: `${command.transferId}:refund`,
      username: command.counterparty,
      counterparty: command.username,
    };
    return { status: 'ACCEPTED', tx, followUps: [{ type: 'transfer.refund', payload: refund }] };
  }
  const tx = book.begin(command.commandId, kind === 'credit' ? 'transfer-credit' : 'transfer-refund');
  book.transfer(tx, transit, wallet.available, amount.value);
  return { status: 'ACCEPTED', tx };
}
