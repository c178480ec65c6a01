import type { LedgerCommandPayloads } from '@settlement/contracts';
import { Decimal } from '@settlement/money';
import { holdStake } from '../holds/hold-stake/hold-stake.handler';
import { releaseStake } from '../holds/release-stake/release-stake.handler';
import { settleOrders } from '../settlements/settle-orders/settle-orders.handler';
import { closeTrade } from '../trades/close-trade/close-trade.handler';
import { requestWithdrawal } from '../withdrawals/request-withdrawal/request-withdrawal.handler';
import { Book, type BookAccount } from './book';

// One wallet holding for three reasons at once: an ext-orders order, a seamless
// trade and a pending withdrawal. Found by the system benchmark: ext-orders
// settlements consumed the oldest holds of any kind, so a settlement could take
// a trade's stake (its closetrade then answered TRADE_ALREADY_CLOSED) or money
// waiting for a withdrawal.
const wallet = { merchantId: 'm', username: 'u', currency: 'USDT' };
const walletKey = 'm:u:USDT';

function bookHoldingThreeWays(): Book {
  const accounts: BookAccount[] = [
    { id: '1', code: 'user:m:u:USDT:available', walletKey, kind: 'available', currency: 'USDT', balance: new Decimal(100), shared: false },
    { id: '2', code: 'user:m:u:USDT:held', walletKey, kind: 'held', currency: 'USDT', balance: new Decimal(0), shared: false },
    { id: '3', code: 'house:m:USDT', walletKey: null, kind: 'house', currency: 'USDT', balance: new Decimal(0), shared: true },
  ];
  const book = new Book(accounts);
  // The wallet had no open hold before this batch.
  book.loadHolds([], [walletKey]);
  // Oldest first: the trade and the withdrawal were held before the order.
  expect(holdStake(book, { ...wallet, commandId: 'open', requestHash: 'h', orderId: 'trade-1', amount: '10', pool: 'trades' }).status).toBe('ACCEPTED');
  expect(requestWithdrawal(book, { ...wallet, commandId: 'wd', requestHash: 'h', withdrawalId: 'w1', amount: '20' }).status).toBe('ACCEPTED');
  expect(holdStake(book, { ...wallet, commandId: 'create', requestHash: 'h', orderId: 'order-1', amount: '5' }).status).toBe('ACCEPTED');
  return book;
}

const settlement = (total: string): LedgerCommandPayloads['settlement.requested'] => ({ ...wallet, commandId: `s-${total}`, requestHash: 'h', totalOrderAmount: total, pnlAmount: '0' });
const cancel = (amount: string, orderId?: string): LedgerCommandPayloads['order.cancelled'] => ({ ...wallet, commandId: `x-${amount}`, requestHash: 'h', amount, ...(orderId ? { orderId } : {}) });

describe('hold pools', () => {
  it('a settlement consumes order holds only, never a trade stake or a pending withdrawal', () => {
    const book = bookHoldingThreeWays();
    expect(book.openHeld(walletKey, 'orders').toString()).toBe('5');
    // 35 is held in all, but only 5 of it by orders.
    expect(settleOrders(book, settlement('5.00000001'))).toEqual({ status: 'REJECTED', reason: 'INSUFFICIENT_HELD' });
    expect(settleOrders(book, settlement('5')).status).toBe('ACCEPTED');
    expect(book.hold('trade-1')?.remaining.toString()).toBe('10');
    expect(book.hold('withdrawal:w1')?.remaining.toString()).toBe('20');
    expect(book.hold('order-1')?.remaining.toString()).toBe('0');
    // The trade still closes with its whole stake.
    expect(closeTrade(book, { ...wallet, commandId: 'close', requestHash: 'h', orderId: 'trade-1', winAmount: '19' }).status).toBe('ACCEPTED');
  });

  it('a cancel without an order releases order holds only', () => {
    const book = bookHoldingThreeWays();
    expect(releaseStake(book, cancel('6'))).toEqual({ status: 'REJECTED', reason: 'INSUFFICIENT_HELD' });
    expect(releaseStake(book, cancel('5')).status).toBe('ACCEPTED');
    expect(book.hold('trade-1')?.remaining.toString()).toBe('10');
  });

  it('sums and takes open holds only of a wallet whose open holds were all loaded, not from the ones commands named', () => {
    const accounts: BookAccount[] = [
      { id: '1', code: 'user:m:u:USDT:available', walletKey, kind: 'available', currency: 'USDT', balance: new Decimal(0), shared: false },
      { id: '2', code: 'user:m:u:USDT:held', walletKey, kind: 'held', currency: 'USDT', balance: new Decimal(8), shared: false },
    ];
    const hold = (orderId: string, amount: number) => ({ orderId, walletKey, pool: 'orders' as const, amount: new Decimal(amount), remaining: new Decimal(amount), isNew: false });
    const partial = new Book(accounts.map((a) => ({ ...a })));
    // The batch read order-2 by its id alone: the wallet holds 5 more in order-1.
    partial.loadHolds([hold('order-2', 3)], []);
    expect(() => partial.openHeld(walletKey, 'orders')).toThrow('the open holds of wallet m:u:USDT were not loaded for this batch');
    expect(() => settleOrders(partial, settlement('3'))).toThrow('were not loaded');
    expect(releaseStake(partial, cancel('3', 'order-2')).status).toBe('ACCEPTED');
    const whole = new Book(accounts.map((a) => ({ ...a })));
    whole.loadHolds([hold('order-1', 5), hold('order-2', 3)], [walletKey]);
    expect(whole.openHeld(walletKey, 'orders').toString()).toBe('8');
  });

  it('an ext-orders cancel cannot name a trade, and a closetrade cannot name an order', () => {
    const book = bookHoldingThreeWays();
    expect(releaseStake(book, cancel('10', 'trade-1'))).toEqual({ status: 'REJECTED', reason: 'ORDER_NOT_FOUND' });
    expect(closeTrade(book, { ...wallet, commandId: 'close', requestHash: 'h', orderId: 'order-1', winAmount: '0' })).toEqual({ status: 'REJECTED', reason: 'ORDER_NOT_FOUND' });
  });
});
