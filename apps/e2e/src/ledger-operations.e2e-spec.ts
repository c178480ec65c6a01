import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal } from '@settlement/money';
import { LedgerDriver } from './ledger-driver';
import { OpenApiAnswers } from './openapi-answers';
import { System, repoRoot, uniqueId } from './system';

describe('ledger operations over Kafka: trades, withdrawals, transfers and conversions', () => {
  let system: System;
  let ledger: LedgerDriver;
  let m: string;
  const wallet = (username: string, currency = 'USDT') => ({ merchantId: m, username, currency });
  /** Every answer of the ledger's query API in this file is checked against its OpenAPI document. */
  const queries = new OpenApiAnswers('ledger-queries.openapi.json');

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

  async function outboxPending(): Promise<number> {
    const response = await fetch(`${system.services.ledger.url}/health`);
    return ((await response.json()) as { outboxPending: number }).outboxPending;
  }

  /** Runs `npm run parked`'s program against the test infrastructure, as an operator would. */
  function parkedCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env, DATABASE_URL: system.infra.DATABASE_URL, KAFKA_BROKERS: system.infra.KAFKA_BROKERS };
      execFile(process.execPath, [join(repoRoot, 'dist', 'libs', 'messaging', 'parked-cli.js'), ...args], { env }, (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      });
    });
  }

  /** Waits until the ledger's log holds `text`: proof it has tried what a test then checks it did not do. */
  async function waitForLog(text: string, timeoutMs = 20000): Promise<void> {
    const file = join(process.env['TEST_DATA_DIR'] ?? join(repoRoot, '.data', 'test'), 'logs', `ledger-${system.services.ledger.port}.log`);
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      if (existsSync(file) && readFileSync(file, 'utf8').includes(text)) return;
    }
    throw new Error(`the ledger's log (${file}) did not show "${text}" within ${timeoutMs} ms`);
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

  it('refuses second legs it did not write (a credit of no transfer, a refund of a credited one, a conversion credit of no conversion): answered INVALID_COMMAND, parked, moving nothing, and the real legs still apply', async () => {
    // Anyone who can write to the commands topic could otherwise pay themselves out of transit or FX.
    await system.fund(m, 'quinn', '50', 'quinn');
    await system.fund(m, 'rita', '1', 'rita');
    const transitBefore = (await platform(`transit:${m}:USDT`)) ?? '0.00000000';
    const forged = `${m}:qt-forged`;
    await ledger.send('transfer.credit', { ...wallet('quinn'), commandId: `${forged}:credit`, transferId: forged, amount: '1000', counterparty: 'alice' });
    expect(await ledger.result(`${forged}:credit`)).toMatchObject({ status: 'REJECTED', reason: 'INVALID_COMMAND', balances: { available: '50.00000000' } });
    await ledger.send('conversion.credit', { ...wallet('quinn', 'ZZZ'), commandId: `${forged}-c:credit`, conversionId: `${forged}-c`, amount: '1' });
    expect(await ledger.result(`${forged}-c:credit`)).toEqual({ commandId: `${forged}-c:credit`, commandType: 'conversion.credit', requestHash: 'e2e', status: 'REJECTED', reason: 'INVALID_COMMAND' });
    // Nor does it open the wallet or the FX account it names, as a real credit would.
    expect(await balances('quinn', 'ZZZ')).toBe('');
    expect(await platform('fx:ZZZ')).toBeUndefined();

    // A real transfer, then a refund of it though its credit was made: the sender would be paid twice.
    await ledger.send('transfer.requested', { ...wallet('quinn'), commandId: `${m}:qt1`, toUsername: 'rita', amount: '5' });
    expect(await ledger.result(`${m}:qt1:credit`)).toMatchObject({ status: 'ACCEPTED' });
    await ledger.send('transfer.refund', { ...wallet('quinn'), commandId: `${m}:qt1:refund`, transferId: `${m}:qt1`, amount: '5', counterparty: 'rita' });
    expect(await ledger.result(`${m}:qt1:refund`)).toMatchObject({ status: 'REJECTED', reason: 'INVALID_COMMAND', balances: { available: '45.00000000' } });

    // A forged credit sent ahead of a real transfer's does not take its id: the real one is applied when it comes.
    await ledger.send('transfer.credit', { ...wallet('rita'), commandId: `${m}:qt2:credit`, transferId: `${m}:qt2`, amount: '2', counterparty: 'quinn' });
    expect(await ledger.result(`${m}:qt2:credit`)).toMatchObject({ status: 'REJECTED', reason: 'INVALID_COMMAND' });
    ledger.results.delete(`${m}:qt2:credit`);
    await ledger.send('transfer.requested', { ...wallet('quinn'), commandId: `${m}:qt2`, toUsername: 'rita', amount: '2' });
    expect(await ledger.result(`${m}:qt2:credit`)).toMatchObject({ status: 'ACCEPTED' });

    expect(await balances('quinn')).toBe('available=43.00000000 held=0.00000000');
    expect(await balances('rita')).toBe('available=8.00000000 held=0.00000000');
    expect((await platform(`transit:${m}:USDT`)) ?? '0.00000000').toBe(transitBefore);
    const parked = await system.query<{ reason: string }>(`SELECT reason FROM ledger.parked_messages WHERE raw LIKE $1 ORDER BY id`, [`%${m}:qt%`]);
    expect(parked.map((p) => p.reason)).toEqual([
      `not a second leg the ledger wrote: transfer.credit ${forged}:credit: no accepted transfer.requested ${forged}`,
      `not a second leg the ledger wrote: conversion.credit ${forged}-c:credit: no accepted conversion.requested ${forged}-c`,
      `not a second leg the ledger wrote: transfer.refund ${m}:qt1:refund: the credit ${m}:qt1:credit did not bounce`,
      `not a second leg the ledger wrote: transfer.credit ${m}:qt2:credit: no accepted transfer.requested ${m}:qt2`,
    ]);
    expect(await system.query(`SELECT 1 FROM ledger.inbox WHERE command_id = ANY($1)`, [[`${forged}:credit`, `${forged}-c:credit`, `${m}:qt1:refund`]])).toHaveLength(0);
  });

  it('converts at a rate with named rounding against the FX accounts, opening the target wallet', async () => {
    await ledger.send('conversion.requested', { ...wallet('alice'), commandId: `${m}:c1`, toCurrency: 'BTC', amount: '50', rate: '0.0000123456789', rounding: 'down' });
    expect(await ledger.result(`${m}:c1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '9.00000000' } });
    expect(await ledger.result(`${m}:c1:credit`)).toMatchObject({ status: 'ACCEPTED', balances: { currency: 'BTC', available: '0.00061728' } });
    expect(await balances('alice', 'BTC')).toBe('available=0.00061728 held=0.00000000');
  });

  it("publishes a repeated command's stored result even while its first copy is still being published", async () => {
    // The race behind intermittent 504s with 20 concurrent copies of one request: the relay had locked
    // and sent the first copy of a result but not yet deleted it, so the re-emitted copy for a later
    // duplicate was skipped as already pending, and the client that sent the duplicate never heard back.
    const commandId = `${m}:repeat-1`;
    await ledger.send('order.created', { ...wallet('bob'), commandId, orderId: commandId, amount: '0.5' });
    expect(await ledger.result(commandId)).toMatchObject({ status: 'ACCEPTED' });
    const [stored] = await system.query<{ envelope: string }>(`SELECT result_envelope::text AS envelope FROM ledger.inbox WHERE command_id = $1`, [commandId]);
    const envelope = JSON.parse(stored.envelope) as { eventId: string; aggregateId: string; payload: Record<string, unknown> };
    const { Client } = await import('pg');
    const relayInFlight = new Client({ connectionString: system.infra.DATABASE_URL });
    await relayInFlight.connect();
    try {
      // A copy of the first result, marked, standing for the row the relay is publishing right now: inserted, then locked.
      const copy = { ...envelope, payload: { ...envelope.payload, requestHash: 'first-copy-in-flight' } };
      const [{ id }] = (await relayInFlight.query(`INSERT INTO ledger.outbox (event_id, topic, key, envelope) VALUES ($1, 'ledger.results.v1', $2, $3) RETURNING id`, [envelope.eventId, envelope.aggregateId, JSON.stringify(copy)])).rows;
      await relayInFlight.query('BEGIN');
      await relayInFlight.query(`SELECT id FROM ledger.outbox WHERE id = $1 FOR UPDATE`, [id]);
      // The ledger's health counts the row while it waits in the outbox, locked or not.
      expect(await outboxPending()).toBeGreaterThanOrEqual(1);
      ledger.results.delete(commandId);
      await ledger.send('order.created', { ...wallet('bob'), commandId, orderId: commandId, amount: '0.5' });
      const deadline = Date.now() + 10000;
      while (ledger.results.get(commandId)?.requestHash !== 'e2e' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(ledger.results.get(commandId)).toMatchObject({ status: 'ACCEPTED', requestHash: 'e2e' });
      // What the relay does after sending it.
      await relayInFlight.query(`DELETE FROM ledger.outbox WHERE id = $1`, [id]);
      await relayInFlight.query('COMMIT');
    } finally {
      await relayInFlight.end();
    }
    // Bob's earlier 30 from a transfer stays available; the order held 0.5 once.
    expect(await balances('bob')).toBe('available=30.50000000 held=0.50000000');
  });

  it('refuses a second hold under a used order or withdrawal id, open or closed, each alone in its batch, and moves nothing', async () => {
    // The gateway derives an order id from the command id, so only a producer of its own can reuse one. Each
    // command is sent after the previous one's result, so it is alone in its batch with no other command
    // reading holds: the ledger must look its order id up all the same (the insert would violate the holds
    // key, and the batch would fail on every redelivery).
    await system.fund(m, 'dave', '10', 'd');
    const order = `${m}:dave-order`;
    await ledger.send('order.created', { ...wallet('dave'), commandId: `${m}:dave-1`, orderId: order, amount: '2' });
    expect(await ledger.result(`${m}:dave-1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '8.00000000', held: '2.00000000' } });
    await ledger.send('order.created', { ...wallet('dave'), commandId: `${m}:dave-2`, orderId: order, amount: '3' });
    expect(await ledger.result(`${m}:dave-2`)).toMatchObject({ status: 'REJECTED', reason: 'INVALID_COMMAND', balances: { available: '8.00000000', held: '2.00000000' } });
    await ledger.send('order.cancelled', { ...wallet('dave'), commandId: `${m}:dave-3`, orderId: order, amount: '2' });
    expect(await ledger.result(`${m}:dave-3`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '10.00000000', held: '0.00000000' } });
    await ledger.send('order.created', { ...wallet('dave'), commandId: `${m}:dave-4`, orderId: order, amount: '1' });
    expect(await ledger.result(`${m}:dave-4`)).toMatchObject({ status: 'REJECTED', reason: 'INVALID_COMMAND', balances: { available: '10.00000000', held: '0.00000000' } });

    await ledger.send('withdrawal.requested', { ...wallet('dave'), commandId: `${m}:dave-w1`, withdrawalId: 'dave-w', amount: '4' });
    expect(await ledger.result(`${m}:dave-w1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '6.00000000', held: '4.00000000' } });
    await ledger.send('withdrawal.requested', { ...wallet('dave'), commandId: `${m}:dave-w2`, withdrawalId: 'dave-w', amount: '1' });
    expect(await ledger.result(`${m}:dave-w2`)).toMatchObject({ status: 'REJECTED', reason: 'INVALID_COMMAND', balances: { available: '6.00000000', held: '4.00000000' } });
    expect(await balances('dave')).toBe('available=6.00000000 held=4.00000000');
  });

  it('refuses a command that would take a balance past NUMERIC(22,8) (BALANCE_LIMIT), undoing its first leg, and the partition goes on', async () => {
    // A merchant of its own: its house account starts at zero. Before, the column overflowed at the write and
    // the batch failed on every redelivery, stopping every wallet of the partition.
    const m2 = uniqueId('m');
    const w = (username: string) => ({ merchantId: m2, username, currency: 'USDT' });
    for (const user of ['frank', 'gina']) {
      await ledger.send('wallet.funding.requested', { ...w(user), commandId: `${m2}:${user}-fund`, amount: '10', reference: `${user}-fund` });
      await ledger.send('order.created', { ...w(user), commandId: `${m2}:${user}-order`, orderId: `${m2}:${user}-order`, amount: '10' });
      expect(await ledger.result(`${m2}:${user}-order`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '0.00000000', held: '10.00000000' } });
    }
    // 10 leaves held for available, then the house would pay 99999999999995: available would be 100000000000005.
    await ledger.send('settlement.requested', { ...w('frank'), commandId: `${m2}:frank-s1`, totalOrderAmount: '10', pnlAmount: '99999999999995' });
    expect(await ledger.result(`${m2}:frank-s1`)).toMatchObject({ status: 'REJECTED', reason: 'BALANCE_LIMIT', balances: { available: '0.00000000', held: '10.00000000' } });
    await ledger.send('settlement.requested', { ...w('frank'), commandId: `${m2}:frank-s2`, totalOrderAmount: '10', pnlAmount: '99999999999989.99999999' });
    expect(await ledger.result(`${m2}:frank-s2`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '99999999999999.99999999', held: '0.00000000' } });
    expect(await platform(`house:${m2}:USDT`)).toBe('-99999999999989.99999999');
    // The house account, read by gina's batch, would go to -100000000000009.99999999.
    await ledger.send('settlement.requested', { ...w('gina'), commandId: `${m2}:gina-s1`, totalOrderAmount: '10', pnlAmount: '20' });
    expect(await ledger.result(`${m2}:gina-s1`)).toMatchObject({ status: 'REJECTED', reason: 'BALANCE_LIMIT', balances: { available: '0.00000000', held: '10.00000000' } });
    await ledger.send('settlement.requested', { ...w('gina'), commandId: `${m2}:gina-s2`, totalOrderAmount: '10', pnlAmount: '-3' });
    expect(await ledger.result(`${m2}:gina-s2`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '7.00000000', held: '0.00000000' } });
    expect(await platform(`house:${m2}:USDT`)).toBe('-99999999999986.99999999');
  });

  it('sends a conversion back to the source wallet when its credit would take the target past NUMERIC(22,8)', async () => {
    // A currency of this test's own, so that its external clearing account starts at zero.
    const big = uniqueId('LIM');
    await ledger.send('wallet.funding.requested', { ...wallet('ivan', big), commandId: `${m}:ivan-fund-big`, amount: '99999999999990', reference: 'ivan-big' });
    expect(await ledger.result(`${m}:ivan-fund-big`)).toMatchObject({ status: 'ACCEPTED' });
    await system.fund(m, 'ivan', '100', 'i');
    await ledger.send('conversion.requested', { ...wallet('ivan'), commandId: `${m}:ivan-c1`, toCurrency: big, amount: '10', rate: '1', rounding: 'down' });
    expect(await ledger.result(`${m}:ivan-c1`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '90.00000000' } });
    // The credit bounces (10 more would make 100000000000000), and the refund pays the 10 USDT back from FX.
    expect(await ledger.result(`${m}:ivan-c1:credit`)).toMatchObject({ status: 'ACCEPTED', balances: { currency: big, available: '99999999999990.00000000' } });
    expect(await ledger.result(`${m}:ivan-c1:refund`)).toMatchObject({ status: 'ACCEPTED', balances: { currency: 'USDT', available: '100.00000000' } });
    expect(await balances('ivan', big)).toBe('available=99999999999990.00000000 held=0.00000000');
  });

  it('answers INVALID_COMMAND for malformed fields, parks what cannot be keyed or stored, and the partition goes on', async () => {
    // Each of these once failed its batch on every redelivery (a pool the holds table refuses, an id too long for
    // its index, a NUL Postgres text cannot hold, a number where text goes), stopping the wallet's partition.
    await system.fund(m, 'hank', '10', 'h');
    const hank = wallet('hank');
    const malformed: [string, Record<string, unknown>][] = [
      ['order.created', { orderId: `${m}:h-o1`, amount: '1', pool: 'bogus' }],
      ['order.created', { orderId: 'x'.repeat(3000), amount: '1' }],
      ['order.created', { orderId: `${m}:h-o3\u0000`, amount: '1' }],
      ['order.created', { orderId: 12345, amount: '1' }],
      ['order.created', { amount: '1' }],
      ['order.created', { orderId: `${m}:h-o6`, amount: 1 }],
      ['trade.closed', { orderId: `${m}:h-o7`, winAmount: '1', tradeData: [1] }],
      ['withdrawal.requested', { withdrawalId: { id: 1 }, amount: '1' }],
      ['transfer.requested', { amount: '1' }],
      ['conversion.requested', { toCurrency: 'BTC', amount: '1', rate: '0.5', rounding: 'bogus' }],
      ['wallet.funding.requested', { amount: '1' }],
    ];
    for (const [k, [type, fields]] of malformed.entries()) {
      await ledger.send(type as 'order.created', { ...hank, commandId: `${m}:hank-bad-${k}`, ...fields } as never);
    }
    const marker = uniqueId('unkeyable');
    // Identities no result can be keyed by, and bytes that are no envelope: parked (NUL escaped), unanswered.
    await ledger.send('order.created', { ...hank, commandId: `${marker}:${'c'.repeat(3000)}`, orderId: `${m}:h-o9`, amount: '1' });
    await ledger.send('order.created', { ...hank, username: `hank\u0000${marker}`, commandId: `${m}:hank-nul`, orderId: `${m}:h-o10`, amount: '1' });
    await ledger.sendRaw(`${m}:hank:USDT`, `not json \u0000 ${marker}`);
    await ledger.sendRaw(`${m}:hank:USDT`, JSON.stringify({ eventId: `e\u0000${marker}`, type: 'order.created', version: 1, occurredAt: 'now', aggregateId: 'a', causationId: 'c', correlationId: 'r', payload: {} }));
    await ledger.send('order.created', { ...hank, commandId: `${m}:hank-good`, orderId: `${m}:hank-good`, amount: '2' });
    expect(await ledger.result(`${m}:hank-good`)).toMatchObject({ status: 'ACCEPTED', balances: { available: '8.00000000', held: '2.00000000' } });
    for (const k of malformed.keys()) expect([k, await ledger.result(`${m}:hank-bad-${k}`)]).toMatchObject([k, { status: 'REJECTED', reason: 'INVALID_COMMAND', balances: { available: '10.00000000' } }]);
    const parked = await system.query<{ reason: string; raw: string }>(`SELECT reason, raw FROM ledger.parked_messages WHERE raw LIKE $1 ORDER BY id`, [`%${marker}%`]);
    // The NUL username is caught at the envelope already: the aggregate key is made of it.
    expect(parked.map((p) => p.reason).sort()).toEqual(['aggregateId has control characters', 'eventId has control characters', 'not JSON', 'order.created: commandId is too long']);
    expect(parked.find((p) => p.reason === 'not JSON')?.raw).toBe(`not json \\u0000 ${marker}`);
    expect(await balances('hank')).toBe('available=8.00000000 held=2.00000000');
  });

  it('parks a command Postgres refuses on every attempt, answers it LEDGER_ERROR, applies the rest of its partition, and applies its retry once the cause is gone', async () => {
    // A trigger stands in for an error nobody foresaw that one command's data meets every time: it refuses one
    // order's hold row. Before, the batch holding that command failed on every redelivery and the partition stopped.
    await system.fund(m, 'pat', '100', 'p');
    const pat = wallet('pat');
    const poison = `${m}:pat-poison`;
    const removeTrigger = await system.refuseInserts('holds', `NEW.order_id = '${poison}'`, `e2e refuses order ${poison}`);
    try {
      await ledger.send('order.created', { ...pat, commandId: `${m}:pat-before`, orderId: `${m}:pat-before`, amount: '1' });
      await ledger.send('order.created', { ...pat, commandId: poison, orderId: poison, amount: '10' });
      await ledger.send('order.created', { ...pat, commandId: `${m}:pat-after`, orderId: `${m}:pat-after`, amount: '5' });
      expect(await ledger.result(`${m}:pat-before`, 60000)).toMatchObject({ status: 'ACCEPTED' });
      // Applied after the refused command, and without it: 100 - 1 - 5.
      expect(await ledger.result(`${m}:pat-after`, 60000)).toMatchObject({ status: 'ACCEPTED', balances: { available: '94.00000000', held: '6.00000000' } });
      const parked = await system.query<{ reason: string; raw: string }>(`SELECT reason, raw FROM ledger.parked_messages WHERE raw LIKE $1`, [`%${poison}%`]);
      expect(parked).toHaveLength(1);
      expect(parked[0].reason).toContain(`e2e refuses order ${poison}`);
      expect(JSON.parse(parked[0].raw)).toMatchObject({ type: 'order.created', payload: { commandId: poison, amount: '10' } });
      // Answered, so its caller need not wait out its wait; nothing recorded under its id, nothing moved.
      const answer = await ledger.result(poison);
      expect(answer).toEqual({ commandId: poison, commandType: 'order.created', requestHash: 'e2e', status: 'REJECTED', reason: 'LEDGER_ERROR' });
      expect(await system.query(`SELECT 1 FROM ledger.inbox WHERE command_id = $1`, [poison])).toHaveLength(0);
      expect(await balances('pat')).toBe('available=94.00000000 held=6.00000000');
    } finally {
      await removeTrigger();
    }
    // The caller's retry under the same key, once the cause is fixed, is applied like any new command.
    ledger.results.delete(poison);
    await ledger.send('order.created', { ...pat, commandId: poison, orderId: poison, amount: '10' });
    expect(await ledger.result(poison)).toMatchObject({ status: 'ACCEPTED', balances: { available: '84.00000000', held: '16.00000000' } });
    expect(await balances('pat')).toBe('available=84.00000000 held=16.00000000');
  });

  it('lets an operator list a parked command and send it again once its cause is fixed (npm run parked)', async () => {
    await system.fund(m, 'ria', '100', 'r');
    const ria = wallet('ria');
    const poison = `${m}:ria-poison`;
    const removeTrigger = await system.refuseInserts('holds', `NEW.order_id = '${poison}'`, `e2e refuses order ${poison}`);
    try {
      await ledger.send('order.created', { ...ria, commandId: poison, orderId: poison, amount: '10' });
      await ledger.send('order.created', { ...ria, commandId: `${m}:ria-after`, orderId: `${m}:ria-after`, amount: '5' });
      expect(await ledger.result(`${m}:ria-after`, 60000)).toMatchObject({ status: 'ACCEPTED' });
      expect(await ledger.result(poison)).toMatchObject({ status: 'REJECTED', reason: 'LEDGER_ERROR' });
    } finally {
      await removeTrigger();
    }
    const [row] = await system.query<{ id: string }>(`SELECT id::text FROM ledger.parked_messages WHERE raw LIKE $1`, [`%${poison}%`]);
    const listed = await parkedCli('list', 'ledger', '--pending', '--limit', '500');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${row.id}  \\S+  ledger\\.commands\\.v1/\\d+@\\d+  not replayed$`, 'm'));
    expect(listed.stdout).toContain(`e2e refuses order ${poison}`);

    ledger.results.delete(poison);
    const replay = await parkedCli('replay', 'ledger', row.id);
    expect(replay).toMatchObject({ code: 0, stdout: `${row.id}: sent to ledger.commands.v1 (key ${m}:ria:USDT)\n` });
    expect(await ledger.result(poison)).toMatchObject({ status: 'ACCEPTED', balances: { available: '85.00000000', held: '15.00000000' } });
    const [marked] = await system.query<{ replayed: boolean }>(`SELECT replayed_at IS NOT NULL AS replayed FROM ledger.parked_messages WHERE id = $1`, [row.id]);
    expect(marked.replayed).toBe(true);

    // Once only, unless asked again; unknown ids and bad input are refused with a reason.
    const again = await parkedCli('replay', 'ledger', row.id, '999999999999');
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(`${row.id}: not sent, replayed already at `);
    expect(again.stdout).toContain('999999999999: not sent, no parked message 999999999999 in ledger');
    expect((await parkedCli('replay', 'accounts', '1')).code).toBe(64);
    expect(await balances('ria')).toBe('available=85.00000000 held=15.00000000');
  });

  it('parks nothing when every command of a batch fails alone: the partition waits, and applies them once the cause is gone', async () => {
    // An error every command meets (here: every hold of the wallet refused) is no one command's fault: putting
    // the commands aside for it would drop a partition's traffic. The batch fails as before, until it is fixed.
    await system.fund(m, 'quin', '100', 'q');
    const quin = wallet('quin');
    const removeTrigger = await system.refuseInserts('holds', `NEW.wallet_key = '${m}:quin:USDT'`, `e2e refuses every hold of ${m}:quin:USDT`);
    try {
      // One request, one record batch: the ledger reads both in one fetch, fails the batch, then each alone.
      await ledger.sendTogether([1, 2].map((n) => ({ type: 'order.created' as const, payload: { ...quin, commandId: `${m}:quin-${n}`, orderId: `${m}:quin-${n}`, amount: String(n) } })));
      await waitForLog(`e2e refuses every hold of ${m}:quin:USDT`);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await system.query(`SELECT id FROM ledger.parked_messages WHERE raw LIKE $1`, [`%${m}:quin-%`])).toHaveLength(0);
      expect([ledger.results.has(`${m}:quin-1`), ledger.results.has(`${m}:quin-2`)]).toEqual([false, false]);
    } finally {
      await removeTrigger();
    }
    expect(await ledger.result(`${m}:quin-1`, 60000)).toMatchObject({ status: 'ACCEPTED' });
    expect(await ledger.result(`${m}:quin-2`, 60000)).toMatchObject({ status: 'ACCEPTED', balances: { available: '97.00000000', held: '3.00000000' } });
  });

  it("serves a wallet's posting history newest first, filtered, paged by cursor, and refuses bad queries with stable codes", async () => {
    await system.fund(m, 'carol', '50', 'c');
    const sent = [
      ['order.created', { commandId: `${m}:carol-h1`, orderId: `${m}:carol-o1`, amount: '10' }],
      ['order.cancelled', { commandId: `${m}:carol-r1`, orderId: `${m}:carol-o1`, amount: '10' }],
      ['order.created', { commandId: `${m}:carol-h2`, orderId: `${m}:carol-o2`, amount: '5' }],
      ['settlement.requested', { commandId: `${m}:carol-s1`, totalOrderAmount: '5', pnlAmount: '2.5' }],
    ] as const;
    const refs: Record<string, string> = {};
    for (const [type, payload] of sent) {
      await ledger.send(type, { ...wallet('carol'), ...payload });
      const result = await ledger.result(payload.commandId);
      expect(result.status).toBe('ACCEPTED');
      refs[payload.commandId] = result.transactionRef as string;
    }
    /** A GET of one of a wallet's histories (postings or operations) on the ledger's query API. */
    const walletHistory =
      <T>(what: 'postings' | 'operations') =>
      (query = '', username = 'carol') =>
        queries.get<{ items: T[]; nextCursor: string | null } & Record<string, unknown>>(`${system.services.ledger.url}/wallets/${m}/${username}/USDT/${what}${query}`);
    const history = walletHistory<Record<string, string>>('postings');

    // Newest first: the settlement's three (held to available, and the profit from the house), the second hold's two, the release's, the first hold's, the funding's one.
    const all = await history();
    expect(all.status).toBe(200);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items.map((p) => `${p['type']}:${p['account']}:${p['amount']}`).sort()).toEqual(
      [
        'settlement:held:-5.00000000',
        'settlement:available:5.00000000',
        'settlement:available:2.50000000',
        'hold:available:-5.00000000',
        'hold:held:5.00000000',
        'release:held:-10.00000000',
        'release:available:10.00000000',
        'hold:available:-10.00000000',
        'hold:held:10.00000000',
        'funding:available:50.00000000',
      ].sort(),
    );
    const ids = all.body.items.map((p) => BigInt(p['postingId']));
    expect(ids.every((id, i) => i === 0 || id < ids[i - 1])).toBe(true);
    expect(all.body.items.slice(0, 3).every((p) => p['commandId'] === `${m}:carol-s1` && p['transactionRef'] === refs[`${m}:carol-s1`])).toBe(true);
    expect(all.body.items[all.body.items.length - 1]).toMatchObject({ type: 'funding', account: 'available', amount: '50.00000000' });
    // The postings add up to the balances.
    const sum = (account: string) => all.body.items.filter((p) => p['account'] === account).reduce((s, p) => s.plus(p['amount']), new Decimal(0)).toFixed(8);
    expect(await balances('carol')).toBe(`available=${sum('available')} held=${sum('held')}`);

    /** Every page of `limit` items from `get`, following nextCursor until it is null. */
    const everyPage = async <T>(get: (query: string) => Promise<{ status: number; body: { items: T[]; nextCursor: string | null } }>, limit: number) => {
      const items: T[] = [];
      let cursor: string | null = '';
      let pages = 0;
      while (cursor !== null) {
        const page = await get(`?limit=${limit}${cursor === '' ? '' : `&cursor=${cursor}`}`);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(limit);
        items.push(...page.body.items);
        cursor = page.body.nextCursor;
        pages += 1;
      }
      return { items, pages };
    };
    // Pages of 4 by cursor: every posting once, in the same order, and no cursor after the last page.
    expect(await everyPage(history, 4)).toEqual({ items: all.body.items, pages: 3 });

    // Filters.
    const holds = await history('?type=hold');
    // The second hold's postings first, then the first's.
    expect(holds.body.items.map((p) => `${p['commandId']}:${p['account']}:${p['amount']}`).slice(0, 2).sort()).toEqual([`${m}:carol-h2:available:-5.00000000`, `${m}:carol-h2:held:5.00000000`]);
    expect(holds.body.items.map((p) => `${p['commandId']}:${p['account']}:${p['amount']}`).slice(2).sort()).toEqual([`${m}:carol-h1:available:-10.00000000`, `${m}:carol-h1:held:10.00000000`]);
    const held = await history('?account=held&type=release');
    expect(held.body.items).toEqual([expect.objectContaining({ type: 'release', account: 'held', amount: '-10.00000000', commandId: `${m}:carol-r1` })]);
    const createdAt = all.body.items.map((p) => Date.parse(p['createdAt']));
    const future = new Date(Math.max(...createdAt) + 60000).toISOString();
    const past = new Date(Math.min(...createdAt) - 60000).toISOString();
    expect((await history(`?from=${future}`)).body.items).toEqual([]);
    expect((await history(`?to=${past}`)).body.items).toEqual([]);
    expect((await history(`?from=${past}&to=${future}`)).body.items).toEqual(all.body.items);

    // Bad input: 400 with a stable code naming the field, never a database error; an unknown wallet is 404.
    for (const [query, body] of [
      ['?limit=0', { error: 'INVALID_LIMIT', field: 'limit' }],
      ['?limit=-5', { error: 'INVALID_LIMIT', field: 'limit' }],
      ['?limit=501', { error: 'INVALID_LIMIT', field: 'limit' }],
      ['?cursor=abc', { error: 'INVALID_CURSOR', field: 'cursor' }],
      ['?cursor=99999999999999999999', { error: 'INVALID_CURSOR', field: 'cursor' }],
      ['?type=payout', { error: 'INVALID_FILTER', field: 'type' }],
      ['?type=hold&type=release', { error: 'INVALID_FILTER', field: 'type' }],
      ['?account=house', { error: 'INVALID_FILTER', field: 'account' }],
      ['?from=2026-02-30T00:00:00Z', { error: 'INVALID_FILTER', field: 'from' }],
      ['?to=tomorrow', { error: 'INVALID_FILTER', field: 'to' }],
    ] as const) {
      const refused = await history(query);
      expect({ query, status: refused.status, body: refused.body }).toEqual({ query, status: 400, body: body });
    }
    expect(await history('', 'nobody-at-all')).toEqual({ status: 404, body: { error: 'WALLET_NOT_FOUND' } });

    // The same history as operations: one item per transaction, its net change to each balance and the balances it left.
    const operations = walletHistory<Record<string, unknown>>('operations');
    const ops = await operations();
    expect(ops.status).toBe(200);
    expect(ops.body.nextCursor).toBeNull();
    const operation = (commandId: string, commandType: string, type: string, available: string, held: string, after: [string, string]) => ({
      transactionRef: refs[commandId] ?? expect.any(String),
      type,
      commandId,
      commandType,
      available,
      held,
      balancesAfter: { currency: 'USDT', available: after[0], held: after[1] },
      createdAt: expect.any(String),
    });
    expect(ops.body.items).toEqual([
      operation(`${m}:carol-s1`, 'settlement.requested', 'settlement', '7.50000000', '-5.00000000', ['52.50000000', '0.00000000']),
      operation(`${m}:carol-h2`, 'order.created', 'hold', '-5.00000000', '5.00000000', ['45.00000000', '5.00000000']),
      operation(`${m}:carol-r1`, 'order.cancelled', 'release', '10.00000000', '-10.00000000', ['50.00000000', '0.00000000']),
      operation(`${m}:carol-h1`, 'order.created', 'hold', '-10.00000000', '10.00000000', ['40.00000000', '10.00000000']),
      expect.objectContaining({ type: 'funding', commandType: 'wallet.funding.requested', available: '50.00000000', held: '0.00000000' }),
    ]);
    // Pages of 2 operations: every operation once, in order; the settlement's three postings never split.
    expect(await everyPage(operations, 2)).toEqual({ items: ops.body.items, pages: 3 });
    // A page of one ends on a whole operation too.
    const first = await operations('?limit=1');
    expect(first.body.items).toEqual([ops.body.items[0]]);
    expect((await operations(`?limit=1&cursor=${first.body.nextCursor}`)).body.items).toEqual([ops.body.items[1]]);
    expect((await operations('?type=hold')).body.items).toEqual([ops.body.items[1], ops.body.items[3]]);
    expect((await operations(`?from=${future}`)).body.items).toEqual([]);
    expect(await operations('?account=held')).toEqual({ status: 400, body: { error: 'INVALID_FILTER', field: 'account' } });
    expect(await operations('?limit=501')).toEqual({ status: 400, body: { error: 'INVALID_LIMIT', field: 'limit' } });
    expect(await operations('', 'nobody-at-all')).toEqual({ status: 404, body: { error: 'WALLET_NOT_FOUND' } });

    // The balances, and a command's stored result by its id.
    const url = system.services.ledger.url;
    expect(await queries.get(`${url}/wallets/${m}/carol/USDT`)).toEqual({
      status: 200,
      body: { merchantId: m, username: 'carol', currency: 'USDT', available: '52.50000000', held: '0.00000000' },
    });
    expect(await queries.get(`${url}/wallets/${m}/nobody-at-all/USDT`)).toEqual({ status: 404, body: { error: 'WALLET_NOT_FOUND' } });
    const settled = await queries.get<Record<string, Record<string, unknown>>>(`${url}/commands/${encodeURIComponent(`${m}:carol-s1`)}`);
    expect(settled.status).toBe(200);
    expect(settled.body['result']).toMatchObject({ status: 'ACCEPTED', transactionRef: refs[`${m}:carol-s1`], balances: { available: '52.50000000', held: '0.00000000' } });
    expect(settled.body['command']).toMatchObject({ commandId: `${m}:carol-s1`, totalOrderAmount: '5', pnlAmount: '2.5' });
    expect(await queries.get(`${url}/commands/${encodeURIComponent(`${m}:never-sent`)}`)).toEqual({ status: 404, body: { error: 'COMMAND_NOT_FOUND' } });
  });

  it('answers its queries as its OpenAPI document says, and serves that document', async () => {
    // Every answer above was checked against the document as it came (OpenApiAnswers.get); here, that every documented
    // response came (the history test above gets most of them: this one needs it to have run first, as jest runs a file's tests in order).
    expect(queries.seen()).toEqual(queries.documented());
    // A rejected command's stored result is documented too (reason, balances).
    await ledger.send('order.created', { ...wallet('carol'), commandId: `${m}:carol-h3`, orderId: `${m}:carol-o3`, amount: '1000' });
    expect((await ledger.result(`${m}:carol-h3`)).reason).toBe('INSUFFICIENT_BALANCE');
    const refused = await queries.get<Record<string, Record<string, unknown>>>(`${system.services.ledger.url}/commands/${encodeURIComponent(`${m}:carol-h3`)}`);
    expect(refused.body['result']).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_BALANCE' });
    // An answer off the document is caught: the checker is not a pass-through.
    expect(queries.problems('GET', `/wallets/${m}/carol/USDT`, 200, { merchantId: m, username: 'carol', currency: 'USDT', available: 52.5, held: '0.00000000' })).toEqual([
      expect.stringContaining('/available must be string'),
    ]);
    expect(queries.problems('GET', `/wallets/${m}/carol/USDT/postings`, 500, {})).toEqual([expect.stringContaining('status 500 not documented')]);
    const served = await fetch(`${system.services.ledger.url}/openapi/ledger-queries.json`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(JSON.parse(readFileSync(join(repoRoot, 'docs', 'api', 'ledger-queries.openapi.json'), 'utf8')));
  });

  it('leaves every invariant intact', async () => {
    const audit = await system.auditWhenDrained();
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await outboxPending()).toBe(0);
  });
});
