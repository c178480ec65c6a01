import { LEDGER_REJECTIONS, type ConversionCreditV1, type ConversionRefundV1, type ConversionRequestedV1 } from '@settlement/contracts';
import { Decimal, fitsAmountColumn, formatAmount, parseAmount, roundToScale } from '@settlement/money';
import { accountCodes } from '../../book/account-codes';
import type { Book, BookAccount } from '../../book/book';
import { rejected, type Outcome } from '../../book/outcome';

/** Largest significant digits a rate may have; more would only be noise. */
const rateDigitsMax = 20;

/** The bought amount of a conversion, rounded to 8 decimals by the named mode. Pure and exact. */
export function convertedAmount(amount: Decimal, rate: Decimal, rounding: ConversionRequestedV1['rounding']): Decimal {
  return roundToScale(amount.times(rate), rounding);
}

/**
 * Sold leg: the amount leaves the user's wallet in `currency` for the FX
 * account of that currency; a `conversion.credit` for the target currency's
 * wallet (another partition) is written in the same transaction.
 */
export function debitConversion(book: Book, command: ConversionRequestedV1): Outcome {
  const amount = parseAmount(command.amount, 'positive');
  const validRate = typeof command.rate === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(command.rate) && command.rate.replace(/[^0-9]/g, '').length <= rateDigitsMax;
  if (!amount.ok || !validRate || command.toCurrency === command.currency || !['down', 'half-even', 'up'].includes(command.rounding)) {
    return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  }
  const bought = convertedAmount(amount.value, new Decimal(command.rate), command.rounding);
  if (!bought.greaterThan(0)) return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  // No wallet could ever be credited more than NUMERIC(22,8) holds: refused before anything moves.
  if (!fitsAmountColumn(bought)) return rejected(LEDGER_REJECTIONS.BALANCE_LIMIT);
  const wallet = book.wallet(command);
  if (wallet === undefined) return rejected(LEDGER_REJECTIONS.WALLET_NOT_FOUND);
  if (wallet.available.balance.lessThan(amount.value)) return rejected(LEDGER_REJECTIONS.INSUFFICIENT_BALANCE);
  const tx = book.begin(command.commandId, 'convert-sell');
  book.transfer(tx, wallet.available, book.account(accountCodes.fx(command.currency)), amount.value);
  const credit: ConversionCreditV1 = {
    commandId: `${command.commandId}:credit`,
    requestHash: command.requestHash,
    merchantId: command.merchantId,
    username: command.username,
    currency: command.toCurrency,
    conversionId: command.commandId,
    amount: formatAmount(bought),
    soldAmount: formatAmount(amount.value),
    soldCurrency: command.currency,
  };
  return { status: 'ACCEPTED', tx, followUps: [{ type: 'conversion.credit', payload: credit }] };
}

/**
 * Bought leg: the FX account of the target currency pays the user's wallet
 * (opened if needed). When that would take the wallet past NUMERIC(22,8), a
 * `conversion.refund` returns the sold amount to the source wallet instead.
 */
export function creditConversion(book: Book, command: ConversionCreditV1): Outcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  const wallet = book.wallet(command);
  if (wallet === undefined) throw new Error(`conversion credit ${command.commandId}: wallet was not opened before the batch`);
  if (book.canReceive(wallet.available, amount.value) || command.soldAmount === undefined || command.soldCurrency === undefined) {
    // Past the limit without a sold side to refund (a credit from before soldAmount existed): BALANCE_LIMIT.
    return payFromFx(book, command, wallet.available, amount.value, 'convert-buy');
  }
  const tx = book.begin(command.commandId, 'convert-bounce');
  const refund: ConversionRefundV1 = {
    commandId: `${command.conversionId}:refund`,
    requestHash: command.requestHash,
    merchantId: command.merchantId,
    username: command.username,
    currency: command.soldCurrency,
    conversionId: command.conversionId,
    amount: command.soldAmount,
  };
  return { status: 'ACCEPTED', tx, followUps: [{ type: 'conversion.refund', payload: refund }] };
}

/** The sold amount back from the FX account of its currency to the source wallet, which the debit leg found. */
export function refundConversion(book: Book, command: ConversionRefundV1): Outcome {
  const amount = parseAmount(command.amount, 'positive');
  if (!amount.ok) return rejected(LEDGER_REJECTIONS.INVALID_COMMAND);
  const wallet = book.wallet(command);
  // The debit leg found this wallet: missing, the refund is none of ours, and is answered as such.
  if (wallet === undefined) return rejected(LEDGER_REJECTIONS.WALLET_NOT_FOUND);
  return payFromFx(book, command, wallet.available, amount.value, 'convert-refund');
}

/** A transaction of `type` paying `amount` from the FX account of the command's currency to `available`. */
function payFromFx(book: Book, command: ConversionCreditV1 | ConversionRefundV1, available: BookAccount, amount: Decimal, type: 'convert-buy' | 'convert-refund'): Outcome {
  const tx = book.begin(command.commandId, type);
  book.transfer(tx, book.account(accountCodes.fx(command.currency)), available, amount);
  return { status: 'ACCEPTED', tx };
}
