import { LEDGER_REJECTIONS, type LedgerRejection, type WalletFundingRequestedV1 } from '@settlement/contracts';
import { parseAmount } from '@settlement/money';
import { accountCodes } from '../../book/account-codes';
import type { Book, PendingTransaction } from '../../book/book';

export type FundOutcome = { status: 'ACCEPTED'; tx: PendingTransaction } | { status: 'REJECTED'; reason: LedgerRejection };

/**
 * Money entering from outside (admin funding, completed top-ups): credits the
 * wallet's available balance against the external clearing account.
 * The wallet's accounts are opened by the batch writer before this runs.
 */
export function fundWallet(book: Book, command: WalletFundingRequestedV1): FundOutcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.INVALID_COMMAND };
  const wallet = book.wallet(command);
  if (wallet === undefined) return { status: 'REJECTED', reason: LEDGER_REJECTIONS.WALLET_NOT_FOUND };
  const tx = book.begin(command.commandId, 'funding');
  book.transfer(tx, book.account(accountCodes.externalClearing(command.currency)), wallet.available, amount.value);
  return { status: 'ACCEPTED', tx };
}
