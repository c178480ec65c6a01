import { createHash } from 'node:crypto';
import { Injectable, Inject, Logger } from '@nestjs/common';
import type { Span } from '@opentelemetry/api';
import type { DataSource, QueryRunner } from 'typeorm';
import {
  LEDGER_COMMAND_TYPES,
  LEDGER_REJECTIONS,
  TOPICS,
  accountKey,
  envelopeV1,
  resultEventType,
  type CommandBase,
  type CommandResultV1,
  type EventEnvelope,
  type LedgerCommandPayloads,
  type LedgerCommandType,
  type HoldPool,
  type SettlementPostedV1,
  type WalletBalances,
} from '@settlement/contracts';
import { newEventId, outboxInsertSql, prepareOutbox, parkRecords, type ConsumedRecord, type OutboxMessage, OutboxRelay, type StagedOutboxRow } from '@settlement/messaging';
import { Decimal, formatAmount, fromDb } from '@settlement/money';
import { carrierOfSpan, endSpans, startEnvelopeSpan } from '@settlement/telemetry';
import { Book, type BookAccount, type BookHold, type PendingTransaction } from '../book/book';
import { accountCodes, type AccountKind } from '../book/account-codes';
import { fundWallet } from '../funding/fund-wallet/fund-wallet.handler';
import type { FollowUp, Outcome } from '../book/outcome';
import { closeTrade } from '../trades/close-trade/close-trade.handler';
import { requestWithdrawal, withdrawalHoldId } from '../withdrawals/request-withdrawal/request-withdrawal.handler';
import { settleWithdrawal } from '../withdrawals/settle-withdrawal/settle-withdrawal.handler';
import { creditTransfer, debitTransfer } from '../transfers/transfer-funds/transfer-funds.handler';
import { creditConversion, debitConversion } from '../conversions/convert-funds/convert-funds.handler';
import { holdStake } from '../holds/hold-stake/hold-stake.handler';
import { releaseStake } from '../holds/release-stake/release-stake.handler';
import { settleOrders, type SettleOutcome } from '../settlements/settle-orders/settle-orders.handler';
import { LEDGER_SCHEMA } from '../ledger.config';
import { DATA_SOURCE } from '../database/database.providers';

const S = LEDGER_SCHEMA;

type Command = { [K in LedgerCommandType]: { type: K; envelope: EventEnvelope<K, LedgerCommandPayloads[K]> } }[LedgerCommandType];


interface StoredCommand {
  command_id: string;
  request_hash: string;
  result_envelope: EventEnvelope<string, CommandResultV1>;
}

/** Counters for health and benchmarks. */
export interface ApplierStats {
  batches: number;
  commands: number;
  duplicates: number;
  conflicts: number;
  parked: number;
  /** Batch transactions retried after a deadlock or serialization failure. */
  retries: number;
}

/**
 * Applies one partition's batch of ledger commands in a single Postgres
 * transaction: inbox check, account locks in id order, in-memory application
 * in offset order, set-based writes, result events to the outbox.
 */
@Injectable()
export class CommandBatchApplier {
  private readonly logger = new Logger(CommandBatchApplier.name);
  readonly stats: ApplierStats = { batches: 0, commands: 0, duplicates: 0, conflicts: 0, parked: 0, retries: 0 };
  /** Wall time of recent batches, from first statement to commit: the figure the benchmark reports. */
  readonly batchMs = new RecentDurations(batchDurationsKeptMax);
  /** Platform accounts known to exist, by code. */
  private readonly platformAccounts = new Map<string, { id: string; code: string; kind: AccountKind; currency: string }>();
  /** Transaction ids reserved from the sequence; shared by the partitions applied concurrently. */
  private readonly transactionIds = new TransactionIdBlock(transactionIdBlockSize);
  /** Fault injection for crash tests (never set in production): see `crashPoints`. */
  private readonly crash = crashPointsFromEnv();

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
  ) {}

  async apply(records: readonly ConsumedRecord[]): Promise<void> {
    const commands: Command[] = [];
    const unreadable: { topic: string; partition: number; offset: string; problem: string; raw: string }[] = [];
    for (const record of records) {
      if (!record.ok) {
        unreadable.push(record);
        continue;
      }
      const problem = commandProblem(record.envelope);
      if (problem !== null) unreadable.push({ ...record, problem, raw: JSON.stringify(record.envelope) });
      else commands.push({ type: record.envelope.type, envelope: record.envelope } as Command);
    }
    if (unreadable.length > 0) this.logger.warn(`parking ${unreadable.length} unreadable ledger command(s)`);

    const spans: Span[] = commands.map((c) =>
      startEnvelopeSpan(`ledger apply ${c.type}`, c.envelope, { 'ledger.command_id': c.envelope.payload.commandId }),
    );
    const startedMs = performance.now();
    try {
      const outcome = await this.applyWithRetries(commands, unreadable, spans);
      this.batchMs.add(performance.now() - startedMs);
      // Simulates a crash after the database commit and before Kafka offsets are committed.
      if (this.crash.afterCommitBatch === this.stats.batches + 1) process.kill(process.pid, 'SIGKILL');
      this.stats.batches += 1;
      this.stats.commands += commands.length;
      this.stats.duplicates += outcome.duplicates;
      this.stats.conflicts += outcome.conflicts;
      this.stats.parked += unreadable.length;
      // Committed: the results go to Kafka now, without waiting for the relay to read them back.
      this.relay.publishCommitted(outcome.outbox);
      endSpans(spans);
    } catch (error) {
      endSpans(spans, error);
      throw error;
    }
  }

  /**
   * One transaction for the batch, retried here on deadlock or serialization
   * failure (an operating condition, not a bug) so the consumer does not
   * restart; any other error, or the last failed attempt, goes to Kafka for
   * redelivery.
   */
  private async applyWithRetries(
    commands: readonly Command[],
    unreadable: Parameters<typeof parkRecords>[2],
    spans: readonly Span[],
  ): Promise<{ duplicates: number; conflicts: number; outbox: StagedOutboxRow[] }> {
    for (let attempt = 1; ; attempt++) {
      const runner = this.dataSource.createQueryRunner();
      // BEGIN and COMMIT are sent by hand (not startTransaction/commitTransaction) so that the commit can
      // travel in one message with the batch's last statements; `open` tracks what typeorm no longer does.
      let open = false;
      try {
        await runner.connect();
        await this.openAccounts(runner, commands);
        await runner.query('BEGIN');
        open = true;
        await parkRecords(runner, S, unreadable);
        const { finish, ...outcome } = await this.applyInTransaction(runner, commands, spans);
        if (this.crash.beforeCommitBatch === this.stats.batches + 1) process.kill(process.pid, 'SIGKILL');
        await runner.query(finish);
        open = false;
        return outcome;
      } catch (error) {
        if (open) await runner.query('ROLLBACK');
        const code = (error as { driverError?: { code?: string } }).driverError?.code;
        if (attempt >= transientRetriesMax || (code !== '40P01' && code !== '40001')) throw error;
        this.stats.retries += 1;
        this.logger.warn(`batch attempt ${attempt} failed with ${code}; retrying`);
      } finally {
        await runner.release();
      }
    }
  }

  /**
   * Opens wallets that a funding command will credit, and the platform
   * accounts commands touch, before the batch transaction. Outside it on
   * purpose: shared accounts inserted inside concurrent batch transactions
   * could wait on each other; an empty account is harmless if the batch fails.
   */
  private async openAccounts(runner: QueryRunner, commands: readonly Command[]): Promise<void> {
    // Platform accounts already seen exist for good (accounts are never deleted): only new ones are inserted.
    const rows = commands.flatMap(accountsToOpen).filter((r) => r.walletKey !== null || !this.platformAccounts.has(r.code));
    if (rows.length === 0) return;
    const unique = [...new Map(rows.map((r) => [r.code, r])).values()].sort((a, b) => (a.code < b.code ? -1 : 1));
    await runner.query(
      `INSERT INTO ${S}.accounts (code, wallet_key, kind, currency)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT (code) DO NOTHING`,
      [unique.map((r) => r.code), unique.map((r) => r.walletKey), unique.map((r) => r.kind), unique.map((r) => r.currency)],
    );
  }

  private async applyInTransaction(
    runner: QueryRunner,
    commands: readonly Command[],
    spans: readonly Span[],
  ): Promise<{ duplicates: number; conflicts: number; outbox: StagedOutboxRow[]; finish: string }> {
    const ids = [...new Set(commands.map((c) => c.envelope.payload.commandId))];
    const stored = new Map<string, StoredCommand>();
    if (ids.length > 0) {
      const rows: StoredCommand[] = await runner.query(
        `SELECT command_id, request_hash, result_envelope FROM ${S}.inbox WHERE command_id = ANY($1::text[])`,
        [ids],
      );
      for (const row of rows) stored.set(row.command_id, row);
    }

    // Lock the wallet accounts this batch may change, in id order. Platform
    // accounts (house, clearing, transit, fx) are shared by every partition:
    // they are only loaded here and get their deltas at the very end, so the
    // lock on them is held for the commit alone, not for the whole batch.
    const walletKeys = [...new Set(commands.map((c) => accountKey(c.envelope.payload)))];
    const platformCodes = [...new Set(commands.flatMap(platformAccountsOf))];
    const accounts = [...(await lockAccounts(runner, walletKeys)), ...(await this.loadPlatformAccounts(runner, platformCodes))];
    const book = new Book(accounts);
    // Holds live on the same partition as their wallet, so only this batch can change them.
    if (commands.some((c) => HOLD_READING_TYPES.has(c.type))) {
      book.loadHolds(await lockHolds(runner, walletKeys, commands.flatMap(holdIdsOf)));
    }

    // Decide every command in offset order against the in-memory book; the
    // result envelopes are built after the writes, once transaction ids exist.
    type Decision = { command: Command; outcome: Outcome; balances: WalletBalances | undefined; span: Span; envelope?: EventEnvelope<string, CommandResultV1>; json?: string };
    const decisions: Decision[] = [];
    const emitted = new Set<Decision | StoredCommand>();
    const decidedInBatch = new Map<string, Decision>();
    const conflicts: Decision[] = [];
    const posted: OutboxMessage[] = [];
    let duplicates = 0;

    commands.forEach((command, index) => {
      const payload: CommandBase = command.envelope.payload;
      const earlier = decidedInBatch.get(payload.commandId) ?? stored.get(payload.commandId);
      if (earlier !== undefined) {
        duplicates += 1;
        const earlierHash = 'command' in earlier ? earlier.command.envelope.payload.requestHash : earlier.request_hash;
        if (earlierHash === payload.requestHash) {
          // The same command again (redelivery or a client retry): re-emit the first result under its own event id.
          emitted.add(earlier);
        } else {
          const conflict: Decision = {
            command,
            outcome: { status: 'REJECTED', reason: LEDGER_REJECTIONS.IDEMPOTENCY_CONFLICT },
            balances: book.balances(payload),
            span: spans[index],
          };
          conflicts.push(conflict);
          emitted.add(conflict);
        }
        return;
      }
      const outcome = this.applyOne(book, command);
      const decision: Decision = { command, outcome, balances: book.balances(payload), span: spans[index] };
      decisions.push(decision);
      decidedInBatch.set(payload.commandId, decision);
      emitted.add(decision);
    });

    // Transaction ids first: each result's transactionRef is its transaction's id.
    const txIds = await this.transactionIds.take(runner, book.transactions.length);
    book.transactions.forEach((tx, i) => (tx.id = txIds[i]));
    for (const d of decisions) {
      d.envelope = resultEnvelope(d.command, d.outcome, d.balances, d.span, newEventId());
      // Serialised once: the same text goes to the inbox and to the outbox.
      d.json = JSON.stringify(d.envelope);
    }
    // A conflict's answer is derived from the conflicting message, so its redelivery re-emits the same event.
    for (const d of conflicts) d.envelope = resultEnvelope(d.command, d.outcome, d.balances, d.span, derivedEventId(d.command.envelope.eventId, 'conflict'));
    for (const d of decisions) {
      if (d.outcome.status !== 'ACCEPTED') continue;
      if (d.command.type === 'settlement.requested') posted.push(settlementPosted(d.command, d.outcome as SettleAccepted, d.balances, d.span));
      for (const followUp of d.outcome.followUps ?? []) posted.push(followUpCommand(d.command, followUp, d.span));
    }
    if (conflicts.length > 0) {
      await runner.query(
        `INSERT INTO ${S}.conflicts (command_event_id, command_id, request_hash, envelope)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::json[]) ON CONFLICT (command_event_id) DO NOTHING`,
        [
          conflicts.map((c) => c.command.envelope.eventId),
          conflicts.map((c) => c.command.envelope.payload.commandId),
          conflicts.map((c) => c.command.envelope.payload.requestHash),
          conflicts.map((c) => JSON.stringify(c.command.envelope)),
        ],
      );
    }
    const outbox: OutboxMessage[] = [...emitted].map((e) =>
      'command' in e
        ? { topic: TOPICS.ledgerResults.name, envelope: e.envelope as EventEnvelope, ...(e.json !== undefined ? { json: e.json } : {}) }
        : { topic: TOPICS.ledgerResults.name, envelope: e.result_envelope },
    );
    outbox.push(...posted);
    const staged = await writeBatch(runner, book, decisions as (Decision & { json: string })[], outbox);
    return { duplicates, conflicts: conflicts.length, outbox: staged, finish: platformDeltasAndCommit(book) };
  }

  /**
   * Platform accounts, unlocked, with a zero balance that accumulates this
   * batch's delta. Their id, kind and currency never change, so they are read
   * once per process.
   */
  private async loadPlatformAccounts(runner: QueryRunner, codes: readonly string[]): Promise<BookAccount[]> {
    const missing = codes.filter((c) => !this.platformAccounts.has(c));
    if (missing.length > 0) {
      const rows: { id: string; code: string; kind: AccountKind; currency: string }[] = await runner.query(
        `SELECT id, code, kind, currency FROM ${S}.accounts WHERE code = ANY($1::text[])`,
        [missing],
      );
      for (const r of rows) this.platformAccounts.set(r.code, { id: String(r.id), code: r.code, kind: r.kind, currency: r.currency });
    }
    return codes.flatMap((code) => {
      const known = this.platformAccounts.get(code);
      return known === undefined ? [] : [{ ...known, walletKey: null, balance: new Decimal(0), shared: true }];
    });
  }

  private applyOne(book: Book, command: Command): Outcome {
    switch (command.type) {
      case 'order.created':
        return holdStake(book, command.envelope.payload);
      case 'order.cancelled':
        return releaseStake(book, command.envelope.payload);
      case 'settlement.requested':
        return settleOrders(book, command.envelope.payload);
      case 'wallet.funding.requested':
        return fundWallet(book, command.envelope.payload);
      case 'trade.closed':
        return closeTrade(book, command.envelope.payload);
      case 'withdrawal.requested':
        return requestWithdrawal(book, command.envelope.payload);
      case 'withdrawal.completed':
        return settleWithdrawal(book, command.envelope.payload, 'completed');
      case 'withdrawal.failed':
        return settleWithdrawal(book, command.envelope.payload, 'failed');
      case 'transfer.requested':
        return debitTransfer(book, command.envelope.payload);
      case 'transfer.credit':
        return creditTransfer(book, command.envelope.payload, 'credit');
      case 'transfer.refund':
        return creditTransfer(book, command.envelope.payload, 'refund');
      case 'conversion.requested':
        return debitConversion(book, command.envelope.payload);
      case 'conversion.credit':
        return creditConversion(book, command.envelope.payload);
    }
  }
}

/** Transaction ids reserved per sequence query: a few batches' worth under load. */
const transactionIdBlockSize = 1000;

/** Attempts at one batch transaction before the batch goes back to Kafka; deadlocks are rare and clear on retry. */
const transientRetriesMax = 3;

/** Batch durations kept for percentiles; enough for a benchmark's steady state. */
const batchDurationsKeptMax = 20000;

/** A bounded ring of recent durations in milliseconds, with percentiles. */
export class RecentDurations {
  private readonly values: number[] = [];
  private next = 0;

  constructor(private readonly sizeMax: number) {}

  add(ms: number): void {
    if (this.values.length < this.sizeMax) this.values.push(ms);
    else this.values[this.next] = ms;
    this.next = (this.next + 1) % this.sizeMax;
  }

  summary(): { count: number; p50Ms: number; p99Ms: number; maxMs: number } {
    const sorted = [...this.values].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return { count: sorted.length, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), maxMs: round(sorted[sorted.length - 1] ?? 0) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Crash points for the crash tests: LEDGER_CRASH_BEFORE_COMMIT_BATCH=N kills
 * the process with SIGKILL inside the Nth batch before its database commit,
 * LEDGER_CRASH_AFTER_COMMIT_BATCH=N right after it (before the Kafka offset
 * commit). Unset in every real deployment.
 */
function crashPointsFromEnv(): { beforeCommitBatch?: number; afterCommitBatch?: number } {
  const before = process.env['LEDGER_CRASH_BEFORE_COMMIT_BATCH'];
  const after = process.env['LEDGER_CRASH_AFTER_COMMIT_BATCH'];
  return { ...(before ? { beforeCommitBatch: Number(before) } : {}), ...(after ? { afterCommitBatch: Number(after) } : {}) };
}

type SettleAccepted = Extract<SettleOutcome, { status: 'ACCEPTED' }>;

/** Command types that read or change holds; only batches with one of them load holds. */
const HOLD_READING_TYPES = new Set<LedgerCommandType>(['order.cancelled', 'settlement.requested', 'trade.closed', 'withdrawal.completed', 'withdrawal.failed']);

/** Holds a command names explicitly (besides the wallet's open holds). */
function holdIdsOf(command: Command): string[] {
  switch (command.type) {
    case 'order.cancelled':
      return command.envelope.payload.orderId === undefined ? [] : [command.envelope.payload.orderId];
    case 'trade.closed':
      return [command.envelope.payload.orderId];
    case 'withdrawal.requested':
    case 'withdrawal.completed':
    case 'withdrawal.failed':
      return [withdrawalHoldId(command.envelope.payload.withdrawalId)];
    default:
      return [];
  }
}

/** Platform accounts a command may post to, with their kind; locked after the wallets, in id order. */
function platformAccountsWithKind(command: Command): { code: string; kind: AccountKind; currency: string }[] {
  const p = command.envelope.payload;
  switch (command.type) {
    case 'wallet.funding.requested':
    case 'withdrawal.completed':
      return [{ code: accountCodes.externalClearing(p.currency), kind: 'clearing', currency: p.currency }];
    case 'settlement.requested':
    case 'trade.closed':
      return [{ code: accountCodes.house(p.merchantId, p.currency), kind: 'house', currency: p.currency }];
    case 'transfer.requested':
    case 'transfer.credit':
    case 'transfer.refund':
      return [{ code: accountCodes.transit(p.merchantId, p.currency), kind: 'transit', currency: p.currency }];
    case 'conversion.requested':
    case 'conversion.credit':
      return [{ code: accountCodes.fx(p.currency), kind: 'fx', currency: p.currency }];
    default:
      return [];
  }
}

function platformAccountsOf(command: Command): string[] {
  return platformAccountsWithKind(command).map((a) => a.code);
}

/** Accounts to create before the batch: platform accounts, and the wallets that funding and conversion credits open. */
function accountsToOpen(command: Command): { code: string; walletKey: string | null; kind: AccountKind; currency: string }[] {
  const rows: { code: string; walletKey: string | null; kind: AccountKind; currency: string }[] = platformAccountsWithKind(command).map((a) => ({ ...a, walletKey: null }));
  if (command.type === 'wallet.funding.requested' || command.type === 'conversion.credit') {
    const p = command.envelope.payload;
    const key = accountKey(p);
    rows.push({ code: accountCodes.available(p), walletKey: key, kind: 'available', currency: p.currency });
    rows.push({ code: accountCodes.held(p), walletKey: key, kind: 'held', currency: p.currency });
  }
  return rows;
}

/** The envelope of a command the ledger sends itself, keyed by the wallet it is for. */
function followUpCommand(cause: Command, followUp: FollowUp, span: Span): OutboxMessage {
  return {
    topic: TOPICS.ledgerCommands.name,
    envelope: envelopeV1({
      eventId: newEventId(),
      type: followUp.type,
      aggregateId: accountKey(followUp.payload),
      causationId: cause.envelope.eventId,
      correlationId: cause.envelope.correlationId,
      ...carrierOfSpan(span),
      payload: followUp.payload,
    }),
  };
}

async function lockHolds(runner: QueryRunner, walletKeys: readonly string[], orderIds: readonly string[]): Promise<BookHold[]> {
  const rows: { order_id: string; wallet_key: string; pool: HoldPool; amount: string; remaining: string }[] = await runner.query(
    `SELECT order_id, wallet_key, pool, amount, remaining FROM ${S}.holds
     WHERE (wallet_key = ANY($1::text[]) AND remaining > 0) OR order_id = ANY($2::text[]) ORDER BY seq FOR NO KEY UPDATE`,
    [walletKeys, orderIds],
  );
  return rows.map((r) => ({ orderId: r.order_id, walletKey: r.wallet_key, pool: r.pool, amount: fromDb(r.amount), remaining: fromDb(r.remaining), isNew: false }));
}

function settlementPosted(command: Command, outcome: SettleAccepted, balances: WalletBalances | undefined, span: Span): OutboxMessage {
  const p = command.envelope.payload as LedgerCommandPayloads['settlement.requested'];
  if (balances === undefined) throw new Error('an accepted settlement has a wallet');
  const payload: SettlementPostedV1 = {
    transactionRef: transactionId(outcome.tx),
    commandId: p.commandId,
    merchantId: p.merchantId,
    username: p.username,
    currency: p.currency,
    totalOrderAmount: formatAmount(outcome.total),
    pnlAmount: formatAmount(outcome.pnl),
    payoutAmount: formatAmount(outcome.payout),
    ...(p.extRefId !== undefined ? { extRefId: p.extRefId } : {}),
    balances,
  };
  return {
    topic: TOPICS.settlementPosted.name,
    envelope: envelopeV1({
      eventId: newEventId(),
      type: 'settlement.posted',
      aggregateId: p.merchantId,
      causationId: command.envelope.eventId,
      correlationId: command.envelope.correlationId,
      ...carrierOfSpan(span),
      payload,
    }),
  };
}

/** A stable UUID derived from another event id, for events that must be the same on every redelivery. */
function derivedEventId(sourceEventId: string, purpose: string): string {
  const hex = createHash('sha256').update(`${sourceEventId}:${purpose}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Why an envelope is not a ledger command this version understands, or null. */
function commandProblem(envelope: EventEnvelope): string | null {
  if (!(LEDGER_COMMAND_TYPES as readonly string[]).includes(envelope.type)) return `unknown command type ${envelope.type}`;
  if (envelope.version !== 1) return `unsupported version ${envelope.version} of ${envelope.type}`;
  const p = envelope.payload as Record<string, unknown>;
  for (const field of ['commandId', 'requestHash', 'merchantId', 'username', 'currency']) {
    if (typeof p[field] !== 'string' || p[field] === '') return `${envelope.type} without ${field}`;
  }
  return null;
}

async function lockAccounts(runner: QueryRunner, walletKeys: readonly string[]): Promise<BookAccount[]> {
  if (walletKeys.length === 0) return [];
  const rows: { id: string; code: string; wallet_key: string | null; kind: AccountKind; currency: string; balance: string }[] = await runner.query(
    `SELECT id, code, wallet_key, kind, currency, balance FROM ${S}.accounts WHERE wallet_key = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`,
    [walletKeys],
  );
  return rows.map((r) => ({ id: String(r.id), code: r.code, walletKey: r.wallet_key, kind: r.kind, currency: r.currency, balance: fromDb(r.balance), shared: false }));
}

/**
 * The batch's last message: adds its deltas to the shared platform accounts,
 * locking them in id order as the transaction's last statements (every batch
 * takes wallet locks first and these last, so no two batches can wait on
 * each other), then commits. Several statements in one round trip, which the
 * simple query protocol allows only without parameters: the values are
 * inlined, and each is checked to be a number first.
 */
function platformDeltasAndCommit(book: Book): string {
  const shared = book.touchedAccounts().filter((a) => a.shared && !a.balance.isZero());
  if (shared.length === 0) return 'COMMIT';
  const ids = shared.map((a) => a.id);
  const deltas = shared.map((a) => formatAmount(a.balance));
  for (const id of ids) if (!/^[0-9]+$/.test(id)) throw new Error(`account id ${id} is not a number`);
  for (const delta of deltas) if (!/^-?[0-9]+(\.[0-9]+)?$/.test(delta)) throw new Error(`delta ${delta} is not a decimal`);
  // NO KEY UPDATE, not UPDATE: posting inserts of concurrent batches hold KEY
  // SHARE locks on these rows (the foreign key), which FOR UPDATE would wait on
  // in a cycle. NO KEY UPDATE is what the balance UPDATE takes anyway.
  return `SELECT id FROM ${S}.accounts WHERE id IN (${ids.join(',')}) ORDER BY id FOR NO KEY UPDATE;
    UPDATE ${S}.accounts a SET balance = a.balance + v.delta
      FROM unnest('{${ids.join(',')}}'::bigint[], '{${deltas.join(',')}}'::numeric[]) AS v(id, delta) WHERE a.id = v.id;
    COMMIT`;
}

function resultEnvelope(command: Command, outcome: Outcome, balances: WalletBalances | undefined, span: Span, eventId: string): EventEnvelope<string, CommandResultV1> {
  const p = command.envelope.payload;
  const result: CommandResultV1 = {
    commandId: p.commandId,
    commandType: command.type,
    requestHash: p.requestHash,
    status: outcome.status,
    ...(outcome.status === 'REJECTED' ? { reason: outcome.reason } : { transactionRef: transactionId(outcome.tx) }),
    ...(balances !== undefined ? { balances } : {}),
  };
  return envelopeV1({
    eventId,
    type: resultEventType(command.type, outcome.status),
    aggregateId: accountKey(p),
    causationId: command.envelope.eventId,
    correlationId: command.envelope.correlationId,
    ...carrierOfSpan(span),
    payload: result,
  });
}

/**
 * Writes everything the batch decided in one statement (one round trip,
 * whatever the batch size): transactions, postings, new wallet balances, new
 * and changed holds, inbox rows and outbox rows. Data-modifying CTEs touch
 * distinct rows here, and foreign keys are checked at the statement's end,
 * when every CTE has run. Returns the outbox rows with their ids.
 */
async function writeBatch(
  runner: QueryRunner,
  book: Book,
  decisions: readonly { command: Command; outcome: Outcome; json: string }[],
  outbox: readonly OutboxMessage[],
): Promise<StagedOutboxRow[]> {
  const txs = book.transactions;
  const postingTx: string[] = [];
  const postingAccount: string[] = [];
  const postingAmount: string[] = [];
  for (const tx of txs) {
    for (const posting of tx.postings) {
      postingTx.push(transactionId(tx));
      postingAccount.push(posting.accountId);
      postingAmount.push(formatAmount(posting.amount));
    }
  }
  const touched = book.touchedAccounts().filter((a) => !a.shared);
  const holds = book.holdsToWrite();
  const created = holds.filter((h) => h.isNew);
  const changed = holds.filter((h) => !h.isNew);
  const prepared = prepareOutbox(outbox);
  const rows: { id: string }[] = await runner.query(
    `WITH
       t AS (INSERT INTO ${S}.transactions (id, command_id, type) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])),
       p AS (INSERT INTO ${S}.postings (transaction_id, account_id, amount) SELECT * FROM unnest($4::bigint[], $5::bigint[], $6::numeric[])),
       a AS (UPDATE ${S}.accounts a SET balance = v.balance FROM unnest($7::bigint[], $8::numeric[]) AS v(id, balance) WHERE a.id = v.id),
       hn AS (INSERT INTO ${S}.holds (order_id, wallet_key, pool, amount, remaining, transaction_id)
              SELECT * FROM unnest($9::text[], $10::text[], $11::text[], $12::numeric[], $13::numeric[], $14::bigint[])),
       hc AS (UPDATE ${S}.holds h SET remaining = v.remaining FROM unnest($15::text[], $16::numeric[]) AS v(order_id, remaining) WHERE h.order_id = v.order_id),
       -- applied_at is the clock at this statement, the batch's last before commit (now() would be the
       -- transaction's start): the system benchmark measures HTTP acceptance to ledger commit with it.
       i AS (INSERT INTO ${S}.inbox (command_id, command_type, request_hash, command, status, result_envelope, applied_at)
             SELECT *, clock_timestamp() FROM unnest($17::text[], $18::text[], $19::text[], $20::json[], $21::text[], $22::json[])),
       o AS (${outboxInsertSql(S, 23)} RETURNING id)
     SELECT id FROM o`,
    [
      txs.map((t) => transactionId(t)),
      txs.map((t) => t.commandId),
      txs.map((t) => t.type),
      postingTx,
      postingAccount,
      postingAmount,
      touched.map((a) => a.id),
      touched.map((a) => formatAmount(a.balance)),
      created.map((h) => h.orderId),
      created.map((h) => h.walletKey),
      created.map((h) => h.pool),
      created.map((h) => formatAmount(h.amount)),
      created.map((h) => formatAmount(h.remaining)),
      created.map((h) => transactionId(requireTx(h))),
      changed.map((h) => h.orderId),
      changed.map((h) => formatAmount(h.remaining)),
      decisions.map((d) => d.command.envelope.payload.commandId),
      decisions.map((d) => d.command.type),
      decisions.map((d) => d.command.envelope.payload.requestHash),
      decisions.map((d) => JSON.stringify(d.command.envelope.payload)),
      decisions.map((d) => d.outcome.status),
      decisions.map((d) => d.json),
      ...prepared.params,
    ],
  );
  return prepared.staged(rows.map((r) => r.id));
}

/**
 * Ledger transaction ids, taken from the sequence a block at a time: one
 * query per `blockSize` transactions instead of one per batch. Ids left over
 * at exit are never used (a gap, as a rolled-back nextval leaves).
 */
class TransactionIdBlock {
  private readonly ids: string[] = [];

  constructor(private readonly blockSize: number) {}

  async take(runner: QueryRunner, count: number): Promise<string[]> {
    // A loop, not an if: a concurrent batch may take ids while this one waits for its block.
    while (this.ids.length < count) {
      const rows: { id: string }[] = await runner.query(`SELECT nextval('${S}.transactions_id_seq') AS id FROM generate_series(1, $1)`, [
        Math.max(this.blockSize, count - this.ids.length),
      ]);
      for (const row of rows) this.ids.push(String(row.id));
    }
    return this.ids.splice(0, count);
  }
}

/** The id a transaction was given when written; asserts it was written. */
function transactionId(tx: PendingTransaction): string {
  if (tx.id === undefined) throw new Error(`transaction of ${tx.commandId} has no id: it was not written`);
  return tx.id;
}

function requireTx(hold: BookHold): PendingTransaction {
  if (hold.tx === undefined) throw new Error(`new hold ${hold.orderId} has no transaction`);
  return hold.tx;
}
