import type { TransferLegV1, TransferRequestedV1 } from '@settlement/contracts';
import { Decimal } from '@settlement/money';
import { Book, type BookAccount } from '../../book/book';
import { creditTransfer, debitTransfer } from './transfer-funds.handler';

function account(id: string, code: string, kind: BookAccount['kind'], balance: string, walletKey: string | null = null): BookAccount {
  return { id, code, walletKey, kind, currency: 'USDT', balance: new Decimal(balance), shared: walletKey === null };
}

const transfer: TransferRequestedV1 = { commandId: 't1', requestHash: 'h', merchantId: 'm', username: 'alice', currency: 'USDT', toUsername: 'bob', amount: '30' };

describe('two-leg transfer', () => {
  it('debits the sender into transit and asks the receiver partition for the credit', () => {
    const book = new Book([
      account('1', 'user:m:alice:USDT:available', 'available', '100', 'm:alice:USDT'),
      account('2', 'user:m:alice:USDT:held', 'held', '0', 'm:alice:USDT'),
      account('3', 'transit:m:USDT', 'transit', '0'),
    ]);
    const outcome = debitTransfer(book, transfer);
    expect(outcome.status).toBe('ACCEPTED');
    expect(book.account('transit:m:USDT').balance.toString()).toBe('30');
    expect(outcome.status === 'ACCEPTED' && outcome.followUps).toEqual([
      { type: 'transfer.credit', payload: expect.objectContaining({ commandId: 't1:credit', username: 'bob', amount: '30.00000000', counterparty: 'alice' }) },
    ]);
  });

  it('refuses more than the sender has, and a transfer to oneself', () => {
    const book = new Book([account('1', 'user:m:alice:USDT:available', 'available', '10', 'm:alice:USDT'), account('2', 'user:m:alice:USDT:held', 'held', '0', 'm:alice:USDT')]);
    expect(debitTransfer(book, transfer)).toEqual({ status: 'REJECTED', reason: 'INSUFFICIENT_BALANCE' });
    expect(debitTransfer(book, { ...transfer, toUsername: 'alice', amount: '1' })).toEqual({ status: 'REJECTED', reason: 'INVALID_COMMAND' });
  });

  it('credits the receiver from transit, or bounces a refund to the sender when the receiver has no wallet', () => {
    const leg: TransferLegV1 = { commandId: 't1:credit', requestHash: 'h', merchantId: 'm', username: 'bob', currency: 'USDT', transferId: 't1', amount: '30', counterparty: 'alice' };
    const withBob = new Book([
      account('3', 'transit:m:USDT', 'transit', '30'),
      account('4', 'user:m:bob:USDT:available', 'available', '0', 'm:bob:USDT'),
      account('5', 'user:m:bob:USDT:held', 'held', '0', 'm:bob:USDT'),
    ]);
    expect(creditTransfer(withBob, leg, 'credit').status).toBe('ACCEPTED');
    expect(withBob.account('transit:m:USDT').balance.isZero()).toBe(true);
    expect(withBob.account('user:m:bob:USDT:available').balance.toString()).toBe('30');

    const withoutBob = new Book([account('3', 'transit:m:USDT', 'transit', '30')]);
    const bounced = creditTransfer(withoutBob, leg, 'credit');
    expect(bounced.status === 'ACCEPTED' && bounced.followUps).toEqual([
      { type: 'transfer.refund', payload: expect.objectContaining({ commandId: 't1:refund', username: 'alice', amount: '30' }) },
    ]);
    expect(withoutBob.account('transit:m:USDT').balance.toString()).toBe('30');
    // A refund to a wallet that does not exist is none of the ledger's: answered, not a failed batch.
    expect(creditTransfer(withoutBob, { ...leg, commandId: 't1:refund' }, 'refund')).toEqual({ status: 'REJECTED', reason: 'WALLET_NOT_FOUND' });
    expect(withoutBob.transactions.map((t) => t.commandId)).toEqual(['t1:credit']);
  });

  it('bounces a refund when the credit would take the receiver past NUMERIC(22,8), and credits up to the limit', () => {
    const leg: TransferLegV1 = { commandId: 't1:credit', requestHash: 'h', merchantId: 'm', username: 'bob', currency: 'USDT', transferId: 't1', amount: '30', counterparty: 'alice' };
    const bobAt = (available: string) =>
      new Book([account('3', 'transit:m:USDT', 'transit', '30'), account('4', 'user:m:bob:USDT:available', 'available', available, 'm:bob:USDT'), account('5', 'user:m:bob:USDT:held', 'held', '0', 'm:bob:USDT')]);
    const full = bobAt('99999999999970.00000001');
    const bounced = creditTransfer(full, leg, 'credit');
    expect(bounced.status === 'ACCEPTED' && bounced.followUps).toEqual([{ type: 'transfer.refund', payload: expect.objectContaining({ commandId: 't1:refund', username: 'alice' }) }]);
    expect(full.account('user:m:bob:USDT:available').balance.toFixed(8)).toBe('99999999999970.00000001');
    expect(full.touchedAccounts()).toEqual([]);
    const room = bobAt('99999999999969.99999999');
    expect(creditTransfer(room, leg, 'credit')).toEqual({ status: 'ACCEPTED', tx: expect.anything() });
    expect(room.account('user:m:bob:USDT:available').balance.toFixed(8)).toBe('99999999999999.99999999');
  });
});
