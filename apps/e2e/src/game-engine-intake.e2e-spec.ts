import { Decimal } from '@settlement/money';
import { signed } from './seamless-digest';
import { System, adminToken, uniqueId } from './system';

const base = '/payment/wallet/v1/binaryOption/ext-orders';

describe('game-engine intake: ext-orders (seed 000) and seamless wallet (seed 003) exactly as documented', () => {
  let system: System;
  let merchant: string;
  let token: string;
  let walletSecret: string;

  beforeAll(async () => {
    system = new System();
    await system.start();
    merchant = uniqueId('m');
    const created = await system.call('POST', '/admin/merchants', { merchantId: merchant }, { authorization: `Bearer ${adminToken}` });
    walletSecret = created.body.walletSecret;
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: created.body.clientId, client_secret: created.body.clientSecret });
    const response = await fetch(`${system.gatewayUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    token = ((await response.json()) as { access_token: string }).access_token;
    await system.fund(merchant, 'abc@def', '1000', 'seed');
    await system.call('POST', '/admin/wallets/fund', { merchantId: merchant, username: 'trader', currency: 'USD', amount: '2280', reference: 'usd' }, { authorization: `Bearer ${adminToken}` });
  });

  afterAll(async () => {
    await system?.stop();
  });

  const ext = (method: string, op: string, body?: unknown, bearer = token) => system.call(method, `${base}/${op}`, body, { authorization: `Bearer ${bearer}` });

  describe('ext-orders', () => {
    const createId = uniqueId('create-');

    it('creates, queries, cancels and settles with the seed bodies and answers', async () => {
      const create = await ext('PUT', 'create', { extRequestId: createId, username: 'abc@def', currency: 'USDT', amount: '100.0', bonusAmount: '0', extRefId: 'external extra ref id' });
      expect(create.status).toBe(200);
      expect(Object.keys(create.body)).toEqual(['code', 'msg', 'time', 'data', 'success']);
      expect(create.body).toMatchObject({ code: 1, msg: 'Success', data: null, success: true });

      const order = await ext('GET', createId);
      expect(order.body).toMatchObject({
        code: 1,
        msg: 'Success',
        success: true,
        data: { extRequestId: createId, username: 'abc@def', currency: 'USDT', amount: '100', bonusAmount: '0', extRefId: 'external extra ref id', status: 'ACCEPTED' },
      });

      const cancelId = uniqueId('cancel-');
      const cancel = await ext('PUT', 'cancel', { extRequestId: cancelId, username: 'abc@def', currency: 'USDT', amount: '100.0', bonusAmount: '0', extRefId: createId });
      expect(cancel.body).toMatchObject({ code: 1, data: null, success: true });

      await ext('PUT', 'create', { extRequestId: uniqueId('create-'), username: 'abc@def', currency: 'USDT', amount: '123.00', bonusAmount: '0' });
      const settleId = uniqueId('settle-');
      const settle = await ext('POST', 'settlement', {
        extRequestId: settleId, username: 'abc@def', currency: 'USDT', totalOrderAmount: '123.00', totalOrderBonusAmount: '0.0', pnlAmount: '-100.0', pnlBonusAmount: '0.0', extRefId: 'external extra ref id',
      });
      expect(settle.body).toMatchObject({ code: 1, msg: 'Success', success: true, data: { transactionRef: expect.stringMatching(/^[0-9]+$/) } });

      const settled = await ext('GET', settleId);
      expect(settled.body.data).toMatchObject({ extRequestId: settleId, username: 'abc@def', currency: 'USDT', totalOrderAmount: '123', pnlAmount: '-100', extRefId: 'external extra ref id', transactionRef: settle.body.data.transactionRef });

      const missing = await ext('GET', uniqueId('never-'));
      expect(missing.body).toEqual({ code: 1, msg: 'Success', time: expect.any(Number), data: null, success: true });
    });

    it.each([
      ['malformed JSON', '{"extRequestId":', 400, 11000100],
      ['an unknown field', { extRequestId: 'x1', username: 'abc@def', currency: 'USDT', amount: '1', bonusAmount: '0', colour: 'red' }, 400, 11000101],
      ['a missing field', { extRequestId: 'x2', currency: 'USDT', amount: '1' }, 400, 11000101],
      ['an amount in exponent form', { extRequestId: 'x3', username: 'abc@def', currency: 'USDT', amount: '1e5', bonusAmount: '0' }, 400, 11000102],
      ['a numeric amount', { extRequestId: 'x4', username: 'abc@def', currency: 'USDT', amount: 100, bonusAmount: '0' }, 400, 11000102],
      ['nine decimals', { extRequestId: 'x5', username: 'abc@def', currency: 'USDT', amount: '0.000000001', bonusAmount: '0' }, 400, 11000102],
      ['23 digits', { extRequestId: 'x6', username: 'abc@def', currency: 'USDT', amount: '12345678901234567890123', bonusAmount: '0' }, 400, 11000102],
      ['a non-zero bonus', { extRequestId: 'x7', username: 'abc@def', currency: 'USDT', amount: '1', bonusAmount: '1' }, 400, 11000103],
      ['an unknown currency', { extRequestId: 'x8', username: 'abc@def', currency: 'DOGE', amount: '1', bonusAmount: '0' }, 400, 11000104],
      ['more than the balance', { extRequestId: 'x9', username: 'abc@def', currency: 'USDT', amount: '100000', bonusAmount: '0' }, 400, 11000013],
      ['a user without a wallet', { extRequestId: 'x10', username: 'ghost', currency: 'USDT', amount: '1', bonusAmount: '0' }, 500, 11000012],
    ])('answers %s with its documented status and code, moving nothing', async (_what, body, status, code) => {
      const response = await ext('PUT', 'create', body);
      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({ code, success: false, data: null, time: expect.any(Number) });
    });

    it('answers 401/11000401 without a valid bearer token', async () => {
      const response = await ext('PUT', 'create', { extRequestId: 'y', username: 'abc@def', currency: 'USDT', amount: '1' }, 'forged');
      expect(response).toMatchObject({ status: 401, body: { code: 11000401, success: false } });
    });

    it('moves money once for 20 concurrent copies of one request, and refuses the id with another body', async () => {
      const body = { extRequestId: uniqueId('dup-'), username: 'abc@def', currency: 'USDT', amount: '7', bonusAmount: '0' };
      const answers = await Promise.all(Array.from({ length: 20 }, () => ext('PUT', 'create', body)));
      expect(answers.map((a) => a.body.code)).toEqual(Array(20).fill(1));
      const txs = await system.query(`SELECT count(*)::int AS n FROM ledger.transactions WHERE command_id = $1`, [`ext-orders:${merchant}:${body.extRequestId}`]);
      expect(txs[0]['n']).toBe(1);
      const conflict = await ext('PUT', 'create', { ...body, amount: '8' });
      expect(conflict).toMatchObject({ status: 409, body: { code: 11000105 } });
    });

    it("answers 500/11000048 (DB Exception) when the ledger's database refuses an order, moves nothing, and applies the same request once the cause is gone", async () => {
      await system.fund(merchant, 'poe', '100', 'poe');
      const body = { extRequestId: uniqueId('poison-'), username: 'poe', currency: 'USDT', amount: '10', bonusAmount: '0' };
      // A trigger stands in for an error nobody foresaw that this order's data meets on every attempt.
      const orderId = `ext-orders:${merchant}:${body.extRequestId}`;
      const removeTrigger = await system.refuseInserts('holds', `NEW.order_id = '${orderId}'`, `e2e refuses order ${orderId}`);
      try {
        const started = Date.now();
        const refused = ext('PUT', 'create', body);
        // A command refused alone waits for the commands behind it on its partition: the wallet's next order.
        await new Promise((r) => setTimeout(r, 200));
        const next = await ext('PUT', 'create', { extRequestId: uniqueId('next-'), username: 'poe', currency: 'USDT', amount: '5', bonusAmount: '0' });
        expect(await refused).toMatchObject({ status: 500, body: { code: 11000048, msg: 'DB Exception', data: null, success: false } });
        // Answered, not left to the gateway's 5-s result wait (504/11000106).
        expect(Date.now() - started).toBeLessThan(5000);
        expect(next).toMatchObject({ status: 200, body: { code: 1, success: true } });
        expect((await ext('GET', body.extRequestId)).body.data).toBeNull();
        const holds = await system.query(`SELECT order_id FROM ledger.holds WHERE wallet_key = $1`, [`${merchant}:poe:USDT`]);
        expect(holds.map((h) => h['order_id'])).not.toContain(orderId);
      } finally {
        await removeTrigger();
      }
      expect(await ext('PUT', 'create', body)).toMatchObject({ status: 200, body: { code: 1, success: true } });
      expect((await ext('GET', body.extRequestId)).body.data).toMatchObject({ extRequestId: body.extRequestId, amount: '10', status: 'ACCEPTED' });
    });

    it("never lets one merchant see or move another merchant's users and orders", async () => {
      const other = uniqueId('m');
      const otherToken = await system.merchantWithToken(other);
      expect((await ext('GET', createId, undefined, otherToken)).body.data).toBeNull();
      const attempt = await ext('PUT', 'create', { extRequestId: uniqueId('z'), username: 'abc@def', currency: 'USDT', amount: '1', bonusAmount: '0' }, otherToken);
      expect(attempt.body.code).toBe(11000012);
    });
  });

  describe('seamless wallet', () => {
    let walletToken: string;
    const call = (op: string, body: Record<string, unknown>) => system.call('POST', `/seamless/v1/${op}`, body);

    beforeAll(async () => {
      const minted = await system.call('POST', '/seamless/v1/tokens', { username: 'trader', currency: 'USD' }, { authorization: `Bearer ${token}` });
      expect(minted.status).toBe(201);
      walletToken = minted.body.token;
    });

    it('answers getbalance, opentrade and closetrade in the seed shape with the balance after each action', async () => {
      expect((await call('getbalance', signed({ token: walletToken, amount: '100', currency: 'USD' }, walletSecret))).body).toEqual({ balance: '2280', currency: 'USD', status: 'Ok' });
      const open = await call('opentrade', signed({ token: walletToken, amount: '100', currency: 'USD', externalTradeType: 'options', externalTradeId: '8461378' }, walletSecret));
      expect(open).toEqual({ status: 200, body: { balance: '2180', currency: 'USD', status: 'Ok' } });
      const again = await call('opentrade', signed({ token: walletToken, amount: '100', currency: 'USD', externalTradeType: 'options', externalTradeId: '8461378' }, walletSecret));
      expect(again.body).toEqual({ balance: '2180', currency: 'USD', status: 'Ok' });
      const close = await call(
        'closetrade',
        signed(
          {
            token: walletToken, amount: '190', currency: 'USD', externalTradeType: 'options', externalTradeId: '8461378',
            data: { tradeID: '10189550', userID: '819335', stake: '100.0000000000', payout: '90', rebate: '0', instrumentID: '139', expiryPrice: '103336.623', pnl: '90', returnedAmount: '190' },
          },
          walletSecret,
        ),
      );
      expect(close.body).toEqual({ balance: '2370', currency: 'USD', status: 'Ok' });
      const stored = await system.query(`SELECT command->'tradeData'->>'tradeID' AS trade FROM ledger.inbox WHERE command_id = $1`, [`seamless:${merchant}:close:8461378`]);
      expect(stored[0]['trade']).toBe('10189550');
    });

    it('refuses a bad digest, an unknown token, a duplicate with another amount, an unknown trade and insufficient funds', async () => {
      const bad = await call('getbalance', { token: walletToken, amount: '1', currency: 'USD', hash: 'b0fc7d839d7b98fc639b01d9c63382ea' });
      expect(bad).toMatchObject({ status: 401, body: { status: 'Error', code: 'INVALID_HASH' } });
      const tampered = { ...signed({ token: walletToken, amount: '1', currency: 'USD' }, walletSecret), amount: '2' };
      expect((await call('getbalance', tampered)).body.code).toBe('INVALID_HASH');
      expect((await call('getbalance', signed({ token: 'nope', amount: '1', currency: 'USD' }, walletSecret))).body.code).toBe('INVALID_TOKEN');
      await call('opentrade', signed({ token: walletToken, amount: '10', currency: 'USD', externalTradeType: 'options', externalTradeId: 't-dup' }, walletSecret));
      const duplicate = await call('opentrade', signed({ token: walletToken, amount: '11', currency: 'USD', externalTradeType: 'options', externalTradeId: 't-dup' }, walletSecret));
      expect(duplicate).toMatchObject({ status: 409, body: { status: 'Error', code: 'DUPLICATE_TRADE' } });
      const unknown = await call('closetrade', signed({ token: walletToken, amount: '0', currency: 'USD', externalTradeType: 'options', externalTradeId: 'never-opened' }, walletSecret));
      expect(unknown).toMatchObject({ status: 404, body: { code: 'UNKNOWN_TRADE' } });
      const broke = await call('opentrade', signed({ token: walletToken, amount: '999999', currency: 'USD', externalTradeType: 'options', externalTradeId: 't-big' }, walletSecret));
      expect(broke).toMatchObject({ status: 400, body: { code: 'INSUFFICIENT_FUNDS' } });
    });

    it('honours closetrade for an open trade after the token expired, and nothing else', async () => {
      const minted = await system.call('POST', '/seamless/v1/tokens', { username: 'trader', currency: 'USD', ttlSeconds: 1 }, { authorization: `Bearer ${token}` });
      const shortToken = minted.body.token as string;
      const open = await call('opentrade', signed({ token: shortToken, amount: '5', currency: 'USD', externalTradeType: 'options', externalTradeId: 't-exp' }, walletSecret));
      expect(open.body.status).toBe('Ok');
      await new Promise((r) => setTimeout(r, 1500));
      expect((await call('getbalance', signed({ token: shortToken, amount: '1', currency: 'USD' }, walletSecret))).body.code).toBe('TOKEN_EXPIRED');
      const close = await call('closetrade', signed({ token: shortToken, amount: '0', currency: 'USD', externalTradeType: 'options', externalTradeId: 't-exp' }, walletSecret));
      expect(close.body.status).toBe('Ok');
    });

    it("keeps a seamless trade's stake out of ext-orders settlements and cancels of the same wallet", async () => {
      // Found by `npm run bench`: a settlement consumed the oldest holds of any kind, so it could take this stake.
      const open = await call('opentrade', signed({ token: walletToken, amount: '30', currency: 'USD', externalTradeType: 'options', externalTradeId: 't-pool' }, walletSecret));
      expect(open.body.status).toBe('Ok');
      const settle = await ext('POST', 'settlement', { extRequestId: uniqueId('s-pool-'), username: 'trader', currency: 'USD', totalOrderAmount: '30', pnlAmount: '0' });
      expect(settle.body).toMatchObject({ code: 11000013, success: false });
      const cancel = await ext('PUT', 'cancel', { extRequestId: uniqueId('x-pool-'), username: 'trader', currency: 'USD', amount: '30', bonusAmount: '0' });
      expect(cancel.body).toMatchObject({ success: false });
      const close = await call('closetrade', signed({ token: walletToken, amount: '57', currency: 'USD', externalTradeType: 'options', externalTradeId: 't-pool' }, walletSecret));
      expect(close.body).toMatchObject({ status: 'Ok' });
    });

    it("answers 500 INTERNAL_ERROR (seamless) and 500 LEDGER_ERROR (admin funding) when the ledger's database refuses them, moving nothing", async () => {
      const balance = async () => (await call('getbalance', signed({ token: walletToken, amount: '1', currency: 'USD' }, walletSecret))).body.balance as string;
      const before = new Decimal(await balance());
      const trade = { token: walletToken, amount: '10', currency: 'USD', externalTradeType: 'options', externalTradeId: uniqueId('t-refused-') };
      const funding = { merchantId: merchant, username: 'trader', currency: 'USD', amount: '10', reference: uniqueId('refused-') };
      const refusedIds = [`seamless:${merchant}:open:${trade.externalTradeId}`, `admin-funding:${merchant}:${funding.reference}`];
      // A trigger stands in for an error nobody foresaw that these two commands' data meet on every attempt.
      const removeTrigger = await system.refuseInserts('transactions', `NEW.command_id IN ('${refusedIds.join("', '")}')`, 'e2e refuses the command');
      const admin = { authorization: `Bearer ${adminToken}` };
      try {
        const open = call('opentrade', signed(trade, walletSecret));
        const fund = system.call('POST', '/admin/wallets/fund', funding, admin);
        // Commands refused alone wait for the commands behind them on their partition: another funding of the wallet.
        await new Promise((r) => setTimeout(r, 200));
        const next = await system.call('POST', '/admin/wallets/fund', { ...funding, amount: '5', reference: uniqueId('next-') }, admin);
        expect(await open).toMatchObject({ status: 500, body: { status: 'Error', code: 'INTERNAL_ERROR' } });
        expect(await fund).toMatchObject({ status: 500, body: { error: 'LEDGER_ERROR' } });
        expect(next).toMatchObject({ status: 200, body: { status: 'ACCEPTED' } });
        expect(await balance()).toBe(before.plus(5).toFixed());
      } finally {
        await removeTrigger();
      }
      // The same requests again, once the cause is gone, are applied.
      expect((await call('opentrade', signed(trade, walletSecret))).body).toEqual({ balance: before.plus(5).minus(10).toFixed(), currency: 'USD', status: 'Ok' });
      expect(await system.call('POST', '/admin/wallets/fund', funding, admin)).toMatchObject({ status: 200, body: { status: 'ACCEPTED' } });
      expect(await balance()).toBe(before.plus(5).toFixed());
    });
  });

  it('leaves a consistent ledger', async () => {
    const audit = await system.auditWhenDrained();
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
