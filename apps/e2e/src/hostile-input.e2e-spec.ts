import { createHash } from 'node:crypto';
import http from 'node:http';
import { Decimal } from '@settlement/money';
import { OpenApiAnswers } from './openapi-answers';
import { signed } from './seamless-digest';
import { System, adminToken, uniqueId } from './system';

const base = '/payment/wallet/v1/binaryOption/ext-orders';

/** Low limits so floods are cheap to provoke; every other test here stays well below them. */
const limits = { RATE_LIMIT_MERCHANT_PER_SECOND: '5', RATE_LIMIT_MERCHANT_BURST: '60', RATE_LIMIT_IP_PER_SECOND: '1', RATE_LIMIT_IP_BURST: '40' };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/**
 * One raw HTTP call: any body bytes, any headers, and a chosen source address
 * on the loopback network (127.0.0.x), so per-IP limits can be provoked
 * without spending the budget of 127.0.0.1 that the other tests use.
 */
function raw(url: string, method: string, path: string, options: { body?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: target.hostname, port: target.port, method, path, localAddress: options.localAddress, agent: false, headers: { 'content-type': 'application/json', ...options.headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? null : JSON.parse(text);
          } catch {
            // Left as text: a test asserting a JSON shape fails on it.
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
      },
    );
    request.on('error', reject);
    if (options.body !== undefined) request.write(options.body);
    request.end();
  });
}

describe('hostile input: every answer a documented error, and nothing moves', () => {
  let system: System;
  let merchant: string;
  let token: string;
  let walletSecret: string;
  let walletToken: string;
  let other: string;
  let otherToken: string;
  let otherWalletSecret: string;

  async function merchantWithSecrets(merchantId: string): Promise<{ token: string; walletSecret: string }> {
    const created = await system.call('POST', '/admin/merchants', { merchantId }, { authorization: `Bearer ${adminToken}` });
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: created.body.clientId, client_secret: created.body.clientSecret });
    const issued = await raw(system.gatewayUrl, 'POST', '/oauth/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    return { token: issued.body.access_token as string, walletSecret: created.body.walletSecret as string };
  }

  /** Answers of the ledger's query API, checked against its OpenAPI document (hostile names included). */
  const ledgerQueries = new OpenApiAnswers('ledger-queries.openapi.json');

  /** The ledger's own view of a wallet, over its HTTP query API. */
  async function wallet(merchantId: string, username: string): Promise<{ available: string; held: string } | null> {
    const answer = await ledgerQueries.get<{ available: string; held: string }>(`${system.services.ledger.url}/wallets/${encodeURIComponent(merchantId)}/${encodeURIComponent(username)}/USDT`);
    return answer.status === 404 ? null : answer.body;
  }

  const ext = (method: string, op: string, body?: unknown, bearer = token) => system.call(method, `${base}/${op}`, body, { authorization: `Bearer ${bearer}` });
  const seamless = (op: string, body: unknown) => system.call('POST', `/seamless/v1/${op}`, body);

  beforeAll(async () => {
    system = new System(limits);
    await system.start();
    merchant = uniqueId('h');
    other = uniqueId('o');
    ({ token, walletSecret } = await merchantWithSecrets(merchant));
    ({ token: otherToken, walletSecret: otherWalletSecret } = await merchantWithSecrets(other));
    await system.fund(merchant, 'victim', '1000', 'seed');
    await system.fund(other, 'bystander', '500', 'seed');
    walletToken = (await system.call('POST', '/seamless/v1/tokens', { username: 'victim', currency: 'USDT' }, { authorization: `Bearer ${token}` })).body.token;
  });

  afterAll(async () => {
    await system?.stop();
  });

  /** Runs `attack`, then asserts both wallets are exactly as before. */
  async function movesNothing(attack: () => Promise<void>): Promise<void> {
    const before = [await wallet(merchant, 'victim'), await wallet(other, 'bystander')];
    await attack();
    expect([await wallet(merchant, 'victim'), await wallet(other, 'bystander')]).toEqual(before);
  }

  describe('oversized and malformed requests', () => {
    it('answers a body over 64 KiB with 413 in each dialect', () =>
      movesNothing(async () => {
        const huge = JSON.stringify({ extRequestId: uniqueId('big'), username: 'victim', currency: 'USDT', amount: '1', extRefId: 'x'.repeat(70 * 1024) });
        const create = await raw(system.gatewayUrl, 'PUT', `${base}/create`, { body: huge, headers: { authorization: `Bearer ${token}` } });
        expect(create).toMatchObject({ status: 413, body: { code: 11000413, success: false, data: null } });
        const open = await raw(system.gatewayUrl, 'POST', '/seamless/v1/opentrade', { body: huge });
        expect(open).toMatchObject({ status: 413, body: { status: 'Error', code: 'BODY_TOO_LARGE' } });
      }));

    it("refuses headers beyond Node's 16 KiB with 431 before any handler runs", () =>
      movesNothing(async () => {
        const answer = await raw(system.gatewayUrl, 'PUT', `${base}/create`, {
          body: JSON.stringify({ extRequestId: uniqueId('hdr'), username: 'victim', currency: 'USDT', amount: '1' }),
          headers: { authorization: `Bearer ${token}`, 'x-padding': 'p'.repeat(20 * 1024) },
        });
        expect(answer.status).toBe(431);
      }));

    it('refuses deeply nested JSON with a validation code, never a crash', () =>
      movesNothing(async () => {
        const depth = 20000;
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const create = await ext('PUT', 'create', `{"extRequestId":"${uniqueId('deep')}","username":"victim","currency":"USDT","amount":"1","extRefId":${nested}}`);
        expect(create).toMatchObject({ status: 400, body: { code: 11000101 } });
        const unsigned = { token: walletToken, amount: '1', currency: 'USDT', externalTradeType: 'options', externalTradeId: uniqueId('deep') };
        const close = await seamless('closetrade', `{${Object.entries(unsigned).map(([k, v]) => `"${k}":"${v}"`).join(',')},"hash":"${'0'.repeat(64)}","data":{"x":${nested}}}`);
        expect(close).toMatchObject({ status: 400, body: { status: 'Error', code: 'INVALID_REQUEST' } });
      }));

    it('answers a body that is not JSON, and a media type that is not JSON, in the dialect', () =>
      movesNothing(async () => {
        expect(await ext('PUT', 'create', '{"extRequestId":')).toMatchObject({ status: 400, body: { code: 11000100 } });
        const plain = await raw(system.gatewayUrl, 'PUT', `${base}/create`, { body: '{}', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' } });
        expect(plain).toMatchObject({ status: 415, body: { code: 11000415 } });
        const wrongMethod = await raw(system.gatewayUrl, 'DELETE', `${base}/create`, { headers: { authorization: `Bearer ${token}` } });
        expect(wrongMethod).toMatchObject({ status: 405, headers: { allow: 'PUT' }, body: { code: 11000405 } });
        const nowhere = await raw(system.gatewayUrl, 'POST', '/seamless/v1/withdrawall', { body: '{}' });
        expect(nowhere).toMatchObject({ status: 404, body: { status: 'Error', code: 'NOT_FOUND' } });
      }));

    it("answers the ledger's and the settlement service's unknown paths, other methods and malformed URLs as {error, message}, not in the framework's shape", async () => {
      const ledger = system.services.ledger.url;
      const walletPath = `/wallets/${merchant}/victim/USDT`;
      const plain = (error: string) => ({ error, message: expect.any(String) });
      expect(await raw(ledger, 'DELETE', walletPath)).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' }, body: plain('METHOD_NOT_ALLOWED') });
      expect(await raw(ledger, 'POST', '/commands/x', { body: '{}' })).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' }, body: plain('METHOD_NOT_ALLOWED') });
      expect(await raw(ledger, 'GET', `/wallet/${merchant}/victim/USDT`)).toMatchObject({ status: 404, body: plain('NOT_FOUND') });
      // One past the longest path parameter (2,048 characters as it stands in the URL), and the longest itself.
      expect(await raw(ledger, 'GET', `/commands/${'x'.repeat(2049)}`)).toMatchObject({ status: 414, body: plain('URI_TOO_LONG') });
      expect(await raw(ledger, 'GET', `/commands/${'x'.repeat(2048)}`)).toMatchObject({ status: 404, body: { error: 'COMMAND_NOT_FOUND' } });
      expect(await raw(ledger, 'GET', '/wallets/%E0%A4%A/victim/USDT')).toMatchObject({ status: 400, body: plain('BAD_REQUEST') });
      const settlement = system.services.settlement.url;
      expect(await raw(settlement, 'POST', '/health', { body: '{}' })).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' }, body: plain('METHOD_NOT_ALLOWED') });
      expect(await raw(settlement, 'GET', '/nowhere')).toMatchObject({ status: 404, body: plain('NOT_FOUND') });
    });
  });

  describe('amounts', () => {
    const hostileAmounts: [string, unknown][] = [
      ['an exponent', '1e5'],
      ['NaN', 'NaN'],
      ['Infinity', 'Infinity'],
      ['negative zero', '-0'],
      ['a negative amount', '-5'],
      ['nine decimals', '0.000000001'],
      ['23 digits', '12345678901234567890123'],
      ['fullwidth digits', '１００'],
      ['Arabic-Indic digits', '١٠٠'],
      ['a hex literal', '0x10'],
      ['surrounding spaces', ' 100 '],
      ['a JSON number', 100],
      ['a JSON float', 0.1],
      ['null', null],
      ['an empty string', ''],
    ];

    it.each(hostileAmounts)('refuses %s on create, settlement and opentrade with the documented validation code', (_what, amount) =>
      movesNothing(async () => {
        const create = await ext('PUT', 'create', { extRequestId: uniqueId('amt'), username: 'victim', currency: 'USDT', amount, bonusAmount: '0' });
        expect(create).toMatchObject({ status: 400, body: { code: 11000102, success: false, data: null } });
        const settle = await ext('POST', 'settlement', { extRequestId: uniqueId('amt'), username: 'victim', currency: 'USDT', totalOrderAmount: '0', pnlAmount: amount });
        // -5 is a valid pnl; with nothing held it is a negative payout instead.
        expect(settle).toMatchObject({ status: 400, body: { code: amount === '-5' ? 11000109 : 11000102 } });
        const open = await seamless('opentrade', signed({ token: walletToken, amount, currency: 'USDT', externalTradeType: 'options', externalTradeId: uniqueId('amt') }, walletSecret));
        expect(open).toMatchObject({ status: 400, body: { status: 'Error', code: 'INVALID_REQUEST' } });
      }),
    );
  });

  describe('forged, expired, replayed and borrowed credentials', () => {
    it('refuses a forged, an expired and a malformed bearer token with 401/11000401', () =>
      movesNothing(async () => {
        const expired = `expired-${uniqueId('t')}`;
        await system.query(`INSERT INTO gateway.access_tokens (token_hash, merchant_id, expires_at) VALUES ($1, $2, now() - interval '1 second')`, [
          createHash('sha256').update(expired).digest('hex'),
          merchant,
        ]);
        const body = { extRequestId: uniqueId('forged'), username: 'victim', currency: 'USDT', amount: '1' };
        for (const authorization of ['Bearer forged', `Bearer ${expired}`, `Basic ${token}`, token, '']) {
          const answer = await system.call('PUT', `${base}/create`, body, { authorization });
          expect(answer).toMatchObject({ status: 401, body: { code: 11000401, success: false } });
        }
        expect((await ext('GET', body.extRequestId)).body.data).toBeNull();
      }));

    it('refuses a wrong admin token', () =>
      movesNothing(async () => {
        const fund = await system.call('POST', '/admin/wallets/fund', { merchantId: merchant, username: 'victim', currency: 'USDT', amount: '1000000', reference: uniqueId('r') }, { authorization: 'Bearer guess' });
        expect(fund).toMatchObject({ status: 401, body: { error: 'UNAUTHORIZED' } });
      }));

    it('refuses a bad, a tampered and a foreign-keyed digest, and a replayed one moves money once', async () => {
      const trade = { token: walletToken, amount: '10', currency: 'USDT', externalTradeType: 'options', externalTradeId: uniqueId('replay') };
      await movesNothing(async () => {
        expect(await seamless('opentrade', { ...trade, hash: 'b0fc7d839d7b98fc639b01d9c63382ea' })).toMatchObject({ status: 401, body: { code: 'INVALID_HASH' } });
        expect(await seamless('opentrade', { ...signed(trade, walletSecret), amount: '999' })).toMatchObject({ status: 401, body: { code: 'INVALID_HASH' } });
        expect(await seamless('opentrade', signed(trade, otherWalletSecret))).toMatchObject({ status: 401, body: { code: 'INVALID_HASH' } });
        expect(await seamless('opentrade', { ...trade })).toMatchObject({ status: 401, body: { code: 'INVALID_HASH' } });
      });
      const before = await wallet(merchant, 'victim');
      const first = await seamless('opentrade', signed(trade, walletSecret));
      const replays = await Promise.all(Array.from({ length: 5 }, () => seamless('opentrade', signed(trade, walletSecret))));
      expect(first.body.status).toBe('Ok');
      for (const replay of replays) expect(replay.body).toEqual(first.body);
      const after = await wallet(merchant, 'victim');
      expect(new Decimal(before?.available ?? 'NaN').minus(after?.available ?? 'NaN').toFixed()).toBe('10');
      expect(new Decimal(after?.held ?? 'NaN').minus(before?.held ?? 'NaN').toFixed()).toBe('10');
    });

    it("never lets one merchant's credentials create, cancel, settle or query on another merchant's users and orders", async () => {
      const orderId = uniqueId('own');
      expect((await ext('PUT', 'create', { extRequestId: orderId, username: 'victim', currency: 'USDT', amount: '5' })).body.code).toBe(1);
      await movesNothing(async () => {
        const create = await ext('PUT', 'create', { extRequestId: uniqueId('x'), username: 'victim', currency: 'USDT', amount: '1' }, otherToken);
        expect(create).toMatchObject({ status: 500, body: { code: 11000012 } });
        const cancel = await ext('PUT', 'cancel', { extRequestId: uniqueId('x'), username: 'victim', currency: 'USDT', amount: '5', extRefId: orderId }, otherToken);
        expect(cancel.status).toBeGreaterThanOrEqual(400);
        expect([11000012, 11000107]).toContain(cancel.body.code);
        const settle = await ext('POST', 'settlement', { extRequestId: uniqueId('x'), username: 'victim', currency: 'USDT', totalOrderAmount: '5', pnlAmount: '100' }, otherToken);
        expect(settle).toMatchObject({ status: 500, body: { code: 11000012 } });
        expect((await ext('GET', orderId, undefined, otherToken)).body).toMatchObject({ code: 1, data: null });
        // Merchant B's wallet token names B's user; its digest keyed by A's secret is not B's.
        const otherWalletToken = (await system.call('POST', '/seamless/v1/tokens', { username: 'bystander', currency: 'USDT' }, { authorization: `Bearer ${otherToken}` })).body.token;
        const borrowed = await seamless('opentrade', signed({ token: otherWalletToken, amount: '1', currency: 'USDT', externalTradeType: 'options', externalTradeId: uniqueId('b') }, walletSecret));
        expect(borrowed).toMatchObject({ status: 401, body: { code: 'INVALID_HASH' } });
      });
    });
  });

  describe('floods beyond the rate limits', () => {
    it('answers a merchant over its limit 429/11000429 with Retry-After, and a refused request moves nothing', async () => {
      const flooder = uniqueId('f');
      const { token: flooderToken } = await merchantWithSecrets(flooder);
      await system.fund(flooder, 'whale', '1000', 'seed');
      const ids = Array.from({ length: 120 }, () => uniqueId('flood'));
      const answers = await Promise.all(
        ids.map((extRequestId) =>
          raw(system.gatewayUrl, 'PUT', `${base}/create`, { body: JSON.stringify({ extRequestId, username: 'whale', currency: 'USDT', amount: '1' }), headers: { authorization: `Bearer ${flooderToken}` } }),
        ),
      );
      const limited = answers.filter((a) => a.status === 429);
      const accepted = answers.filter((a) => a.status === 200);
      expect(limited.length).toBeGreaterThan(0);
      expect(accepted.length + limited.length).toBe(ids.length);
      for (const answer of limited) {
        expect(answer).toMatchObject({ body: { code: 11000429, success: false, data: null }, headers: { 'retry-after': expect.stringMatching(/^[1-9][0-9]*$/) } });
      }
      // Exactly the accepted requests moved money: one USDT held per 200, and a refused id was never applied.
      const whale = await wallet(flooder, 'whale');
      expect(new Decimal(whale?.held ?? 'NaN').toFixed()).toBe(String(accepted.length));
      expect(new Decimal(whale?.available ?? 'NaN').toFixed()).toBe(String(1000 - accepted.length));
      const refusedId = ids[answers.findIndex((a) => a.status === 429)];
      await new Promise((r) => setTimeout(r, 1000)); // a token back for the query
      expect((await ext('GET', refusedId, undefined, flooderToken)).body).toMatchObject({ code: 1, data: null });
    });

    it('answers a seamless flood with 429 RATE_LIMITED in the seamless shape', async () => {
      const flooder = uniqueId('s');
      const { token: flooderToken, walletSecret: flooderSecret } = await merchantWithSecrets(flooder);
      await system.fund(flooder, 'whale', '1000', 'seed');
      const flooderWallet = (await system.call('POST', '/seamless/v1/tokens', { username: 'whale', currency: 'USDT' }, { authorization: `Bearer ${flooderToken}` })).body.token;
      const answers = await Promise.all(Array.from({ length: 120 }, () => seamless('getbalance', signed({ token: flooderWallet, currency: 'USDT' }, flooderSecret))));
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      for (const answer of limited) expect(answer.body).toMatchObject({ status: 'Error', code: 'RATE_LIMITED' });
      expect(answers.filter((a) => a.status !== 429).every((a) => a.body.balance === '1000')).toBe(true);
    });

    it('limits /oauth/token and failed authentications per source IP, leaving other addresses alone', async () => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'mch_nobody', client_secret: 'guess' }).toString();
      const oauth = await Promise.all(
        Array.from({ length: 60 }, () => raw(system.gatewayUrl, 'POST', '/oauth/token', { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' }, localAddress: '127.0.0.9' })),
      );
      expect(oauth.filter((a) => a.status === 401).every((a) => a.body.error === 'invalid_client')).toBe(true);
      const limited = oauth.filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(15);
      for (const answer of limited) expect(answer).toMatchObject({ body: { error: 'rate_limited' }, headers: { 'retry-after': expect.stringMatching(/^[0-9]+$/) } });
      // The same address forging bearer tokens is limited too, in the dialect's shape.
      const forged = await raw(system.gatewayUrl, 'PUT', `${base}/create`, { body: '{}', headers: { authorization: 'Bearer forged' }, localAddress: '127.0.0.9' });
      expect(forged).toMatchObject({ status: 429, body: { code: 11000429 } });
      // Another address still gets its honest answer.
      const elsewhere = await raw(system.gatewayUrl, 'POST', '/oauth/token', { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' }, localAddress: '127.0.0.10' });
      expect(elsewhere).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    });
  });

  it('leaves a consistent ledger', async () => {
    const audit = await system.auditWhenDrained();
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
    expect(audit.ok).toBe(true);
  });
});
