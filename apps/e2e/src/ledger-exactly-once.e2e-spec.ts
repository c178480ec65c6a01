import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import {
  TOPICS,
  accountKey,
  envelopeV1,
  type CommandResultV1,
  type EventEnvelope,
  type LedgerCommandPayloads,
  type LedgerCommandType,
  type WalletRef,
} from '@settlement/contracts';
import { partitionOfKey } from '@settlement/messaging';
import type { ServiceProcess } from '@settlement/testing';
import { System, ledgerProcess, repoRoot, uniqueId } from './system';

/**
 * Exactly-once application of ledger commands on the real broker and database:
 * redelivered batches, a ledger killed around its database commit, and
 * concurrent holds racing for one balance.
 */

const commandsTopic = TOPICS.ledgerCommands.name;
const resultsTopic = TOPICS.ledgerResults.name;
/** The ledger's consumer group (apps/ledger/src/ledger.config.ts). */
const ledgerGroup = 'ledger';
const currency = 'USDT';
const base = '/payment/wallet/v1/binaryOption/ext-orders';

/** A Kafka message exactly as sent, so a redelivery can send the very same bytes again. */
interface CommandMessage {
  readonly key: string;
  readonly value: string;
  readonly commandId: string;
  readonly eventId: string;
}

function command<K extends LedgerCommandType>(type: K, payload: Omit<LedgerCommandPayloads[K], 'requestHash'>): CommandMessage {
  const full = { ...payload, requestHash: createHash('sha256').update(JSON.stringify([type, payload])).digest('hex') } as LedgerCommandPayloads[K];
  const key = accountKey(full);
  const correlationId = randomUUID();
  const envelope = envelopeV1({ eventId: randomUUID(), type, aggregateId: key, causationId: correlationId, correlationId, payload: full });
  return { key, value: JSON.stringify(envelope), commandId: full.commandId, eventId: envelope.eventId };
}

/**
 * The same scenario for every wallet, with balances worked out by hand:
 *   fund 1000                         available 1000  held   0
 *   hold A 300                        available  700  held 300   A 300
 *   hold B 500                        available  200  held 800   B 500
 *   hold C 300 -> INSUFFICIENT_BALANCE (200 < 300), nothing moves
 *   cancel A 100                      available  300  held 700   A 200
 *   settle 400, pnl -50 (oldest first: A 200, B 200)
 *                                     available  650  held 300   A 0, B 300; house +50
 *   fund 25                           available  675  held 300
 * Six transactions (14 postings) and seven inbox rows per wallet.
 */
function walletScenario(wallet: WalletRef, tag: string): { funding: CommandMessage; rest: CommandMessage[] } {
  const id = (step: string) => `e2e-eo:${wallet.merchantId}:${wallet.username}:${tag}:${step}`;
  const funding = command('wallet.funding.requested', { ...wallet, commandId: id('fund'), amount: '1000', reference: id('fund') });
  const rest = [
    command('order.created', { ...wallet, commandId: id('hold-a'), orderId: id('hold-a'), amount: '300' }),
    command('order.created', { ...wallet, commandId: id('hold-b'), orderId: id('hold-b'), amount: '500' }),
    command('order.created', { ...wallet, commandId: id('hold-c'), orderId: id('hold-c'), amount: '300' }),
    command('order.cancelled', { ...wallet, commandId: id('cancel-a'), orderId: id('hold-a'), amount: '100' }),
    command('settlement.requested', { ...wallet, commandId: id('settle'), totalOrderAmount: '400', pnlAmount: '-50' }),
    command('wallet.funding.requested', { ...wallet, commandId: id('top-up'), amount: '25', reference: id('top-up') }),
  ];
  return { funding, rest };
}

const expectedPerWallet = {
  balances: { available: '675.00000000', held: '300.00000000' },
  inbox: { ACCEPTED: 6, REJECTED: 1 },
  houseGainPerWallet: 50,
};

/** Polls `probe` until `done` holds; fails with the last value seen. */
async function eventually<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await probe();
  }
  return last;
}

/** Whether an OS process is gone (exited and reaped). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Every event of this file's commands on one topic (by default the results the
 * ledger publishes), as consumed by a fresh group.
 */
class ResultLog<P extends { commandId: string } = CommandResultV1> {
  readonly events: EventEnvelope<string, P>[] = [];
  /** Per partition, the offset after the last record consumed. */
  readonly consumedUpTo = new Map<number, number>();
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string = resultsTopic,
  ) {}

  async start(): Promise<void> {
    this.consumer = this.kafka.consumer({ groupId: uniqueId(`e2e-exactly-once-${this.topic}-`) });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        this.consumedUpTo.set(partition, Number(message.offset) + 1);
        // Other test files write bytes that are no envelope to the commands topic (the ledger parks them): a throw
        // here would have kafkajs retry that record for good, and this log would never get past it.
        const envelope = parsedOrNull(message.value?.toString('utf8') ?? '') as EventEnvelope<string, P> | null;
        if (envelope?.payload?.commandId?.startsWith?.('e2e-eo:')) this.events.push(envelope);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  of(commandId: string): EventEnvelope<string, P>[] {
    return this.events.filter((e) => e.payload.commandId === commandId);
  }
}

/** The JSON value of `text`, or null when it is not JSON. */
function parsedOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

describe('the ledger applies every command exactly once, however often Kafka delivers it', () => {
  let system: System;
  let kafka: Kafka;
  let producer: Producer;
  let admin: Admin;
  let results: ResultLog;
  /** The commands on the commands topic, including those the ledger sends itself (a transfer's second leg). */
  let commands: ResultLog<{ commandId: string }>;
  /** The ledger currently serving the group: the System's, later a restarted one. */
  let ledger: ServiceProcess;
  const extraLedgers: ServiceProcess[] = [];

  beforeAll(async () => {
    system = new System();
    await system.start();
    ledger = system.services.ledger;
    kafka = new Kafka({ clientId: 'e2e-exactly-once', brokers: system.infra.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    // Idempotent, so the test itself never duplicates a message by a retry: every duplicate below is deliberate.
    producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    admin = kafka.admin();
    await admin.connect();
    results = new ResultLog(kafka);
    await results.start();
    commands = new ResultLog(kafka, commandsTopic);
    await commands.start();
  });

  afterAll(async () => {
    await results?.stop();
    await commands?.stop();
    await producer?.disconnect();
    await admin?.disconnect();
    for (const extra of extraLedgers) await extra.stop();
    await system?.stop();
  });

  async function produce(messages: readonly CommandMessage[]): Promise<void> {
    await producer.send({ topic: commandsTopic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
  }

  async function health(service: ServiceProcess): Promise<{ applier: { batches: number; commands: number; duplicates: number; conflicts: number } }> {
    const response = await fetch(`${service.url}/health`);
    return (await response.json()) as { applier: { batches: number; commands: number; duplicates: number; conflicts: number } };
  }

  /** Commands of `ledger.commands.v1` not yet committed by the ledger group, summed over partitions. */
  async function ledgerLag(): Promise<number> {
    const ends = await admin.fetchTopicOffsets(commandsTopic);
    const [committed] = await admin.fetchOffsets({ groupId: ledgerGroup, topics: [commandsTopic] });
    let lag = 0;
    for (const end of ends) {
      const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
      lag += Number(end.high) - Number(at === '-1' ? end.low : at);
    }
    return lag;
  }

  async function inbox(commandIds: readonly string[]): Promise<{ command_id: string; status: string; event_id: string }[]> {
    return system.query(`SELECT command_id, status, result_envelope->>'eventId' AS event_id FROM ledger.inbox WHERE command_id = ANY($1::text[]) ORDER BY command_id`, [
      commandIds,
    ]);
  }

  async function waitApplied(commandIds: readonly string[], timeoutMs: number): Promise<void> {
    await eventually('every command in the inbox', () => inbox(commandIds), (rows) => rows.length === commandIds.length, timeoutMs);
  }

  /**
   * Everything the ledger holds about these wallets: balances, transactions,
   * postings, holds, inbox, outbox, conflicts. The outbox is a queue, not
   * state: the relay deletes a row after Kafka acknowledged it, in its own
   * transaction, so a result can be on the topic while its row is still
   * there. With `outboxAt` 'drained' the snapshot waits for the merchant's
   * rows to drain (which a running relay must do) instead of catching the
   * queue at some moment; 'as is' takes what is there (a dead ledger's).
   */
  async function snapshot(merchantId: string, commandIds: readonly string[], outboxAt: 'drained' | 'as is' = 'drained'): Promise<Record<string, unknown>> {
    const keyPattern = `${merchantId}:%`;
    const outboxRows = () =>
      system.query(`SELECT event_id, topic, envelope FROM ledger.outbox WHERE key LIKE $1 OR key = $2 ORDER BY event_id`, [keyPattern, merchantId]);
    const outbox = outboxAt === 'drained' ? await eventually('outbox drained', outboxRows, (rows) => rows.length === 0, 30000) : await outboxRows();
    const [accounts, transactions, postings, holds, inboxRows, conflicts] = await Promise.all([
      system.query(`SELECT code, balance FROM ledger.accounts WHERE wallet_key LIKE $1 OR code = $2 ORDER BY code`, [keyPattern, `house:${merchantId}:${currency}`]),
      system.query(`SELECT id, command_id, type FROM ledger.transactions WHERE command_id = ANY($1::text[]) ORDER BY id`, [commandIds]),
      system.query(
        `SELECT p.id, p.transaction_id, p.account_id, p.amount FROM ledger.postings p JOIN ledger.transactions t ON t.id = p.transaction_id
         WHERE t.command_id = ANY($1::text[]) ORDER BY p.id`,
        [commandIds],
      ),
      system.query(`SELECT order_id, amount, remaining, transaction_id FROM ledger.holds WHERE wallet_key LIKE $1 ORDER BY order_id`, [keyPattern]),
      system.query(`SELECT command_id, request_hash, status, result_envelope FROM ledger.inbox WHERE command_id = ANY($1::text[]) ORDER BY command_id`, [commandIds]),
      system.query(`SELECT command_id FROM ledger.conflicts WHERE command_id = ANY($1::text[])`, [commandIds]),
    ]);
    return { accounts, transactions, postings, holds, inbox: inboxRows, outbox, conflicts };
  }

  async function wallets(merchantId: string): Promise<Record<string, string>> {
    const rows = await system.query<{ code: string; balance: string }>(`SELECT code, balance FROM ledger.accounts WHERE wallet_key LIKE $1 OR code = $2`, [
      `${merchantId}:%`,
      `house:${merchantId}:${currency}`,
    ]);
    return Object.fromEntries(rows.map((r) => [r.code, r.balance]));
  }

  function expectedWallets(merchantId: string, users: readonly string[]): Record<string, string> {
    const expected: Record<string, string> = { [`house:${merchantId}:${currency}`]: (expectedPerWallet.houseGainPerWallet * users.length).toFixed(8) };
    for (const username of users) {
      const key = accountKey({ merchantId, username, currency });
      expected[`user:${key}:available`] = expectedPerWallet.balances.available;
      expected[`user:${key}:held`] = expectedPerWallet.balances.held;
    }
    return expected;
  }

  /** Per command: inbox rows, transactions, postings; exactly once means 1, at most 1, and the hand-counted postings. */
  async function perCommand(commandIds: readonly string[]): Promise<{ command_id: string; inbox: number; transactions: number; postings: number }[]> {
    return system.query(
      `SELECT c.id AS command_id,
              (SELECT count(*) FROM ledger.inbox i WHERE i.command_id = c.id)::int AS inbox,
              (SELECT count(*) FROM ledger.transactions t WHERE t.command_id = c.id)::int AS transactions,
              (SELECT count(*) FROM ledger.postings p JOIN ledger.transactions t ON t.id = p.transaction_id WHERE t.command_id = c.id)::int AS postings
       FROM unnest($1::text[]) WITH ORDINALITY AS c(id, n) ORDER BY c.n`,
      [commandIds],
    );
  }

  async function expectCheckerPasses(): Promise<void> {
    const audit = await system.auditWhenDrained(20000);
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
  }

  /**
   * Stops the serving ledger gracefully and leaves the ledger group positioned
   * at the end of the commands topic, so the next ledger's first batch is the
   * test's own. Callers have seen every command produced so far in the inbox.
   * The offsets are set explicitly rather than trusted from the stopped ledger,
   * so the position does not depend on its last commit.
   */
  async function stopServingLedger(): Promise<void> {
    await ledger.stop();
    await eventually('ledger group empty', async () => (await admin.describeGroups([ledgerGroup])).groups[0]?.state, (state) => state === 'Empty', 60000);
    const ends = await admin.fetchTopicOffsets(commandsTopic);
    await admin.setOffsets({ groupId: ledgerGroup, topic: commandsTopic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    expect(await ledgerLag()).toBe(0);
  }

  async function startLedger(env: Record<string, string>): Promise<ServiceProcess> {
    const started = ledgerProcess(system, env);
    extraLedgers.push(started);
    await started.start();
    return started;
  }

  /**
   * Regression: `commitOffsetsIfNecessary()` without offsets commits nothing
   * under `autoCommit: false` in kafkajs 2.2.4, which once left the ledger
   * group without committed offsets (every start replayed the topic).
   */
  it('the ledger commits its Kafka offsets once a batch is in the database', async () => {
    const merchantId = uniqueId('m');
    const { funding } = walletScenario({ merchantId, username: 'ida', currency }, 'offsets');
    await produce([funding]);
    await waitApplied([funding.commandId], 60000);
    // A commit takes milliseconds after the batch; ten seconds is generous.
    await eventually('ledger group caught up', ledgerLag, (lag) => lag === 0, 10000);
  });

  it('the ledger opens and readies its whole connection pool before it consumes, and keeps it open', async () => {
    // The ledger's pool: mergedGroupsConcurrently (3) + 4, ledger.config.ts. Without the warm-up it holds
    // only the connections its busiest moment needed so far; with node-postgres's idle timeout, fewer later.
    const poolSize = 7;
    const connections = await system.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [`ledger/${ledger.pid}`]);
    expect(connections[0].n).toBe(poolSize);
  });

  it('redelivery of a whole batch changes nothing', async () => {
    const merchantId = uniqueId('m');
    const users = ['ann', 'ben', 'cid'];
    const scenarios = users.map((username) => walletScenario({ merchantId, username, currency }, 'redelivery'));
    const fundings = scenarios.map((s) => s.funding);
    const batch = scenarios.flatMap((s) => s.rest);
    const allIds = [...fundings, ...batch].map((m) => m.commandId);

    await produce(fundings);
    await waitApplied(fundings.map((m) => m.commandId), 60000);
    await produce(batch);
    await waitApplied(allIds, 60000);
    await eventually('every result published', async () => allIds.filter((id) => results.of(id).length === 0), (missing) => missing.length === 0, 30000);
    expect(await wallets(merchantId)).toEqual(expectedWallets(merchantId, users));
    const before = await snapshot(merchantId, allIds);
    const duplicatesBefore = (await health(ledger)).applier.duplicates;
    const resultEventIds = new Map(allIds.map((id) => [id, results.of(id)[0].eventId]));

    // The very same messages again: same keys, same envelopes, same event ids and command ids.
    await produce(batch);
    const consumed = await eventually('redelivered batch consumed', () => health(ledger), (h) => h.applier.duplicates >= duplicatesBefore + batch.length, 60000);
    expect(consumed.applier.duplicates - duplicatesBefore).toBe(batch.length);

    // Each redelivered command re-emits its original result, under the original event id.
    await eventually('results re-emitted', async () => batch.filter((m) => results.of(m.commandId).length < 2).map((m) => m.commandId), (left) => left.length === 0, 30000);
    for (const m of batch) {
      expect(new Set(results.of(m.commandId).map((e) => e.eventId))).toEqual(new Set([resultEventIds.get(m.commandId)]));
    }
    await expectCheckerPasses();
    expect(await snapshot(merchantId, allIds)).toEqual(before);
    expect(await wallets(merchantId)).toEqual(expectedWallets(merchantId, users));
    // The settlement service recorded each event once, however often it was published:
    // one result per command, plus one settlement.posted per settlement.
    const recordedEvents = () =>
      system.query<{ command_id: string; event_type: string; n: number }>(
        `SELECT payload->>'commandId' AS command_id, event_type, count(*)::int AS n FROM settlement.ledger_events
         WHERE payload->>'commandId' = ANY($1::text[]) GROUP BY 1, 2 ORDER BY 1, 2`,
        [allIds],
      );
    const settlements = batch.filter((m) => m.commandId.endsWith(':settle')).length;
    const recorded = await eventually('settlement recorded every event', recordedEvents, (rows) => rows.length === allIds.length + settlements, 30000);
    expect(recorded.filter((r) => r.n !== 1)).toEqual([]);
    expect(recorded.filter((r) => r.event_type === 'settlement.posted')).toHaveLength(settlements);
  });

  /**
   * Regression: a redelivered conflicting message was once recorded again and
   * answered under a new event id; conflicts are now keyed by the message's
   * event id and answered under an event id derived from it.
   */
  it('redelivery of a conflicting command records and announces its rejection once', async () => {
    const merchantId = uniqueId('m');
    const wallet = { merchantId, username: 'joe', currency };
    const { funding } = walletScenario(wallet, 'conflict');
    const commandId = `e2e-eo:${merchantId}:joe:conflict:hold`;
    const hold = command('order.created', { ...wallet, commandId, orderId: commandId, amount: '10' });
    // The same command id with another body: an idempotency conflict, rejected without moving money.
    const conflicting = command('order.created', { ...wallet, commandId, orderId: commandId, amount: '20' });
    await produce([funding]);
    await waitApplied([funding.commandId], 60000);
    await produce([hold, conflicting]);
    const conflictRows = () => system.query(`SELECT id, request_hash FROM ledger.conflicts WHERE command_id = $1 ORDER BY id`, [commandId]);
    await eventually('conflict recorded', conflictRows, (rows) => rows.length === 1, 60000);
    await eventually('both results published', async () => results.of(commandId), (events) => events.length === 2, 30000);
    const eventIds = new Set(results.of(commandId).map((e) => e.eventId));
    expect(results.of(commandId).map((e) => e.payload.status).sort()).toEqual(['ACCEPTED', 'REJECTED']);
    const conflictsBefore = await conflictRows();
    const duplicatesBefore = (await health(ledger)).applier.duplicates;

    // The very same two messages again, as Kafka redelivers them after a crash or a rebalance.
    await produce([hold, conflicting]);
    await eventually('redelivery consumed', () => health(ledger), (h) => h.applier.duplicates >= duplicatesBefore + 2, 60000);
    await eventually('re-emitted results published', async () => results.of(commandId), (events) => events.length >= 4, 30000);
    await expectCheckerPasses();
    expect(await wallets(merchantId)).toEqual({
      [`user:${merchantId}:joe:${currency}:available`]: '990.00000000',
      [`user:${merchantId}:joe:${currency}:held`]: '10.00000000',
    });
    // A redelivered message is not a new attempt: the conflict is on record once, and its
    // rejection is re-announced under the event id it was first announced with.
    expect({ conflicts: await conflictRows(), resultEventIds: new Set(results.of(commandId).map((e) => e.eventId)) }).toEqual({
      conflicts: conflictsBefore,
      resultEventIds: eventIds,
    });
  });

  /**
   * Kills a ledger at a crash point with a batch of commands for three fresh
   * wallets, restarts a healthy ledger, and checks the outcome. Returns what
   * the database held between the crash and the restart.
   */
  async function crashAndRecover(crashEnv: Record<string, string>, tag: string) {
    const merchantId = uniqueId('m');
    const users = ['dan', 'eve', 'fay'];
    const messages = users.flatMap((username) => {
      const s = walletScenario({ merchantId, username, currency }, tag);
      return [s.funding, ...s.rest];
    });
    const ids = messages.map((m) => m.commandId);

    await stopServingLedger();
    const doomed = await startLedger(crashEnv);
    const doomedPid = doomed.pid;
    if (doomedPid === undefined) throw new Error('the crashing ledger has no pid');
    await produce(messages);
    await eventually('the ledger killed itself', async () => processGone(doomedPid), (gone) => gone, 90000);
    const lagAfterCrash = await ledgerLag();
    const atCrash = { inbox: await inbox(ids), snapshot: await snapshot(merchantId, ids, 'as is'), wallets: await wallets(merchantId), lag: lagAfterCrash };

    // A healthy ledger on a new port, same database and Kafka. It gets the partitions once
    // the group drops the killed member (up to the session timeout, 30 s).
    ledger = await startLedger({});
    await waitApplied(ids, 150000);

    expect(await perCommand(ids)).toEqual(
      ids.map((id) => {
        const rejected = id.endsWith(':hold-c');
        const postings = rejected ? 0 : id.endsWith(':settle') ? 4 : 2;
        return { command_id: id, inbox: 1, transactions: rejected ? 0 : 1, postings };
      }),
    );
    expect(await wallets(merchantId)).toEqual(expectedWallets(merchantId, users));
    const statuses = await system.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM ledger.inbox WHERE command_id = ANY($1::text[]) GROUP BY status ORDER BY status`,
      [ids],
    );
    expect(statuses).toEqual([
      { status: 'ACCEPTED', n: expectedPerWallet.inbox.ACCEPTED * users.length },
      { status: 'REJECTED', n: expectedPerWallet.inbox.REJECTED * users.length },
    ]);
    // Every command has its result on the results topic, under the event id its inbox row stores.
    const stored = new Map((await inbox(ids)).map((r) => [r.command_id, r.event_id]));
    await eventually('every result published', async () => ids.filter((id) => !results.of(id).some((e) => e.eventId === stored.get(id))), (missing) => missing.length === 0, 30000);
    for (const id of ids) expect(new Set(results.of(id).map((e) => e.eventId))).toEqual(new Set([stored.get(id)]));
    await expectCheckerPasses();
    const healthAfter = await health(ledger);
    return { merchantId, ids, atCrash, results, duplicates: healthAfter.applier.duplicates };
  }

  it('a ledger killed with SIGKILL after its database commit and before its offset commit loses and duplicates nothing', async () => {
    const outcome = await crashAndRecover({ LEDGER_CRASH_AFTER_COMMIT_BATCH: '1' }, 'crash-after');
    // At the crash the first batch was in the database but its offsets were not committed.
    const committedAtCrash = outcome.atCrash.inbox.map((r) => r.command_id);
    expect(committedAtCrash.length).toBeGreaterThan(0);
    expect(outcome.atCrash.lag).toBeGreaterThanOrEqual(committedAtCrash.length);
    // The restarted ledger got the committed batch again and recognised every command of it in the inbox...
    expect(outcome.duplicates).toBeGreaterThanOrEqual(committedAtCrash.length);
    // ...and re-emitted each stored result: published once by the relay for the rows the killed
    // ledger left unpublished, and once more for the redelivery, both under the original event id.
    for (const id of committedAtCrash) expect(outcome.results.of(id).length).toBeGreaterThanOrEqual(2);
  }, 300000);

  it('a ledger killed with SIGKILL before its database commit loses and duplicates nothing', async () => {
    const outcome = await crashAndRecover({ LEDGER_CRASH_BEFORE_COMMIT_BATCH: '1' }, 'crash-before');
    // Nothing of the killed batch reached the database: no inbox rows, transactions, postings, holds, results or money.
    expect(outcome.atCrash.inbox).toEqual([]);
    // The killed ledger was inside the test's batch: its wallets were opened (outside the batch transaction), empty.
    expect(Object.keys(outcome.atCrash.wallets).length).toBeGreaterThan(0);
    expect(outcome.atCrash.snapshot).toMatchObject({ transactions: [], postings: [], holds: [], inbox: [], outbox: [], conflicts: [] });
    expect(Object.values(outcome.atCrash.wallets).every((balance) => Number(balance) === 0)).toBe(true);
    expect(outcome.atCrash.lag).toBe(outcome.ids.length);
    // Nothing was committed before the crash, so nothing was a duplicate after it.
    expect(outcome.duplicates).toBe(0);
  }, 300000);

  /**
   * A transfer runs in two legs on the two wallets' partitions: the debit
   * moves the amount to the merchant's transit account and writes the
   * `transfer.credit` command to the outbox in the same transaction; the
   * credit moves it on to the receiver. A ledger killed at each point between
   * and inside the legs leaves the money in exactly one place, and the
   * restarted ledger finishes the transfer once.
   */
  const transferCrashes: { point: string; env: Record<string, string>; atCrash: { credited: boolean; creditOnlyInOutbox: boolean } }[] = [
    {
      point: 'after the debit commits, before its credit command leaves the outbox',
      env: { LEDGER_CRASH_AFTER_COMMIT_BATCH: '1' },
      // The debit is in the database; the credit exists only as an unpublished outbox row.
      atCrash: { credited: false, creditOnlyInOutbox: true },
    },
    {
      point: 'inside the credit batch, before its commit',
      env: { LEDGER_CRASH_BEFORE_COMMIT_BATCH: '2' },
      // The credit command was published (its outbox row may not be deleted yet: the relay deletes in batches).
      atCrash: { credited: false, creditOnlyInOutbox: false },
    },
    {
      point: 'after the credit commits, before its Kafka offset commit',
      env: { LEDGER_CRASH_AFTER_COMMIT_BATCH: '2' },
      atCrash: { credited: true, creditOnlyInOutbox: false },
    },
  ];
  it.each(transferCrashes)('a transfer whose ledger is killed $point moves the money once', async ({ env, atCrash }) => {
    const merchantId = uniqueId('m');
    const partitionOf = (username: string) => partitionOfKey(accountKey({ merchantId, username, currency }), TOPICS.ledgerCommands.partitions);
    // The receiver on another partition than the sender, so the two legs are separate batches of separate partitions.
    const sender = 'ava';
    const receiver = ['bo', 'cy', 'di', 'ed', 'fay', 'gil', 'hal', 'ivy'].find((u) => partitionOf(u) !== partitionOf(sender));
    if (receiver === undefined) throw new Error('no receiver name on another partition than the sender');
    const fund = (username: string, amount: string) =>
      command('wallet.funding.requested', { merchantId, username, currency, commandId: `e2e-eo:${merchantId}:${username}:fund`, amount, reference: `${merchantId}:${username}` });
    const fundings = [fund(sender, '100'), fund(receiver, '1')];
    await produce(fundings);
    await waitApplied(fundings.map((f) => f.commandId), 60000);

    const transfer = command('transfer.requested', { merchantId, username: sender, currency, commandId: `e2e-eo:${merchantId}:t1`, toUsername: receiver, amount: '30' });
    const credit = `${transfer.commandId}:credit`;
    const code = (username: string) => `user:${accountKey({ merchantId, username, currency })}:available`;
    const transit = `transit:${merchantId}:${currency}`;
    const moneyAt = async () => {
      const rows = await system.query<{ code: string; balance: string }>(`SELECT code, balance FROM ledger.accounts WHERE code = ANY($1::text[])`, [
        [code(sender), code(receiver), transit],
      ]);
      const of = (c: string) => rows.find((r) => r.code === c)?.balance;
      return { sender: of(code(sender)), receiver: of(code(receiver)), transit: of(transit) };
    };

    await stopServingLedger();
    const doomed = await startLedger(env);
    const doomedPid = doomed.pid;
    if (doomedPid === undefined) throw new Error('the crashing ledger has no pid');
    await produce([transfer]);
    await eventually('the ledger killed itself', async () => processGone(doomedPid), (gone) => gone, 90000);

    // At the crash the debit is in the database, and the 30 are in exactly one place: in transit or with the receiver.
    expect(await moneyAt()).toEqual({
      sender: '70.00000000',
      receiver: atCrash.credited ? '31.00000000' : '1.00000000',
      transit: atCrash.credited ? '0.00000000' : '30.00000000',
    });
    if (atCrash.creditOnlyInOutbox) {
      // Killed before the relay was handed the committed rows: the credit command is on no topic, only in the outbox.
      const creditRows = await system.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger.outbox WHERE topic = $1 AND envelope->'payload'->>'commandId' = $2`, [
        commandsTopic,
        credit,
      ]);
      expect(creditRows[0].n).toBe(1);
    }

    ledger = await startLedger({});
    await waitApplied([transfer.commandId, credit], 150000);
    expect(await moneyAt()).toEqual({ sender: '70.00000000', receiver: '31.00000000', transit: '0.00000000' });
    expect(await perCommand([transfer.commandId, credit])).toEqual([
      { command_id: transfer.commandId, inbox: 1, transactions: 1, postings: 2 },
      { command_id: credit, inbox: 1, transactions: 1, postings: 2 },
    ]);
    await eventually('both legs answered', async () => [transfer.commandId, credit].filter((id) => results.of(id).length === 0), (missing) => missing.length === 0, 30000);
    for (const id of [transfer.commandId, credit]) expect(results.of(id).every((e) => e.payload.status === 'ACCEPTED')).toBe(true);
    await expectCheckerPasses();
    // The outbox is drained (the checker waits for it): the credit command went out once when only the outbox
    // held it (the restarted ledger's sweep), and at least once otherwise (the relay's sweep may send again
    // a row the killed ledger had sent but not yet deleted; the inbox applied it once, as counted above).
    const ends = await admin.fetchTopicOffsets(commandsTopic);
    const receiverPartition = partitionOf(receiver);
    const end = Number(ends.find((e) => e.partition === receiverPartition)?.high);
    await eventually('the command log at the end of the receiver partition', async () => commands.consumedUpTo.get(receiverPartition) ?? 0, (at) => at >= end, 30000);
    const sent = commands.of(credit).length;
    if (atCrash.creditOnlyInOutbox) expect(sent).toBe(1);
    else expect(sent).toBeGreaterThanOrEqual(1);
  }, 300000);

  /**
   * Static group membership: a ledger restarted under the instance id of one
   * that was SIGKILLed (as a supervisor restarts it, on the same host and
   * port) takes the dead member's place in the group at once. Without it the
   * coordinator keeps the dead member until its session times out (10 s after
   * its last heartbeat, one second apart at most), and the new member cannot
   * join, let alone be ready, before then: so a Stable group whose one member
   * is the new process, seen sooner than that after the kill, is the takeover.
   */
  it('a ledger restarted under its instance id after SIGKILL takes over its partitions without waiting out the dead member', async () => {
    const instance = uniqueId('takeover');
    const memberPrefix = `ledger-${instance}-`;
    const members = async () => (await admin.describeGroups([ledgerGroup])).groups[0];
    await stopServingLedger();
    const first = await startLedger({ LEDGER_INSTANCE_ID: instance });
    const before = await members();
    expect(before.state).toBe('Stable');
    expect(before.members.map((m) => m.memberId)).toEqual([expect.stringMatching(new RegExp(`^${memberPrefix}`))]);

    await first.crash();
    const killedAtMs = Date.now();
    ledger = await startLedger({ LEDGER_INSTANCE_ID: instance });
    const after = await members();
    const takeoverMs = Date.now() - killedAtMs;
    expect(after.state).toBe('Stable');
    expect(after.members).toHaveLength(1);
    expect(after.members[0].memberId).toMatch(new RegExp(`^${memberPrefix}`));
    expect(after.members[0].memberId).not.toBe(before.members[0].memberId);
    // The dead member's session (10 s, memberLivenessDefault) ran from its last heartbeat, 1-1.5 s apart
    // (the interval, checked between fetches that wait up to 0.5 s): it could not have expired yet.
    expect(takeoverMs).toBeLessThan(8000);

    // And it consumes: a command sent now is applied.
    const { funding } = walletScenario({ merchantId: uniqueId('m'), username: 'ted', currency }, 'takeover');
    await produce([funding]);
    await waitApplied([funding.commandId], 30000);
  }, 120000);

  /**
   * The other side of static membership: a second ledger started on the
   * address of a running one would join under the same default instance id
   * and take its partitions. It exits before its consumer starts instead,
   * and the running ledger stays the group's member.
   */
  it('a second ledger on the address of a running one exits before joining the group', async () => {
    const before = (await admin.describeGroups([ledgerGroup])).groups[0];
    expect(before.members).toHaveLength(1);
    const second = spawn(process.execPath, [join(repoRoot, 'dist', 'apps', 'ledger', 'main.js')], {
      env: { ...process.env, ...system.infra, PORT: String(ledger.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    second.stdout.on('data', (d: Buffer) => (output += d.toString()));
    second.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const [code] = (await once(second, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(output).toContain(`127.0.0.1:${ledger.port} cannot be bound`);
    expect(output).not.toContain('joined as');
    const after = (await admin.describeGroups([ledgerGroup])).groups[0];
    expect(after.state).toBe('Stable');
    expect(after.members.map((m) => m.memberId)).toEqual(before.members.map((m) => m.memberId));
  }, 60000);

  /**
   * Regression, found by `npm run chaos`: a batch holding the same event twice
   * (a result re-emitted for a client's retry right after the first, read
   * together by a settlement service catching up) was inserted twice, failed
   * on the primary key on every redelivery, and stalled the partition for good.
   */
  it('the settlement service records an event delivered twice in one batch once, and goes on consuming', async () => {
    const merchantId = uniqueId('m');
    const key = accountKey({ merchantId, username: 'kim', currency });
    const result = (commandId: string): string => {
      const payload: CommandResultV1 = { commandId, commandType: 'order.created', requestHash: 'h', status: 'REJECTED', reason: 'WALLET_NOT_FOUND' };
      const envelope = envelopeV1({ eventId: randomUUID(), type: 'order.rejected', aggregateId: key, causationId: commandId, correlationId: commandId, payload });
      return JSON.stringify(envelope);
    };
    const twice = result(`e2e-eo:${merchantId}:twice`);
    const after = result(`e2e-eo:${merchantId}:after`);
    // One produce request, one key: one partition, and the three messages in one fetched batch.
    await producer.send({ topic: resultsTopic, acks: -1, messages: [twice, twice, after].map((value) => ({ key, value })) });
    const recorded = () =>
      system.query<{ command_id: string; n: number }>(
        `SELECT payload->>'commandId' AS command_id, count(*)::int AS n FROM settlement.ledger_events WHERE aggregate_id = $1 GROUP BY 1 ORDER BY 1`,
        [key],
      );
    const rows = await eventually('both events recorded', recorded, (r) => r.length === 2, 30000);
    expect(rows).toEqual([
      { command_id: `e2e-eo:${merchantId}:after`, n: 1 },
      { command_id: `e2e-eo:${merchantId}:twice`, n: 1 },
    ]);
  });

  it('the settlement service parks an event Postgres refuses on every attempt and records the rest of its partition', async () => {
    const merchantId = uniqueId('m');
    const key = accountKey({ merchantId, username: 'lou', currency });
    const result = (commandId: string, reason: string): string => {
      const payload = { commandId, commandType: 'order.created', requestHash: 'h', status: 'REJECTED', reason } as unknown as CommandResultV1;
      return JSON.stringify(envelopeV1({ eventId: randomUUID(), type: 'order.rejected', aggregateId: key, causationId: commandId, correlationId: commandId, payload }));
    };
    // A payload string jsonb cannot hold (\u0000): no producer of ours writes one, but nothing stops one on the topic.
    const poison = result(`e2e-eo:${merchantId}:poison`, 'NUL \u0000 here');
    const before = result(`e2e-eo:${merchantId}:before`, 'WALLET_NOT_FOUND');
    const after = result(`e2e-eo:${merchantId}:after`, 'WALLET_NOT_FOUND');
    const settlementParked = async () => ((await (await fetch(`${system.services.settlement.url}/health`)).json()) as { parked: number }).parked;
    const parkedBefore = await settlementParked();
    // One produce request, one key: one partition, the three messages in one fetched batch.
    await producer.send({ topic: resultsTopic, acks: -1, messages: [before, poison, after].map((value) => ({ key, value })) });
    const recorded = () =>
      system.query<{ command_id: string }>(`SELECT payload->>'commandId' AS command_id FROM settlement.ledger_events WHERE aggregate_id = $1 ORDER BY 1`, [key]);
    const rows = await eventually('the events around the refused one recorded', recorded, (r) => r.length === 2, 30000);
    expect(rows.map((r) => r.command_id)).toEqual([`e2e-eo:${merchantId}:after`, `e2e-eo:${merchantId}:before`]);
    const parked = await system.query<{ reason: string; raw: string }>(`SELECT reason, raw FROM settlement.parked_messages WHERE raw LIKE $1`, [`%${merchantId}:poison%`]);
    expect(parked).toHaveLength(1);
    expect(parked[0].reason).toMatch(/^refused on every attempt, alone and in its batch: .*unsupported Unicode escape sequence/);
    expect(JSON.parse(parked[0].raw)).toMatchObject({ type: 'order.rejected', payload: { commandId: `e2e-eo:${merchantId}:poison` } });
    expect(await settlementParked()).toBe(parkedBefore + 1);
  });

  it('200 concurrent holds each for the whole balance accept exactly one', async () => {
    const merchantId = uniqueId('m');
    const token = await system.merchantWithToken(merchantId);
    await system.fund(merchantId, 'gus', '100', 'initial-gus');
    const extRequestIds = Array.from({ length: 200 }, (_, i) => `race-${i}-${uniqueId('')}`);

    const answers = await Promise.all(
      extRequestIds.map((extRequestId) =>
        system.call('PUT', `${base}/create`, { extRequestId, username: 'gus', currency, amount: '100', bonusAmount: '0' }, { authorization: `Bearer ${token}` }),
      ),
    );

    const accepted = answers.filter((a) => a.status === 200 && a.body.code === 1);
    const refused = answers.filter((a) => a.status === 400 && a.body.code === 11000013);
    const other = answers.filter((a) => !accepted.includes(a) && !refused.includes(a));
    expect(other).toEqual([]);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(199);
    expect(await wallets(merchantId)).toEqual({
      [`user:${merchantId}:gus:${currency}:available`]: '0.00000000',
      [`user:${merchantId}:gus:${currency}:held`]: '100.00000000',
    });
    const commandIds = extRequestIds.map((id) => `ext-orders:${merchantId}:${id}`);
    const statuses = await system.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM ledger.inbox WHERE command_id = ANY($1::text[]) GROUP BY status ORDER BY status`,
      [commandIds],
    );
    expect(statuses).toEqual([
      { status: 'ACCEPTED', n: 1 },
      { status: 'REJECTED', n: 199 },
    ]);
    const holds = await system.query(`SELECT amount, remaining FROM ledger.holds WHERE wallet_key = $1`, [`${merchantId}:gus:${currency}`]);
    expect(holds).toEqual([{ amount: '100.00000000', remaining: '100.00000000' }]);
    await expectCheckerPasses();
  });
});
