import { LEDGER_REJECTIONS, type SettlementRequestedV1 } from '@settlement/contracts';
import { Decimal } from '@settlement/money';
import { settleOrders } from '../settlements/settle-orders/settle-orders.handler';
import { holdStake } from '../holds/hold-stake/hold-stake.handler';
import { rejected, type Outcome } from './outcome';
import { BalanceLimitError, Book, type BookAccount } from './book';

const walletKey = 'm:u:USDT';
const wallet = { merchantId: 'm', username: 'u', currency: 'USDT' };
const MAX = '99999999999999.99999999';

function book(available: string, held: string, houseBase = '0'): Book {
  const accounts: BookAccount[] = [
    { id: '1', code: 'user:m:u:USDT:available', walletKey, kind: 'available', currency: 'USDT', balance: new Decimal(available), shared: false },
    { id: '2', code: 'user:m:u:USDT:held', walletKey, kind: 'held', currency: 'USDT', balance: new Decimal(held), shared: false },
    { id: '3', code: 'house:m:USDT', walletKey: null, kind: 'house', currency: 'USDT', balance: new Decimal(0), shared: true, base: new Decimal(houseBase) },
  ];
  const b = new Book(accounts);
  const hold = (orderId: string, amount: string) => ({ orderId, walletKey, pool: 'orders' as const, amount: new Decimal(amount), remaining: new Decimal(amount), isNew: false });
  b.loadHolds([hold('o1', '4'), hold('o2', '6')], [walletKey]);
  return b;
}

const settle = (commandId: string, total: string, pnl: string): SettlementRequestedV1 => ({ ...wallet, commandId, requestHash: 'h', totalOrderAmount: total, pnlAmount: pnl });
const decide = (b: Book, command: SettlementRequestedV1) => b.decide<Outcome>(() => settleOrders(b, command), () => rejected(LEDGER_REJECTIONS.BALANCE_LIMIT));

/** Everything a batch writes from a book, to compare before and after. */
function state(b: Book) {
  return {
    available: b.account('user:m:u:USDT:available').balance.toFixed(8),
    held: b.account('user:m:u:USDT:held').balance.toFixed(8),
    house: b.account('house:m:USDT').balance.toFixed(8),
    openHeld: b.openHeld(walletKey, 'orders').toFixed(8),
    holds: ['o1', 'o2'].map((id) => b.hold(id)?.remaining.toFixed(8)),
    touched: b.touchedAccounts().map((a) => a.code),
    changedHolds: b.holdsToWrite().map((h) => `${h.orderId}=${h.remaining.toFixed(8)}`),
    transactions: b.transactions.map((t) => `${t.commandId}:${t.postings.map((p) => `${p.accountId}${p.amount.toFixed(8)}`).join(',')}`),
  };
}

describe('Book balance limit', () => {
  it('refuses a settlement whose second leg would take available past NUMERIC(22,8), undoing its first leg and the holds it took', () => {
    const b = book('0', '10');
    expect(decide(b, settle('s0', '4', '1')).status).toBe('ACCEPTED');
    const before = state(b);
    // 6 leaves held (o2), then the house would pay 99999999999995: available 5 + 6 + that = 100000000000006.
    expect(decide(b, settle('s1', '6', '99999999999995'))).toEqual({ status: 'REJECTED', reason: 'BALANCE_LIMIT' });
    expect(state(b)).toEqual(before);
    // The same book goes on: the largest payout that fits is accepted.
    expect(decide(b, settle('s2', '6', '99999999999988.99999999')).status).toBe('ACCEPTED');
    expect(b.account('user:m:u:USDT:available').balance.toFixed(8)).toBe(MAX);
    expect(b.transactions.map((t) => t.commandId)).toEqual(['s0', 's2']);
  });

  it("counts a shared account's balance as read plus the batch's delta", () => {
    const b = book('0', '10', `-${MAX}`);
    const before = state(b);
    expect(decide(b, settle('s1', '4', '0.00000001'))).toEqual({ status: 'REJECTED', reason: 'BALANCE_LIMIT' });
    expect(state(b)).toEqual(before);
    // A loss moves the house back toward zero: accepted.
    expect(decide(b, settle('s2', '4', '-1')).status).toBe('ACCEPTED');
    expect(b.account('house:m:USDT').balance.toFixed(8)).toBe('1.00000000');
  });

  it('refuses a hold that would take held past the limit, and undoes a hold created before a refused leg', () => {
    const b = book('10', MAX);
    const before = state(b);
    expect(b.decide(() => holdStake(b, { ...wallet, commandId: 'h1', requestHash: 'h', orderId: 'o3', amount: '1' }), () => rejected(LEDGER_REJECTIONS.BALANCE_LIMIT))).toEqual({
      status: 'REJECTED',
      reason: 'BALANCE_LIMIT',
    });
    expect(b.hold('o3')).toBeUndefined();
    expect(state(b)).toEqual(before);
    // Outside decide the error reaches the caller (the batch fails).
    expect(() => holdStake(b, { ...wallet, commandId: 'h9', requestHash: 'h', orderId: 'o9', amount: '1' })).toThrow(BalanceLimitError);
    const outcome = b.decide(
      () => {
        const tx = b.begin('h2', 'hold');
        b.createHold('o4', walletKey, 'orders', new Decimal(1), tx);
        b.transfer(tx, b.account('user:m:u:USDT:available'), b.account('user:m:u:USDT:held'), new Decimal(1));
        return 'accepted';
      },
      () => 'refused',
    );
    expect(outcome).toBe('refused');
    expect(b.hold('o4')).toBeUndefined();
    expect({ ...state(b), transactions: before.transactions }).toEqual(before);
    expect(b.transactions.map((t) => t.commandId)).toEqual(['h9']);
  });

  it('lets other errors through, undoing nothing (they fail the batch)', () => {
    const b = book('0', '10');
    expect(() => b.decide(() => { throw new Error('programmer error'); }, () => 'refused')).toThrow('programmer error');
  });
});
