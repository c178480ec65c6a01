import { LedgerDriver } from './ledger-driver';
import { System, uniqueId } from './system';

describe('ledger operations over Kafka: trades, withdrawals, transfers and conversions', () => {
  let system: System;
  let ledger: LedgerDriver;
  let m: string;
  const wallet = (username: string, currency = 'USDT') => ({ merchantId: m, username, currency });

  beforeAll(async () => {
    system = new System();
    await system.start();
    ledger = new LedgerDriver(system.infra.KAFKA_BROKERS);
    await ledger.start();
    m = uniqueId('m');
    await system.fund(m, 'alice', '100', 'a');
    await system.fund(m, 'bob', '1', 'b');
  });

  afterAll(async () => {
    await ledger?.stop();
    await system?.stop();
  });

  async function balances(username: string, currency = 'USDT'): Promise<string> {
    const rows = await system.query<{ kind: string; balance: string }>(`SELECT kind, balance FROM ledger.accounts WHERE wallet_key = $1 ORDER BY kind`, [`${m}:${username}:${currency}`]);
    return rows.map((r) => `${r.kind}=${r.balance}`).join(' ');
  }

  async function platform(code: string): Promise<string | undefined> {
    const rows = await system.query<{ balance: string }>(`SELECT balance FROM ledger.accounts WHERE code = $1`, [code]);
    return rows[0]?.balance;
  }

  it('closes a trade paying stake plus payout, with the house paying the difference, and only once', async () => {
    await ledger.send('order.created', { ...wallet('alice'), commandId: `${m}:open-1`, orderId: `${m}:trade-1`, amount: '10', pool: 'trades' });
    expect((await ledger.result(`${m}:open-1`)).status).toBe('ACCEPTED');
    await ledger.send('trade.closed', { ...wallet('alice'), commandId: `${m}:close-1`, orderId: `${m}:trade-1`, winAmount: '19' });
    expect(await ledger.result(`${m}:close-1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '109.00000000', held: '0.00000000' } });
    expect(await platform(`house:${m}:USDT`)).toBe('-9.00000000');
    await ledger.send('trade.closed', { ...wallet('alice'), commandId: `${m}:close-1-again`, orderId: `${m}:trade-1`, winAmount: '19' });
    expect(await ledger.result(`${m}:close-1-again`)).toMatchObject({ status: 'REJECTED', reason: 'HOLD_EXCEEDED' });
  });

  it('holds a withdrawal, pays it out once on completion, and returns a failed one', async () => {
    await ledger.send('withdrawal.requested', { ...wallet('alice'), commandId: `${m}:w1`, withdrawalId: 'w1', amount: '20' });
    expect(await ledger.result(`${m}:w1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '89.00000000', held: '20.00000000' } });
    await ledger.send('withdrawal.completed', { ...wallet('alice'), commandId: `${m}:w1-done`, withdrawalId: 'w1' });
    expect(await ledger.result(`${m}:w1-done`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '89.00000000', held: '0.00000000' } });
    await ledger.send('withdrawal.completed', { ...wallet('alice'), commandId: `${m}:w1-done-again`, withdrawalId: 'w1' });
    expect(await ledger.result(`${m}:w1-done-again`)).toMatchObject({ status: 'REJECTED', reason: 'HOLD_EXCEEDED' });

    await ledger.send('withdrawal.requested', { ...wallet('alice'), commandId: `${m}:w2`, withdrawalId: 'w2', amount: '5' });
    await ledger.send('withdrawal.failed', { ...wallet('alice'), commandId: `${m}:w2-failed`, withdrawalId: 'w2' });
    expect(await ledger.result(`${m}:w2-failed`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '89.00000000', held: '0.00000000' } });
  });

  it('transfers between two users on different partitions through transit, and refunds when the receiver has no wallet', async () => {
    await ledger.send('transfer.requested', { ...wallet('alice'), commandId: `${m}:t1`, toUsername: 'bob', amount: '30' });
    expect(await ledger.result(`${m}:t1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '59.00000000' } });
    expect(await ledger.result(`${m}:t1:credit`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '31.00000000', held: '0.00000000' } });

    await ledger.send('transfer.requested', { ...wallet('alice'), commandId: `${m}:t2`, toUsername: 'nobody', amount: '9' });
    expect(await ledger.result(`${m}:t2:refund`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '59.00000000' } });
    expect(await platform(`transit:${m}:USDT`)).toBe('0.00000000');
    expect(await balances('nobody')).toBe('');
  });

  it('converts at a rate with named rounding against the FX accounts, opening the target wallet', async () => {
    await ledger.send('conversion.requested', { ...wallet('alice'), commandId: `${m}:c1`, toCurrency: 'BTC', amount: '50', rate: '0.0000123456789', rounding: 'down' });
    expect(await ledger.result(`${m}:c1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '9.00000000' } });
    expect(await ledger.result(`${m}:c1:credit`)).toMatchObject({ status: 'ACCEPTED', balances: { currency: 'BTC', available: '0.00061728' } });
    expect(await balances('alice', 'BTC')).toBe('available=0.00061728 held=0.00000000');
  });

  it('leaves every invariant intact', async () => {
    const audit = await system.auditWhenDrained();
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
