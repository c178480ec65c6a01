import fc from 'fast-check';
import type { OrderCreatedV1 } from '@settlement/contracts';
import { Decimal, formatAmount } from '@settlement/money';
import { Book, type BookAccount } from '../../book/book';
import { holdStake } from './hold-stake.handler';

function walletBook(available: string): Book {
  const accounts: BookAccount[] = [
    { id: '1', code: 'user:m:alice:USDT:available', walletKey: 'm:alice:USDT', kind: 'available', currency: 'USDT', balance: new Decimal(available), shared: false },
    { id: '2', code: 'user:m:alice:USDT:held', walletKey: 'm:alice:USDT', kind: 'held', currency: 'USDT', balance: new Decimal(0), shared: false },
  ];
  return new Book(accounts);
}

function order(amount: string, username = 'alice', id = 'c1'): OrderCreatedV1 {
  return { commandId: id, requestHash: 'h', merchantId: 'm', username, currency: 'USDT', orderId: id, amount };
}

describe('holdStake', () => {
  it('moves the stake from available to held with two balancing postings', () => {
    const book = walletBook('100');
    const outcome = holdStake(book, order('40.5'));
    expect(outcome.status).toBe('ACCEPTED');
    expect(book.balances({ merchantId: 'm', username: 'alice', currency: 'USDT' })).toEqual({ currency: 'USDT', available: '59.50000000', held: '40.50000000' });
    const postings = book.transactions[0].postings;
    expect(postings.map((p) => formatAmount(p.amount))).toEqual(['-40.50000000', '40.50000000']);
  });

  it('holds exactly the whole available balance', () => {
    const book = walletBook('0.00000001');
    expect(holdStake(book, order('0.00000001')).status).toBe('ACCEPTED');
  });

  it('rejects a stake above the available balance with INSUFFICIENT_BALANCE and moves nothing', () => {
    const book = walletBook('10');
    expect(holdStake(book, order('10.00000001'))).toEqual({ status: 'REJECTED', reason: 'INSUFFICIENT_BALANCE' });
    expect(book.transactions).toEqual([]);
    expect(book.touchedAccounts()).toEqual([]);
  });

  it('rejects a user without a wallet with WALLET_NOT_FOUND', () => {
    expect(holdStake(walletBook('10'), order('1', 'bob'))).toEqual({ status: 'REJECTED', reason: 'WALLET_NOT_FOUND' });
  });

  it('rejects an amount the gateway should never have sent as INVALID_COMMAND', () => {
    for (const amount of ['0', '-1', '1e3', '0.000000001']) {
      expect(holdStake(walletBook('10'), order(amount))).toEqual({ status: 'REJECTED', reason: 'INVALID_COMMAND' });
    }
  });

  it('never lets available go negative and keeps available + held constant over any sequence of holds', () => {
    const amount = fc.integer({ min: 1, max: 5_000_000_000 }).map((n) => new Decimal(n).div(1e8).toFixed(8));
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 50 }), (amounts) => {
        const book = walletBook('12.34567891');
        amounts.forEach((a, i) => holdStake(book, order(a, 'alice', `c${i}`)));
        const balances = book.balances({ merchantId: 'm', username: 'alice', currency: 'USDT' });
        if (balances === undefined) return false;
        const total = new Decimal(balances.available).plus(balances.held);
        const postingsSum = book.transactions.flatMap((t) => t.postings).reduce((s, p) => s.plus(p.amount), new Decimal(0));
        return !new Decimal(balances.available).isNegative() && total.equals('12.34567891') && postingsSum.isZero();
      }),
    );
  });
});

describe('Book.transfer', () => {
  it('refuses a transfer across currencies (a programmer error)', () => {
    const book = new Book([
      { id: '1', code: 'a', walletKey: null, kind: 'clearing', currency: 'USDT', balance: new Decimal(0), shared: true },
      { id: '2', code: 'b', walletKey: null, kind: 'clearing', currency: 'BTC', balance: new Decimal(0), shared: true },
    ]);
    expect(() => book.transfer(book.begin('c', 'hold'), book.account('a'), book.account('b'), new Decimal(1))).toThrow(/across currencies/);
  });

  it('lists touched accounts in numeric id order, the order they are locked in', () => {
    const accounts: BookAccount[] = ['10', '9', '100'].map((id) => ({ id, code: id, walletKey: null, kind: 'clearing', currency: 'USDT', balance: new Decimal(0), shared: true }));
    const book = new Book(accounts);
    const tx = book.begin('c', 'hold');
    book.transfer(tx, book.account('100'), book.account('9'), new Decimal(1));
    book.transfer(tx, book.account('10'), book.account('9'), new Decimal(1));
    expect(book.touchedAccounts().map((a) => a.id)).toEqual(['9', '10', '100']);
  });
});
