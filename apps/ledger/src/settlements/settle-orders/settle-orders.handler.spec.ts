import fc from 'fast-check';
import { Decimal } from '@settlement/money';
import type { SettlementRequestedV1 } from '@settlement/contracts';
import { Book, type BookAccount } from '../../book/book';
import { convertedAmount } from '../../conversions/convert-funds/convert-funds.handler';
import { settleOrders, settlementPayout } from './settle-orders.handler';

const scaled = (min: number, max: number) => fc.integer({ min, max }).map((n) => new Decimal(n).div(1e8));

function book(held: string): Book {
  const accounts: BookAccount[] = [
    { id: '1', code: 'user:m:u:USDT:available', walletKey: 'm:u:USDT', kind: 'available', currency: 'USDT', balance: new Decimal(0), shared: false },
    { id: '2', code: 'user:m:u:USDT:held', walletKey: 'm:u:USDT', kind: 'held', currency: 'USDT', balance: new Decimal(held), shared: false },
    { id: '3', code: 'house:m:USDT', walletKey: null, kind: 'house', currency: 'USDT', balance: new Decimal(0), shared: true },
  ];
  const b = new Book(accounts);
  b.loadHolds([{ orderId: 'o1', walletKey: 'm:u:USDT', pool: 'orders', amount: new Decimal(held), remaining: new Decimal(held), isNew: false }], ['m:u:USDT']);
  return b;
}

const settle = (total: Decimal, pnl: Decimal): SettlementRequestedV1 => ({
  commandId: 's',
  requestHash: 'h',
  merchantId: 'm',
  username: 'u',
  currency: 'USDT',
  totalOrderAmount: total.toFixed(8),
  pnlAmount: pnl.toFixed(8),
});

describe('settlement arithmetic', () => {
  it('pays total + pnl, takes total from held, and balances against the house for any amounts', () => {
    fc.assert(
      fc.property(scaled(0, 1e12), scaled(-1e12, 1e12), (total, pnl) => {
        const b = book(total.toFixed(8));
        const outcome = settleOrders(b, settle(total, pnl));
        const payout = settlementPayout(total, pnl);
        if (payout === null) return outcome.status === 'REJECTED' && outcome.reason === 'NEGATIVE_PAYOUT';
        const available = b.account('user:m:u:USDT:available').balance;
        const held = b.account('user:m:u:USDT:held').balance;
        const house = b.account('house:m:USDT').balance;
        return outcome.status === 'ACCEPTED' && available.equals(payout) && held.isZero() && house.equals(pnl.negated()) && available.plus(held).plus(house).equals(total);
      }),
    );
  });

  it('rejects settling more than is held', () => {
    expect(settleOrders(book('10'), settle(new Decimal('10.00000001'), new Decimal(0)))).toEqual({ status: 'REJECTED', reason: 'INSUFFICIENT_HELD' });
  });
});

describe('conversion rounding', () => {
  it('rounds the bought amount only by the named mode, never beyond one unit of the 8th decimal', () => {
    fc.assert(
      fc.property(scaled(1, 1e15), scaled(1, 1e12), (amount, rate) => {
        const exact = amount.times(rate);
        const down = convertedAmount(amount, rate, 'down');
        const up = convertedAmount(amount, rate, 'up');
        const even = convertedAmount(amount, rate, 'half-even');
        const unit = new Decimal('0.00000001');
        return down.lessThanOrEqualTo(exact) && up.greaterThanOrEqualTo(exact) && up.minus(down).lessThanOrEqualTo(unit) && (even.equals(down) || even.equals(up));
      }),
    );
  });
});
