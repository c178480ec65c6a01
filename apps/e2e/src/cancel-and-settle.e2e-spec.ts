import { Kafka, logLevel } from 'kafkajs';
import { System, uniqueId } from './system';

const base = '/payment/wallet/v1/binaryOption/ext-orders';

describe('cancel and settlement: held money released and settled exactly', () => {
  let system: System;
  let token: string;
  let merchant: string;

  beforeAll(async () => {
    system = new System();
    await system.start();
    merchant = uniqueId('m');
    token = await system.merchantWithToken(merchant);
    await system.fund(merchant, 'bob', '1000', 'initial-bob');
  });

  afterAll(async () => {
    await system?.stop();
  });

  const call = (method: string, op: string, body: Record<string, unknown>) => system.call(method, `${base}/${op}`, body, { authorization: `Bearer ${token}` });

  async function balances(username: string): Promise<Record<string, string>> {
    const rows = await system.query<{ kind: string; balance: string }>(`SELECT kind, balance FROM ledger.accounts WHERE wallet_key = $1`, [`${merchant}:${username}:USDT`]);
    return Object.fromEntries(rows.map((r) => [r.kind, r.balance]));
  }

  it('releases a cancelled order back to available, never more than the order holds, and only once', async () => {
    const orderId = uniqueId('o');
    expect((await call('PUT', 'create', { extRequestId: orderId, username: 'bob', currency: 'USDT', amount: '100', bonusAmount: '0' })).body.code).toBe(1);
    const tooMuch = await call('PUT', 'cancel', { extRequestId: uniqueId('x'), username: 'bob', currency: 'USDT', amount: '100.00000001', bonusAmount: '0', extRefId: orderId });
    expect(tooMuch).toMatchObject({ status: 400, body: { code: 11000108, success: false } });
    const cancel = { extRequestId: uniqueId('x'), username: 'bob', currency: 'USDT', amount: '100', bonusAmount: '0', extRefId: orderId };
    expect((await call('PUT', 'cancel', cancel)).body).toMatchObject({ code: 1, success: true, data: null });
    expect((await call('PUT', 'cancel', cancel)).body).toMatchObject({ code: 1 });
    expect(await balances('bob')).toEqual({ available: '1000.00000000', held: '0.00000000' });
    const again = await call('PUT', 'cancel', { ...cancel, extRequestId: uniqueId('x') });
    expect(again).toMatchObject({ status: 400, body: { code: 11000108 } });
    const unknown = await call('PUT', 'cancel', { ...cancel, extRequestId: uniqueId('x'), extRefId: 'never-created' });
    expect(unknown).toMatchObject({ status: 400, body: { code: 11000107 } });
  });

  it('settles a loss and a win against the house account and publishes settlement.posted', async () => {
    for (const amount of ['123', '50']) {
      expect((await call('PUT', 'create', { extRequestId: uniqueId('o'), username: 'bob', currency: 'USDT', amount, bonusAmount: '0' })).body.code).toBe(1);
    }
    const loss = await call('POST', 'settlement', {
      extRequestId: uniqueId('s'), username: 'bob', currency: 'USDT', totalOrderAmount: '123.00', totalOrderBonusAmount: '0.0', pnlAmount: '-100.0', pnlBonusAmount: '0.0',
    });
    expect(loss.status).toBe(200);
    expect(loss.body).toMatchObject({ code: 1, msg: 'Success', success: true, data: { transactionRef: expect.stringMatching(/^[0-9]+$/) } });
    expect(await balances('bob')).toEqual({ available: '850.00000000', held: '50.00000000' });

    const win = await call('POST', 'settlement', { extRequestId: uniqueId('s'), username: 'bob', currency: 'USDT', totalOrderAmount: '50', pnlAmount: '40.5' });
    expect(win.body.code).toBe(1);
    expect(await balances('bob')).toEqual({ available: '940.50000000', held: '0.00000000' });
    const house = await system.query(`SELECT balance FROM ledger.accounts WHERE code = $1`, [`house:${merchant}:USDT`]);
    expect(house[0]['balance']).toBe('59.50000000');

    const kafka = new Kafka({ brokers: system.infra.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: uniqueId('finance-') });
    const seen: Record<string, any>[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'settlement.posted.v1', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(JSON.parse(message.value?.toString() ?? '{}')) });
    const deadline = Date.now() + 20000;
    const mine = () => seen.filter((e) => e.payload.merchantId === merchant);
    while (mine().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await consumer.disconnect();
    expect(mine().map((e) => [e.payload.transactionRef, e.payload.payoutAmount])).toEqual([
      [loss.body.data.transactionRef, '23.00000000'],
      [win.body.data.transactionRef, '90.50000000'],
    ]);
  });

  it('refuses a settlement whose payout would be negative, or that settles more than is held', async () => {
    const negative = await call('POST', 'settlement', { extRequestId: uniqueId('s'), username: 'bob', currency: 'USDT', totalOrderAmount: '10', pnlAmount: '-10.00000001' });
    expect(negative).toMatchObject({ status: 400, body: { code: 11000109, success: false } });
    const tooMuch = await call('POST', 'settlement', { extRequestId: uniqueId('s'), username: 'bob', currency: 'USDT', totalOrderAmount: '1', pnlAmount: '0' });
    expect(tooMuch).toMatchObject({ status: 400, body: { code: 11000013, success: false } });
  });

  it('answers 400/11000110 for a settlement whose payout would take the balance past NUMERIC(22,8), moving nothing', async () => {
    await system.fund(merchant, 'cara', '5', 'initial-cara');
    expect(await call('PUT', 'create', { extRequestId: uniqueId('o'), username: 'cara', currency: 'USDT', amount: '5', bonusAmount: '0' })).toMatchObject({ status: 200 });
    const past = await call('POST', 'settlement', { extRequestId: uniqueId('s'), username: 'cara', currency: 'USDT', totalOrderAmount: '5', pnlAmount: '99999999999999' });
    expect(past).toMatchObject({ status: 400, body: { code: 11000110, msg: 'A balance would exceed 99999999999999.99999999', success: false } });
    expect(await balances('cara')).toEqual({ available: '0.00000000', held: '5.00000000' });
    const settled = await call('POST', 'settlement', { extRequestId: uniqueId('s'), username: 'cara', currency: 'USDT', totalOrderAmount: '5', pnlAmount: '1' });
    expect(settled).toMatchObject({ status: 200, body: { code: 1 } });
    expect(await balances('cara')).toEqual({ available: '6.00000000', held: '0.00000000' });
  });

  it('leaves a consistent ledger', async () => {
    const audit = await system.auditWhenDrained();
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
