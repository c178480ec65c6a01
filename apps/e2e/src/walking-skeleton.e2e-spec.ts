import { randomBytes } from 'node:crypto';
import { OtlpReceiver } from '@settlement/testing';
import { System, uniqueId } from './system';

const base = '/payment/wallet/v1/binaryOption/ext-orders';

describe('walking skeleton: an order from HTTP through Kafka and the ledger and back', () => {
  const otlp = new OtlpReceiver();
  let system: System;
  let token: string;
  let merchant: string;

  beforeAll(async () => {
    const endpoint = await otlp.start();
    system = new System({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' });
    await system.start();
    merchant = uniqueId('m');
    token = await system.merchantWithToken(merchant);
    await system.fund(merchant, 'alice', '1000', 'initial-alice');
  });

  afterAll(async () => {
    await system?.stop();
    await otlp.stop();
  });

  const create = (body: Record<string, unknown>, auth = `Bearer ${token}`, headers: Record<string, string> = {}) =>
    system.call('PUT', `${base}/create`, body, { authorization: auth, ...headers });

  async function balances(username: string): Promise<Record<string, string>> {
    const rows = await system.query<{ kind: string; balance: string }>(`SELECT kind, balance FROM ledger.accounts WHERE wallet_key = $1`, [
      `${merchant}:${username}:USDT`,
    ]);
    return Object.fromEntries(rows.map((r) => [r.kind, r.balance]));
  }

  it('holds the stake and answers with the seed success envelope', async () => {
    const response = await create({ extRequestId: uniqueId('r'), username: 'alice', currency: 'USDT', amount: '100.0', bonusAmount: '0', extRefId: 'ref-1' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ code: 1, msg: 'Success', time: expect.any(Number), data: null, success: true });
    expect(Math.abs(response.body.time - Date.now())).toBeLessThan(60000);
    expect(await balances('alice')).toEqual({ available: '900.00000000', held: '100.00000000' });
  });

  it('answers 400 with code 11000013 for more than the available balance, and moves nothing', async () => {
    const before = await balances('alice');
    const response = await create({ extRequestId: uniqueId('r'), username: 'alice', currency: 'USDT', amount: '900.00000001', bonusAmount: '0' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 11000013, msg: 'Insufficient Balance in Wallet', data: null, success: false });
    expect(await balances('alice')).toEqual(before);
  });

  it('moves money once when the same extRequestId is sent twice, and answers both the same', async () => {
    const before = await balances('alice');
    const body = { extRequestId: uniqueId('dup'), username: 'alice', currency: 'USDT', amount: '10', bonusAmount: '0' };
    const [first, second] = await Promise.all([create(body), create(body)]);
    const third = await create(body);
    for (const r of [first, second, third]) expect(r.body).toMatchObject({ code: 1, success: true });
    const after = await balances('alice');
    expect(Number(before['available']) - Number(after['available'])).toBe(10);
    const postings = await system.query(`SELECT count(*)::int AS n FROM ledger.transactions WHERE command_id = $1`, [`ext-orders:${merchant}:${body.extRequestId}`]);
    expect(postings[0]['n']).toBe(1);
  });

  it('refuses the same extRequestId with a different body as a conflict', async () => {
    const id = uniqueId('c');
    expect((await create({ extRequestId: id, username: 'alice', currency: 'USDT', amount: '1', bonusAmount: '0' })).status).toBe(200);
    const conflict = await create({ extRequestId: id, username: 'alice', currency: 'USDT', amount: '2', bonusAmount: '0' });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ code: 11000105, success: false });
  });

  it('answers 500 with code 11000012 for a user without a wallet', async () => {
    const response = await create({ extRequestId: uniqueId('r'), username: 'nobody', currency: 'USDT', amount: '1', bonusAmount: '0' });
    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ code: 11000012, msg: 'USER_WALLET_NOT_FOUND', success: false });
  });

  it('refuses a missing or wrong bearer token with 401 in the seed envelope', async () => {
    const body = { extRequestId: uniqueId('r'), username: 'alice', currency: 'USDT', amount: '1', bonusAmount: '0' };
    for (const auth of ['', 'Bearer not-a-token', `Basic ${token}`]) {
      const response = await create(body, auth);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 11000401, success: false, data: null });
    }
  });

  it('leaves a ledger that passes every invariant of the checker', async () => {
    const audit = await system.auditWhenDrained();
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
    expect(audit.counts.transactions).toBeGreaterThan(0);
  });

  it('yields one trace with spans from the gateway, the ledger and the settlement service', async () => {
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const response = await create({ extRequestId: uniqueId('t'), username: 'alice', currency: 'USDT', amount: '1', bonusAmount: '0' }, `Bearer ${token}`, { traceparent });
    expect(response.body.code).toBe(1);
    const deadline = Date.now() + 20000;
    const servicesInTrace = () => new Set(otlp.spans.filter((s) => s.traceId === traceId).map((s) => s.service));
    while (Date.now() < deadline && servicesInTrace().size < 3) await new Promise((r) => setTimeout(r, 200));
    expect([...servicesInTrace()].sort()).toEqual(['gateway', 'ledger', 'settlement']);
    const names = otlp.spans.filter((s) => s.traceId === traceId).map((s) => `${s.service}: ${s.name}`);
    expect(names).toEqual(expect.arrayContaining(['ledger: ledger apply order.created', 'settlement: settlement record order.accepted']));
  });

  it('reports each service\'s event-loop delay and GC pauses second by second on /health/runtime', async () => {
    for (const service of Object.values(system.services)) {
      const response = await fetch(`${service.url}/health/runtime`);
      expect(response.status).toBe(200);
      const { seconds } = (await response.json()) as { seconds: Record<string, number>[] };
      // Each service has run for seconds by now, and each of them is closed once a second.
      expect(seconds.length).toBeGreaterThan(0);
      const last = seconds[seconds.length - 1];
      expect(Object.keys(last).sort()).toEqual(['gcMajor', 'gcPauseMaxMs', 'gcPauseMs', 'loopDelayMaxMs', 'loopDelayP99Ms', 'startMs']);
      expect(Math.abs(last.startMs - Date.now())).toBeLessThan(5000);
      for (const s of seconds) expect(s.loopDelayMaxMs).toBeGreaterThanOrEqual(s.loopDelayP99Ms);
    }
  });
});
