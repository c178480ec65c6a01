import type { ConversionCreditV1, ConversionRequestedV1, LedgerCommandType, TransferLegV1, TransferRequestedV1 } from '@settlement/contracts';
import { Decimal } from '@settlement/money';
import { Book, type BookAccount } from '../book/book';
import type { FollowUp, Outcome } from '../book/outcome';
import { creditConversion, debitConversion } from '../conversions/convert-funds/convert-funds.handler';
import { creditTransfer, debitTransfer } from '../transfers/transfer-funds/transfer-funds.handler';
import { followUpProblem, followUpSources, type AppliedCommand } from './follow-up-verification';

function account(code: string, kind: BookAccount['kind'], currency: string, balance: string, walletKey: string | null = null): BookAccount {
  return { id: code, code, walletKey, kind, currency, balance: new Decimal(balance), shared: walletKey === null, ...(walletKey === null ? { base: new Decimal(0) } : {}) };
}

function wallet(username: string, currency: string, available: string): BookAccount[] {
  const key = `m:${username}:${currency}`;
  return [account(`user:${key}:available`, 'available', currency, available, key), account(`user:${key}:held`, 'held', currency, '0', key)];
}

/** The follow-up an outcome asks for (the handlers' own), failing the test when there is none. */
function followUpOf(outcome: Outcome): FollowUp {
  if (outcome.status !== 'ACCEPTED' || outcome.followUps?.length !== 1) throw new Error(`expected one follow-up, got ${JSON.stringify(outcome)}`);
  return outcome.followUps[0];
}

const transfer: TransferRequestedV1 = { commandId: 't1', requestHash: 'h', merchantId: 'm', username: 'alice', currency: 'USDT', toUsername: 'bob', amount: '30' };
const conversion: ConversionRequestedV1 = { commandId: 'c1', requestHash: 'h', merchantId: 'm', username: 'alice', currency: 'USDT', toCurrency: 'BTC', amount: '50', rate: '0.0000123456789', rounding: 'down' };

/** The inbox as the ledger would have it after the legs named (payloads as received, transaction types as made). */
function inbox(rows: Record<string, AppliedCommand>): (id: string) => AppliedCommand | undefined {
  return (id) => rows[id];
}

const accepted = (commandType: string, payload: object, transactionType: string): AppliedCommand => ({ commandType, status: 'ACCEPTED', payload: { ...payload }, transactionType });

describe('follow-up verification: a second leg must be the one its accepted request implies', () => {
  // The legs as the handlers write them: a transfer's credit, its refund after a bounce, a conversion's credit and refund.
  const transferCredit = followUpOf(debitTransfer(new Book([...wallet('alice', 'USDT', '100'), account('transit:m:USDT', 'transit', 'USDT', '0')]), transfer));
  const transferRefund = followUpOf(creditTransfer(new Book([account('transit:m:USDT', 'transit', 'USDT', '30')]), transferCredit.payload as TransferLegV1, 'credit'));
  const conversionCredit = followUpOf(debitConversion(new Book([...wallet('alice', 'USDT', '100'), account('fx:USDT', 'fx', 'USDT', '0')]), conversion));
  const conversionRefund = followUpOf(
    creditConversion(new Book([...wallet('alice', 'BTC', '99999999999999.99999999'), account('fx:BTC', 'fx', 'BTC', '0')]), conversionCredit.payload as ConversionCreditV1),
  );

  const afterTransfer = {
    t1: accepted('transfer.requested', transfer, 'transfer-debit'),
    't1:credit': accepted('transfer.credit', transferCredit.payload, 'transfer-bounce'),
  };
  const afterConversion = {
    c1: accepted('conversion.requested', conversion, 'convert-sell'),
    'c1:credit': accepted('conversion.credit', conversionCredit.payload, 'convert-bounce'),
  };
  const check = (followUp: FollowUp, rows: Record<string, AppliedCommand>, changes: Record<string, unknown> = {}) =>
    followUpProblem(followUp.type as LedgerCommandType, { ...followUp.payload, ...changes }, inbox(rows));

  it('accepts every leg the handlers write, after the legs before it', () => {
    expect([transferCredit.type, transferRefund.type, conversionCredit.type, conversionRefund.type]).toEqual(['transfer.credit', 'transfer.refund', 'conversion.credit', 'conversion.refund']);
    expect(check(transferCredit, afterTransfer)).toBeNull();
    expect(check(transferRefund, afterTransfer)).toBeNull();
    expect(check(conversionCredit, afterConversion)).toBeNull();
    expect(check(conversionRefund, afterConversion)).toBeNull();
    // Amounts compare as numbers: trailing zeros are the same amount.
    expect(check(transferCredit, afterTransfer, { amount: '30' })).toBeNull();
  });

  it('reads the request, and for a refund the credit too', () => {
    expect(followUpSources('transfer.credit', transferCredit.payload)).toEqual(['t1']);
    expect(followUpSources('transfer.refund', transferRefund.payload)).toEqual(['t1', 't1:credit']);
    expect(followUpSources('conversion.refund', conversionRefund.payload)).toEqual(['c1', 'c1:credit']);
    expect(followUpSources('order.created', { commandId: 'x' })).toEqual([]);
    expect(followUpSources('transfer.credit', { commandId: 'x' })).toEqual([]);
  });

  it('refuses a leg of an operation the ledger never accepted', () => {
    expect(check(transferCredit, {})).toBe('transfer.credit t1:credit: no accepted transfer.requested t1');
    expect(check(transferCredit, { t1: { ...afterTransfer.t1, status: 'REJECTED', transactionType: null } })).toBe('transfer.credit t1:credit: no accepted transfer.requested t1');
    // A request of another kind under that id is no transfer.
    expect(check(transferCredit, { t1: accepted('order.created', { ...transfer }, 'hold') })).toBe('transfer.credit t1:credit: no accepted transfer.requested t1');
    expect(check(conversionCredit, afterTransfer)).toBe('conversion.credit c1:credit: no accepted conversion.requested c1');
  });

  it('refuses a leg whose wallet, currency or amount is not what the request implies', () => {
    expect(check(transferCredit, afterTransfer, { amount: '31' })).toBe('transfer.credit t1:credit: amount "31" is not the "30" its transfer.requested implies');
    expect(check(transferCredit, afterTransfer, { username: 'mallory' })).toBe('transfer.credit t1:credit: username "mallory" is not the "bob" its transfer.requested implies');
    expect(check(transferCredit, afterTransfer, { currency: 'BTC' })).toMatch(/currency "BTC" is not the "USDT"/);
    expect(check(transferCredit, afterTransfer, { merchantId: 'other' })).toMatch(/merchantId "other" is not the "m"/);
    expect(check(transferRefund, afterTransfer, { username: 'bob' })).toMatch(/username "bob" is not the "alice"/);
    expect(check(conversionCredit, afterConversion, { amount: '0.00061729' })).toBe('conversion.credit c1:credit: amount "0.00061729" is not the "0.00061728" its conversion.requested implies');
    expect(check(conversionCredit, afterConversion, { soldAmount: '500' })).toMatch(/soldAmount "500" is not the "50"/);
    expect(check(conversionRefund, afterConversion, { amount: '51' })).toMatch(/amount "51" is not the "50"/);
    expect(check(transferCredit, afterTransfer, { amount: 'lots' })).toMatch(/amount "lots"/);
  });

  it('refuses a leg under another id, or naming no operation', () => {
    expect(check(transferCredit, afterTransfer, { commandId: 't1:credit-2' })).toBe('transfer.credit t1:credit-2 is not t1:credit');
    expect(check(transferCredit, afterTransfer, { transferId: undefined })).toBe('transfer.credit names no transfer');
    expect(check(transferRefund, afterTransfer, { commandId: 't1:credit' })).toBe('transfer.refund t1:credit is not t1:refund');
  });

  it('refuses a refund unless the credit bounced: money already credited cannot also go back', () => {
    const credited = { ...afterTransfer, 't1:credit': { ...afterTransfer['t1:credit'], transactionType: 'transfer-credit' } };
    expect(check(transferRefund, credited)).toBe('transfer.refund t1:refund: the credit t1:credit did not bounce');
    expect(check(transferRefund, { t1: afterTransfer.t1 })).toBe('transfer.refund t1:refund: the credit t1:credit did not bounce');
    const bought = { ...afterConversion, 'c1:credit': { ...afterConversion['c1:credit'], transactionType: 'convert-buy' } };
    expect(check(conversionRefund, bought)).toBe('conversion.refund c1:refund: the credit c1:credit did not bounce');
  });

  it('has nothing to say about commands that are no second leg', () => {
    expect(followUpProblem('order.created', { commandId: 'x' }, inbox({}))).toBeNull();
    expect(followUpProblem('transfer.requested', { ...transfer }, inbox({}))).toBeNull();
  });
});
