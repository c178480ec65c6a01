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
import {
  newEventId,
  outboxInsertSql,
  prepareOutbox,
  parkRecords,
  SequenceBlock,
  databaseOutageRetry,
  retryWhileDatabaseUnavailable,
  errorCodeOf,
  applyIsolatingRefusals,
  refusedParkRows,
  type RefusedRecord,
  sqlArray,
  pgArrayText,
  jsonArrayText,
  jsonArrayParameterSql,
  type SqlArrayType,
  type ConsumedRecord,
  type OutboxMessage,
  OutboxRelay,
  type StagedOutboxRow,
} from '@settlement/messaging';
import { Decimal, formatAmount, fromDb } from '@settlement/money';
import { carrierOfSpan, endSpans, startEnvelopeSpan } from '@settlement/telemetry';
import { Book, type BookAccount, type BookHold, type PendingTransaction } from '../book/book';
import { accountCodes, type AccountKind } from '../book/account-codes';
import { fundWallet } from '../funding/fund-wallet/fund-wallet.handler';
import { rejected, type FollowUp, type Outcome } from '../book/outcome';
import { closeTrade } from '../trades/close-trade/close-trade.handler';
import { requestWithdrawal, withdrawalHoldId } from '../withdrawals/request-withdrawal/request-withdrawal.handler';
import { settleWithdrawal } from '../withdrawals/settle-withdrawal/settle-withdrawal.handler';
import { creditTransfer, debitTransfer } from '../transfers/transfer-funds/transfer-funds.handler';
import { creditConversion, debitConversion, refundConversion } from '../conversions/convert-funds/convert-funds.handler';
import { holdStake } from '../holds/hold-stake/hold-stake.handler';
import { releaseStake } from '../holds/release-stake/release-stake.handler';
import { settleOrders, type SettleOutcome } from '../settlements/settle-orders/settle-orders.handler';
import { LEDGER_SCHEMA } from '../ledger.config';
import { DATA_SOURCE } from '../database/database.providers';
import { identityProblem, payloadProblem } from './command-validation';
import { FOLLOW_UP_TYPES, followUpProblem, followUpSources, type AppliedCommand } from './follow-up-verification';

const S = LEDGER_SCHEMA;

/**
 * A consumed command and where it was read (`at`); `problem` says why its own
 * fields are malformed (it is answered INVALID_COMMAND, reading and moving nothing).
 */
type Command = {
  [K in LedgerCommandType]: { type: K; envelope: EventEnvelope<K, LedgerCommandPayloads[K]>; at: RecordPosition; problem?: string };
}[LedgerCommandType];

interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** An inbox row the batch read: a command applied before, repeated in the batch. */
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
  /** Transaction and outbox ids reserved from their sequences; shared by the batches applied concurrently. */
  private readonly transactionIds = new SequenceBlock(`${S}.transactions_id_seq`, idBlockSize);
  private readonly outboxIds = new SequenceBlock(`${S}.outbox_id_seq`, idBlockSize);
  /** Fault injection for crash tests (never set in production): see `crashPoints`. */
  private readonly crash = crashPointsFromEnv();
  /** Pooled connections on which the batch statements are prepared. */
  private readonly preparedClients = new WeakSet<SimpleQueryClient>();

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * Applies a batch of consumed records (the consumer's handler). A command
   * Postgres refuses on every attempt, alone and in its batch, is parked and
   * the rest applied (applyIsolatingRefusals, libs/messaging); see park.
   */
  async apply(records: readonly ConsumedRecord[]): Promise<void> {
    await applyIsolatingRefusals(
      records,
      (part) => this.applyRecords(part),
      (refused) => this.park(refused),
      (message) => this.logger.warn(message),
    );
  }

  /**
   * Parks commands Postgres refused on every attempt (parked_messages, with
   * the error). Each that can be answered is answered REJECTED with
   * LEDGER_ERROR, in the same transaction: its caller learns at once that
   * nothing moved, instead of waiting out its wait. The answer is not
   * recorded under the command's id, so the caller's retry under the same key
   * is tried afresh.
   */
  private async park(refused: readonly RefusedRecord[]): Promise<void> {
    const answers = refused.flatMap(({ record, error }) => (record.ok && commandProblem(record.envelope) === null ? [refusedAnswer(record.envelope, error)] : []));
    const staged = await this.dataSource.transaction(async (manager) => {
      const runner = manager.queryRunner as QueryRunner;
      await parkRecords(runner, S, refusedParkRows(refused));
      return this.insertOutbox(runner, answers);
    });
    this.relay.publishCommitted(staged);
    this.stats.parked += refused.length;
    for (const { record, error } of refused) {
      const id = record.ok ? (record.envelope.payload as { commandId?: unknown }).commandId : undefined;
      this.logger.error(`parked command ${String(id)} (${record.topic} partition ${record.partition} offset ${record.offset}): ${error.message}`);
    }
  }

  /** Writes outbox rows in the caller's transaction, by plain parameters (the batch write binds its own); returns them staged for the relay. */
  private async insertOutbox(runner: QueryRunner, messages: readonly OutboxMessage[]): Promise<StagedOutboxRow[]> {
    if (messages.length === 0) return [];
    const { columns, staged } = prepareOutbox(messages, await this.outboxIds.take(runner, messages.length));
    await runner.query(outboxInsertSql(S, { ids: '$1::bigint[]', eventIds: '$2::uuid[]', topics: '$3::text[]', keys: '$4::text[]', envelopes: '$5::json[]' }), [
      columns.ids,
      columns.eventIds,
      columns.topics,
      columns.keys,
      columns.envelopes,
    ]);
    return staged;
  }

  /** Applies records in one transaction (retried while Postgres is unavailable or on a deadlock), then hands their results to the relay. */
  private async applyRecords(records: readonly ConsumedRecord[]): Promise<void> {
    const commands: Command[] = [];
    const malformed: Command[] = [];
    const unreadable: { topic: string; partition: number; offset: string; problem: string; raw: string }[] = [];
    for (const record of records) {
      if (!record.ok) {
        unreadable.push(record);
        continue;
      }
      const problem = commandProblem(record.envelope);
      if (problem !== null) unreadable.push({ ...record, problem, raw: JSON.stringify(record.envelope) });
      else {
        const fields = payloadProblem(record.envelope.type as LedgerCommandType, record.envelope.payload as Record<string, unknown>);
        const at = { topic: record.topic, partition: record.partition, offset: record.offset };
        const command = { type: record.envelope.type, envelope: record.envelope, at, ...(fields !== null ? { problem: fields } : {}) } as Command;
        commands.push(command);
        if (fields !== null) malformed.push(command);
      }
    }
    if (unreadable.length > 0) this.logger.warn(`parking ${unreadable.length} unreadable ledger command(s)`);
    if (malformed.length > 0) {
      this.logger.warn(`answering ${malformed.length} malformed ledger command(s) INVALID_COMMAND, ${malformed[0].envelope.payload.commandId} first: ${malformed[0].problem}`);
    }

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
      this.stats.parked += unreadable.length + outcome.parked;
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
   * restart, and while Postgres cannot be reached (retryWhileDatabaseUnavailable:
   * a retry after a commit whose answer was lost is answered from the inbox,
   * as a redelivery would be). Any other error, or the last failed attempt,
   * goes to Kafka for redelivery.
   */
  private applyWithRetries(
    commands: readonly Command[],
    unreadable: Parameters<typeof parkRecords>[2],
    spans: readonly Span[],
  ): Promise<{ duplicates: number; conflicts: number; parked: number; outbox: StagedOutboxRow[] }> {
    return retryWhileDatabaseUnavailable(
      () => this.applyWithDeadlockRetries(commands, unreadable, spans),
      (error) => {
        this.stats.retries += 1;
        this.logger.warn(`batch: Postgres unavailable (${error.message}); retrying in ${databaseOutageRetry.delayMs} ms`);
      },
    );
  }

  private async applyWithDeadlockRetries(
    commands: readonly Command[],
    unreadable: Parameters<typeof parkRecords>[2],
    spans: readonly Span[],
  ): Promise<{ duplicates: number; conflicts: number; parked: number; outbox: StagedOutboxRow[] }> {
    // Once per batch, outside its transaction: what it reads is append-only, so every attempt would find the same.
    const forged = await this.forgedFollowUps(commands);
    for (let attempt = 1; ; attempt++) {
      const runner = this.dataSource.createQueryRunner();
      // The transaction is opened and closed by hand (not startTransaction/commitTransaction): BEGIN travels in
      // one message with the batch's reads, COMMIT with the platform deltas after the bound write (batchWrite);
      // `open` tracks what typeorm no longer does.
      let open = false;
      try {
        const client = (await runner.connect()) as SimpleQueryClient;
        await this.prepare(client);
        // A second leg the ledger did not write opens nothing, or a forged one could open wallets and FX accounts of any name.
        await this.openAccounts(runner, forged.size === 0 ? commands : commands.filter((c) => !forged.has(c)));
        // Set before the first message: whatever part of it ran, a ROLLBACK is due (outside a transaction it only warns).
        open = true;
        const { write, commit, ...outcome } = await this.applyInTransaction(runner, client, commands, forged, unreadable, spans);
        if (this.crash.beforeCommitBatch === this.stats.batches + 1) process.kill(process.pid, 'SIGKILL');
        await client.query(batchWriteQuery(write));
        await client.query(commit);
        open = false;
        return outcome;
      } catch (error) {
        // On a lost connection the ROLLBACK fails too (typeorm has released the runner); the first error decides.
        if (open) await runner.query('ROLLBACK').catch(() => undefined);
        // Statements sent through the pg client directly fail with its error; through typeorm, wrapped.
        const code = errorCodeOf(error);
        if (attempt >= transientRetriesMax || (code !== '40P01' && code !== '40001')) throw error;
        this.stats.retries += 1;
        this.logger.warn(`batch attempt ${attempt} failed with ${code}; retrying`);
      } finally {
        await runner.release();
      }
    }
  }

  /**
   * Opens `connections` pooled connections and readies each for batches: its
   * statements prepared (see prepare) and their generic plans made, by one
   * EXECUTE of each on empty arrays under the batch's planner settings, in a
   * transaction rolled back. Otherwise the first batch on each connection
   * pays for it, 50-70 ms in the system benchmark, and connections are first
   * used under load: the first batches after a (re)start, a pool growing
   * under a burst. Pooled connections are kept open (createServiceDataSource);
   * one made later, after a Postgres restart, is readied by its first batch.
   */
  async warmUp(connections: number): Promise<void> {
    const runners = Array.from({ length: connections }, () => this.dataSource.createQueryRunner());
    try {
      await Promise.all(
        runners.map(async (runner) => {
          const client = (await runner.connect()) as SimpleQueryClient;
          await this.prepare(client);
          try {
            await client.query(warmUpReadSql());
            await client.query(batchWriteQuery(batchWrite.params.map(emptyParameter)));
            await client.query(warmUpEndSql());
          } catch (error) {
            // A statement failed inside the transaction: end it before the connection goes back to the pool
            // (on a broken connection the ROLLBACK fails too; the first error is the one to report).
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        }),
      );
    } finally {
      await Promise.all(runners.map((runner) => runner.release()));
    }
  }

  /**
   * Prepares the batch statements (preparedSql) on a pooled connection the
   * first time it applies a batch; a prepared statement lives as long as its
   * connection, and a replaced connection is a new client object.
   */
  private async prepare(client: SimpleQueryClient): Promise<void> {
    if (this.preparedClients.has(client)) return;
    // Asked, not assumed: a PREPARE message that failed part way may have left some of them behind.
    const existing = (await client.query('SELECT name FROM pg_prepared_statements')) as { rows: { name: string }[] };
    const sql = prepareBatchStatementsSql(new Set(existing.rows.map((r) => r.name)));
    if (sql !== '') await client.query(sql);
    this.preparedClients.add(client);
  }

  /**
   * The second legs among `commands` that the ledger did not write, each with
   * why (followUpProblem), checked against the inbox rows of the requests they
   * continue. Those rows, and the transactions they name, are append-only and
   * committed before the leg was written, so a check made before the batch
   * transaction holds in it.
   */
  private async forgedFollowUps(commands: readonly Command[]): Promise<Map<Command, string>> {
    const legs = commands.filter((c) => isWellFormed(c) && FOLLOW_UP_TYPES.has(c.type));
    const forged = new Map<Command, string>();
    if (legs.length === 0) return forged;
    const sources = [...new Set(legs.flatMap((c) => followUpSources(c.type, c.envelope.payload)))];
    const rows: { command_id: string; applied: AppliedCommand }[] = sources.length === 0 ? [] : await this.dataSource.query(appliedCommandsSql, [sources]);
    const applied = new Map(rows.map((r) => [r.command_id, r.applied]));
    for (const leg of legs) {
      const problem = followUpProblem(leg.type, leg.envelope.payload, (id) => applied.get(id));
      if (problem !== null) forged.set(leg, problem);
    }
    return forged;
  }

  /**
   * Opens wallets that a funding command will credit, and the platform
   * accounts commands touch, before the batch transaction. Outside it on
   * purpose: shared accounts inserted inside concurrent batch transactions
   * could wait on each other; an empty account is harmless if the batch fails.
   */
  private async openAccounts(runner: QueryRunner, commands: readonly Command[]): Promise<void> {
    // Platform accounts already seen exist for good (accounts are never deleted): only new ones are inserted.
    const rows = commands.filter(isWellFormed).flatMap(accountsToOpen).filter((r) => r.walletKey !== null || !this.platformAccounts.has(r.code));
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
    client: SimpleQueryClient,
    commands: readonly Command[],
    forged: ReadonlyMap<Command, string>,
    unreadable: Parameters<typeof parkRecords>[2],
    spans: readonly Span[],
  ): Promise<{ duplicates: number; conflicts: number; parked: number; outbox: StagedOutboxRow[]; write: string[]; commit: string }> {
    // One message begins the transaction and reads what the batch needs: the
    // inbox rows of its command ids, its wallet accounts locked in id order,
    // and (when a command reads holds) their holds locked. Platform accounts
    // (house, clearing, transit, fx) are shared by every partition: they are
    // only loaded here and get their deltas at the very end, so the lock on
    // them is held for the commit alone, not for the whole batch. Holds live
    // on the same partition as their wallet, so only this batch can change them.
    // Wallets are read for every command (a malformed one is answered with its balances); holds and platform
    // accounts only for well-formed ones, which alone read and move money.
    const wellFormed = commands.filter(isWellFormed);
    const ids = [...new Set(commands.map((c) => c.envelope.payload.commandId))];
    const walletKeys = [...new Set(commands.map((c) => accountKey(c.envelope.payload)))];
    const holdRead = { orderIds: [...new Set(wellFormed.flatMap(holdIdsOf))], openHoldsOf: [...new Set(wellFormed.filter(readsOpenHolds).map((c) => accountKey(c.envelope.payload)))] };
    const readsHolds = holdRead.orderIds.length > 0 || holdRead.openHoldsOf.length > 0;
    const results = (await client.query(beginAndReadSql(ids, walletKeys, readsHolds ? holdRead : null))) as { command: string; rows: [BatchRead] }[];
    // The message's one SELECT; the rest are BEGIN and SETs.
    const read = results.find((r) => r.command === 'SELECT');
    if (read === undefined) throw new Error('the batch read returned no SELECT result');
    const { inbox, accounts: walletAccounts, holds } = read.rows[0];
    const stored = new Map<string, StoredCommand>(inbox.map((row) => [row.command_id, row]));
    const platformCodes = [...new Set(wellFormed.flatMap(platformAccountsOf))];
    const accounts: BookAccount[] = [
      ...walletAccounts.map((r) => ({ id: r.id, code: r.code, walletKey: r.wallet_key, kind: r.kind, currency: r.currency, balance: fromDb(r.balance), shared: false })),
      ...(await this.loadPlatformAccounts(runner, platformCodes)),
    ];
    const book = new Book(accounts);
    if (holds !== null) {
      book.loadHolds(
        holds.map((r) => ({ orderId: r.order_id, walletKey: r.wallet_key, pool: r.pool, amount: fromDb(r.amount), remaining: fromDb(r.remaining), isNew: false })),
        holdRead.openHoldsOf,
      );
    }

    // Decide every command in offset order against the in-memory book; the
    // result envelopes are built after the writes, once transaction ids exist.
    type Decision = { command: Command; outcome: Outcome; balances: WalletBalances | undefined; span: Span; envelope?: EventEnvelope<string, CommandResultV1>; json?: string };
    const decisions: Decision[] = [];
    const emitted = new Set<Decision | StoredCommand>();
    const decidedInBatch = new Map<string, Decision>();
    const conflicts: Decision[] = [];
    const unverified: { answer: Decision; problem: string }[] = [];
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
      const followUp = forged.get(command);
      if (followUp !== undefined) {
        // Not a leg the ledger wrote: answered, parked for an operator, moves nothing, and not recorded under its
        // id (a forged copy sent first must not take the id of the real leg that follows).
        const answer: Decision = { command, outcome: rejected(LEDGER_REJECTIONS.INVALID_COMMAND), balances: book.balances(payload), span: spans[index] };
        unverified.push({ answer, problem: followUp });
        emitted.add(answer);
        return;
      }
      const outcome =
        command.problem !== undefined
          ? rejected(LEDGER_REJECTIONS.INVALID_COMMAND)
          : book.decide(
              () => this.applyOne(book, command),
              () => rejected(LEDGER_REJECTIONS.BALANCE_LIMIT),
            );
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
    for (const { answer: d } of unverified) d.envelope = resultEnvelope(d.command, d.outcome, d.balances, d.span, derivedEventId(d.command.envelope.eventId, 'unverified'));
    if (unverified.length > 0) this.logger.warn(`parking ${unverified.length} second leg(s) the ledger did not write, ${unverified[0].problem} first`);
    await parkRecords(runner, S, [
      ...unreadable,
      ...unverified.map(({ answer, problem }) => ({ ...answer.command.at, problem: `not a second leg the ledger wrote: ${problem}`, raw: JSON.stringify(answer.command.envelope) })),
    ]);
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
    // A result decided here (it carries its text) names its inbox row, written by this batch, which holds its
    // envelope; re-emitted stored results, conflicts and posted facts hold their own.
    const outbox: BatchOutboxMessage[] = [...emitted].map((e) =>
      'command' in e
        ? {
            topic: TOPICS.ledgerResults.name,
            envelope: e.envelope as EventEnvelope,
            ...(e.json !== undefined ? { json: e.json, inboxCommandId: e.command.envelope.payload.commandId } : {}),
          }
        : { topic: TOPICS.ledgerResults.name, envelope: e.result_envelope },
    );
    outbox.push(...posted);
    // Sorted once for both: wallets are written by the batch statement, platform accounts get their deltas after it.
    const touched = book.touchedAccounts();
    const write = batchWriteParameters(book, touched, decisions as (Decision & { json: string })[], outbox, await this.outboxIds.take(runner, outbox.length));
    return { duplicates, conflicts: conflicts.length, parked: unverified.length, outbox: write.staged, write: write.values, commit: platformDeltasAndCommit(touched) };
  }

  /**
   * Platform accounts, unlocked, with a zero balance that accumulates this
   * batch's delta, and their balance as read now (`base`, for the balance
   * limit). Other partitions' batches may move them before this one commits:
   * should two together take one past NUMERIC(22,8), the later commit fails
   * on the column, and its redelivery reads the new balance and refuses the
   * command. Their id, kind and currency never change (kept for openAccounts).
   */
  private async loadPlatformAccounts(runner: QueryRunner, codes: readonly string[]): Promise<BookAccount[]> {
    if (codes.length === 0) return [];
    const rows: { id: string; code: string; kind: AccountKind; currency: string; balance: string }[] = await runner.query(
      `SELECT id, code, kind, currency, balance::text AS balance FROM ${S}.accounts WHERE code = ANY($1::text[])`,
      [codes],
    );
    return rows.map((r) => {
      const account = { id: String(r.id), code: r.code, kind: r.kind, currency: r.currency };
      this.platformAccounts.set(r.code, account);
      return { ...account, walletKey: null, balance: new Decimal(0), shared: true, base: fromDb(r.balance) };
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
      case 'conversion.refund':
        return refundConversion(book, command.envelope.payload);
    }
  }
}

/** Transaction and outbox ids reserved per sequence query: several batches' worth under load (a batch of 1,500 commands has ~1,900 outbox rows). */
const idBlockSize = 10000;

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

/**
 * Whether a command's fields are well formed. The helpers below (holds named,
 * platform accounts, accounts to open) read a command's fields and take only
 * well-formed commands; a malformed one is answered INVALID_COMMAND and reads,
 * opens and moves nothing.
 */
function isWellFormed(command: Command): boolean {
  return command.problem === undefined;
}

/**
 * Holds a command names: the one it changes, or, for a command that creates a
 * hold, the id it would take (a hold id is used once, and the holds' key would
 * refuse a second row for it, failing the whole batch on every redelivery).
 */
function holdIdsOf(command: Command): string[] {
  switch (command.type) {
    case 'order.created':
      return [command.envelope.payload.orderId];
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

/**
 * Whether a command takes from its wallet's oldest open holds (a settlement,
 * a cancel that names no order), so the batch reads all of the wallet's open
 * holds and not only the ones commands name.
 */
function readsOpenHolds(command: Command): boolean {
  return command.type === 'settlement.requested' || (command.type === 'order.cancelled' && command.envelope.payload.orderId === undefined);
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
    case 'conversion.refund':
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

/**
 * The answer to a command parked because Postgres refused it on every
 * attempt (CommandBatchApplier.park): REJECTED with LEDGER_ERROR, without
 * balances (the batch that would have read them failed). Its event id is
 * derived from the command's, so a redelivery of the message (a crash before
 * its offset was committed) answers it again under the same id. Its span, in
 * the command's trace, carries the refusal.
 */
function refusedAnswer(envelope: EventEnvelope, refusal: Error): OutboxMessage {
  const command = { type: envelope.type, envelope } as Command;
  const span = startEnvelopeSpan(`ledger refuse ${command.type}`, command.envelope, { 'ledger.command_id': command.envelope.payload.commandId });
  const answer = resultEnvelope(command, rejected(LEDGER_REJECTIONS.LEDGER_ERROR), undefined, span, derivedEventId(envelope.eventId, 'refused'));
  endSpans([span], refusal);
  return { topic: TOPICS.ledgerResults.name, envelope: answer };
}

/** A stable UUID derived from another event id, for events that must be the same on every redelivery. */
function derivedEventId(sourceEventId: string, purpose: string): string {
  const hex = createHash('sha256').update(`${sourceEventId}:${purpose}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The inbox rows named by $1 as follow-up verification reads them
 * (AppliedCommand): the command's type, status and payload, and the type of
 * the transaction it made (its result's transactionRef; null when none).
 */
const appliedCommandsSql = `SELECT command_id, json_build_object('commandType', command_type, 'status', status, 'payload', command, 'transactionType',
    (SELECT t.type FROM ${S}.transactions t WHERE t.id =
      CASE WHEN result_envelope->'payload'->>'transactionRef' ~ '^[0-9]{1,18}$' THEN (result_envelope->'payload'->>'transactionRef')::bigint END)) AS applied
  FROM ${S}.inbox WHERE command_id = ANY($1::text[])`;

/** Why an envelope is not a ledger command this version understands, or null: such a message is parked, unanswered. */
function commandProblem(envelope: EventEnvelope): string | null {
  if (!(LEDGER_COMMAND_TYPES as readonly string[]).includes(envelope.type)) return `unknown command type ${envelope.type}`;
  if (envelope.version !== 1) return `unsupported version ${envelope.version} of ${envelope.type}`;
  const problem = identityProblem(envelope.payload as Record<string, unknown>);
  return problem === null ? null : `${envelope.type}: ${problem}`;
}

/** What a batch reads at its start; numbers and ids come as text (json_agg would give numbers). */
interface BatchRead {
  inbox: StoredCommand[];
  accounts: { id: string; code: string; wallet_key: string | null; kind: AccountKind; currency: string; balance: string }[];
  holds: { order_id: string; wallet_key: string; pool: HoldPool; amount: string; remaining: string }[] | null;
}

/** The pg client under a typeorm query runner: its `query` takes several statements in one message when given no parameters. */
interface SimpleQueryClient {
  query(sql: string): Promise<unknown>;
  /** The extended protocol: a named statement (parsed once per connection by pg) with its parameters as text. */
  query(config: { name: string; text: string; values: string[] }): Promise<unknown>;
}

/**
 * How the batch transaction's statements are planned. Each reaches a few rows
 * of large tables by key (a batch's wallets, holds and orders), but Postgres
 * analyzes a table only after autovacuum's next pass (a minute or more), and
 * without statistics it guessed ten times the rows: in bench:ledger every
 * batch read all holds and all accounts (seq scans with hashed = ANY, hash
 * joins) instead of probing the indexes; the holds read took 27 ms instead of
 * 14 for 1,500 commands, and it grows with the table. Index scans are the
 * right plan at any batch size seen here, so the batch asks for them: no
 * sequential scans or merge joins where an index serves, and random access
 * priced as what it is with the working set in memory. Hash joins stay: the
 * write joins its own CTE rows (results to outbox rows) by hashing. The
 * prepared statements' plans are generic and made under these settings (see
 * preparedSql).
 */
const batchPlannerSettings =
  'SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off; SET LOCAL enable_mergejoin = off; SET LOCAL random_page_cost = 1.1';

/**
 * The read alone also runs without plain index scans. It wants its rows in id
 * order (locked in that order), and without statistics the planner priced a
 * batch's wallets at 0.5% of the table each, so past some tens of wallets
 * (50-80 with the system benchmark's 20,000 accounts) it walked the whole
 * accounts primary key in order, filtering every account (and its chain of
 * updated versions) by wallet key, to save a sort. auto_explain caught 276
 * such reads over 4 ms in one system benchmark run (p50 12.7 ms); a bitmap
 * scan of the wallet-key index and a sort of the batch's rows take ~1 ms.
 * Bitmap scans cannot return rows in index order, so the sort is always
 * explicit.
 * Index scans come back right after the read, in the same message: the
 * write probes accounts and holds by primary key from its own rows.
 */
const readPlannerSettings = { before: 'SET LOCAL enable_indexscan = off', after: 'SET LOCAL enable_indexscan = on' };

/**
 * The batch transaction's statements, prepared once per connection (see
 * CommandBatchApplier.prepare) and run with EXECUTE, their arrays inlined as
 * literals (sqlArray): the simple query protocol that carries
 * several statements in one message takes no parameters, but EXECUTE does.
 * Parsing, analysing and planning these statements cost Postgres more than
 * running them for small batches: pg_stat_statements at 500 requests/s
 * (batches of ~2.3 commands) measured 0.29 ms of planning per write and 0.19
 * per read against 0.44 and 0.15 of execution, and a read alone took 0.46-0.55
 * ms of backend CPU inline against 0.24-0.28 prepared (1,000 reads of 1-3
 * commands each way, one client).
 *
 * The plans are generic (`plan_cache_mode`, batchPlannerSettings; it also
 * covers the few parameterised statements typeorm sends inside the batch, all
 * lookups by key), made at a
 * statement's first EXECUTE on a connection under the planner settings the
 * batch sets before it, and made again under the same settings when an
 * ANALYZE or DDL invalidates them. A generic plan does not know the arrays'
 * lengths; each plan here reaches rows by key whatever the length (the read's
 * bitmap scans, index probes in the write), and the outbox's envelopes join
 * the inbox rows by hashing (a nested loop over the two would be quadratic in
 * a 1,500-command batch). Parameter types are declared once, in `params`.
 */
const preparedSql = {
  read: { name: 'ledger_batch_read', params: ['text[]', 'text[]'], sql: batchReadSql(false) },
  readWithHolds: { name: 'ledger_batch_read_holds', params: ['text[]', 'text[]', 'text[]', 'text[]'], sql: batchReadSql(true) },
  lockPlatform: {
    name: 'ledger_lock_platform',
    params: ['bigint[]'],
    // NO KEY UPDATE, not UPDATE: it is what the balance UPDATE takes anyway, and it does not wait on KEY SHARE locks.
    sql: `SELECT id FROM ${S}.accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`,
  },
  addPlatformDeltas: {
    name: 'ledger_add_platform_deltas',
    params: ['bigint[]', 'numeric[]'],
    sql: `UPDATE ${S}.accounts a SET balance = a.balance + v.delta FROM unnest($1, $2) AS v(id, delta) WHERE a.id = v.id`,
  },
} as const;

/** The PREPARE statements of preparedSql not among `existing`, as one message ('' when none is missing). */
function prepareBatchStatementsSql(existing: ReadonlySet<string> = new Set()): string {
  return Object.values(preparedSql)
    .filter((p) => !existing.has(p.name))
    .map((p) => `PREPARE ${p.name}(${p.params.join(', ')}) AS ${p.sql}`)
    .join(';\n');
}

/**
 * The batch's write (batchWriteSql), bound by the extended protocol: pg
 * parses it once per connection under `name`, and each batch sends only its
 * parameters, as text (pgArrayText, jsonArrayText). Inlined in the query
 * text (EXECUTE with literals, like the other statements), a 1,500-command
 * batch's ~3 MB of values were lexed, copied and measured by Postgres as
 * query text: core_yylex, scanner_init, the query string's copies and
 * pgstat_report_activity's strlen were ~12% of Postgres's CPU in a perf
 * profile of bench:ledger. The price is one more round trip per batch: the
 * platform deltas and COMMIT follow in a message of their own. Types are
 * spelled as casts in the text (the protocol's Parse here declares none).
 */
const batchWrite = (() => {
  const params = [
    ...['bigint[]', 'text[]', 'text[]'], // transactions
    ...['bigint[]', 'bigint[]', 'numeric[]'], // postings
    ...['bigint[]', 'numeric[]'], // wallet balances
    ...['text[]', 'text[]', 'text[]', 'numeric[]', 'numeric[]', 'bigint[]'], // new holds
    ...['text[]', 'numeric[]'], // changed holds
    ...['text[]', 'text[]', 'text[]', 'json[]', 'text[]', 'json[]'], // inbox
    ...['bigint[]', 'uuid[]', 'text[]', 'text[]', 'json[]', 'text[]'], // outbox, and the result each row copies
  ] as const;
  const text = batchWriteSql().replace(/\$(\d+)\b/g, (parameter, n: string) => {
    const type = params[Number(n) - 1];
    if (type === undefined) throw new Error(`batchWriteSql names ${parameter}, which has no type`);
    return type === 'json[]' ? jsonArrayParameterSql(Number(n)) : `${parameter}::${type}`;
  });
  return { name: 'ledger_batch_write_bound', params, text };
})();

/** batchWrite with its parameters, as pg's query takes a named statement. */
function batchWriteQuery(values: string[]): { name: string; text: string; values: string[] } {
  return { name: batchWrite.name, text: batchWrite.text, values };
}

/** The text of an empty parameter of `type` (an array type), for the warm-up. */
function emptyParameter(type: string): string {
  return type === 'json[]' ? jsonArrayText([]) : pgArrayText([]);
}

/**
 * The warm-up's first message: begins a transaction, sets the batch's
 * planner settings and makes the generic plans of the reads (on empty
 * arrays), as a batch would. The bound write follows (on empty parameters),
 * then warmUpEndSql; see CommandBatchApplier.warmUp.
 */
function warmUpReadSql(): string {
  return ['BEGIN', batchPlannerSettings, readPlannerSettings.before, onEmptyArrays(preparedSql.read), onEmptyArrays(preparedSql.readWithHolds), readPlannerSettings.after].join(';\n');
}

/** The warm-up's last message: the plans of the platform statements, and the ROLLBACK. */
function warmUpEndSql(): string {
  return [onEmptyArrays(preparedSql.lockPlatform), onEmptyArrays(preparedSql.addPlatformDeltas), 'ROLLBACK'].join(';\n');
}

/** EXECUTE of a statement of preparedSql with an empty array for each parameter (they are all arrays). */
function onEmptyArrays(statement: { name: string; params: readonly string[] }): string {
  return execute(statement, statement.params.map((type) => sqlArray([], type.slice(0, -2) as SqlArrayType)));
}

/** EXECUTE of a prepared statement with inlined arguments, each an SQL expression. */
function execute(statement: { name: string; params: readonly string[] }, args: readonly string[]): string {
  if (args.length !== statement.params.length) throw new Error(`${statement.name} takes ${statement.params.length} arguments, given ${args.length}`);
  return `EXECUTE ${statement.name}(${args.join(', ')})`;
}

/**
 * The read of preparedSql: the inbox rows of the batch's command ids ($1);
 * its wallet accounts ($2), locked in id order (numeric, by the table's
 * column: a bare `ORDER BY id` named the subquery's text column); and, with
 * `withHolds`, the holds named in $3 and every open hold of the wallets in $4
 * (those whose commands take from their oldest holds: readsOpenHolds), locked
 * (the variant without holds returns null and locks none). Reading every
 * wallet's open holds instead took 15 us per command alone, in a probe on
 * bench:ledger's end state (4,242 holds for 1,550 commands, 634 kB of JSON for
 * the ledger to parse), against 9 us for the accounts; bench:ledger itself
 * moved within its noise (300k: 14,204 against 14,156 commands/s). Every batch locks
 * wallets first, in id order, then holds, then platform accounts at the end,
 * so no two batches wait on each other in a cycle. The subqueries run in the
 * order written.
 */
function batchReadSql(withHolds: boolean): string {
  const holds = withHolds
    ? `(SELECT coalesce(json_agg(h ORDER BY h.seq), '[]') FROM (
         SELECT seq, order_id, wallet_key, pool, amount::text AS amount, remaining::text AS remaining FROM ${S}.holds
         WHERE (wallet_key = ANY($4) AND remaining > 0) OR order_id = ANY($3)
         ORDER BY seq FOR NO KEY UPDATE) h)`
    : 'NULL::json';
  return `SELECT
      (SELECT coalesce(json_agg(json_build_object('command_id', command_id, 'request_hash', request_hash, 'result_envelope', result_envelope)), '[]')
         FROM ${S}.inbox WHERE command_id = ANY($1)) AS inbox,
      (SELECT coalesce(json_agg(a ORDER BY a.id::bigint), '[]') FROM (
         SELECT id::text AS id, code, wallet_key, kind, currency, balance::text AS balance FROM ${S}.accounts
         WHERE wallet_key = ANY($2) ORDER BY accounts.id FOR NO KEY UPDATE) a) AS accounts,
      ${holds} AS holds`;
}

/**
 * The batch's first message: BEGIN; the planner settings (batchPlannerSettings,
 * readPlannerSettings.before); the read (batchReadSql, holds only when
 * `holds` is given: null when no command names a hold or reads open ones);
 * readPlannerSettings.after.
 */
function beginAndReadSql(
  commandIds: readonly string[],
  walletKeys: readonly string[],
  holds: { orderIds: readonly string[]; openHoldsOf: readonly string[] } | null,
): string {
  const keys = sqlArray(walletKeys, 'text');
  const read =
    holds === null
      ? execute(preparedSql.read, [sqlArray(commandIds, 'text'), keys])
      : execute(preparedSql.readWithHolds, [sqlArray(commandIds, 'text'), keys, sqlArray(holds.orderIds, 'text'), sqlArray(holds.openHoldsOf, 'text')]);
  return `BEGIN; ${batchPlannerSettings}; ${readPlannerSettings.before}; ${read}; ${readPlannerSettings.after}`;
}

/**
 * The end of the batch's last message: adds its deltas to the shared platform
 * accounts, locking them in id order as the transaction's last statements
 * (every batch takes wallet locks first and these last, so no two batches can
 * wait on each other), then commits.
 */
function platformDeltasAndCommit(touched: readonly BookAccount[]): string {
  const shared = touched.filter((a) => a.shared && !a.balance.isZero());
  if (shared.length === 0) return 'COMMIT';
  const ids = sqlArray(shared.map((a) => a.id), 'bigint');
  return `${execute(preparedSql.lockPlatform, [ids])};
    ${execute(preparedSql.addPlatformDeltas, [ids, sqlArray(shared.map((a) => formatAmount(a.balance)), 'numeric')])};
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
 * The write of batchWrite: everything the batch decided in one statement,
 * transactions, postings, new wallet balances, new and changed holds, inbox
 * rows and outbox rows (ids reserved beforehand, so it returns nothing; a
 * result's outbox envelope is copied from its inbox row: $27 holds null for
 * those, and $28 the command whose row it is). Data-modifying CTEs touch
 * distinct rows here, and constraints are checked at the statement's end,
 * when every CTE has run.
 */
function batchWriteSql(): string {
  return `WITH
       t AS (INSERT INTO ${S}.transactions (id, command_id, type) SELECT * FROM unnest($1, $2, $3)),
       p AS (INSERT INTO ${S}.postings (transaction_id, account_id, amount) SELECT * FROM unnest($4, $5, $6)),
       a AS (UPDATE ${S}.accounts a SET balance = v.balance FROM unnest($7, $8) AS v(id, balance) WHERE a.id = v.id),
       hn AS (INSERT INTO ${S}.holds (order_id, wallet_key, pool, amount, remaining, transaction_id)
              SELECT * FROM unnest($9, $10, $11, $12, $13, $14)),
       hc AS (UPDATE ${S}.holds h SET remaining = v.remaining FROM unnest($15, $16) AS v(order_id, remaining) WHERE h.order_id = v.order_id),
       -- applied_at is the clock at this statement, the batch's last before commit (now() would be the
       -- transaction's start): the system benchmark measures HTTP acceptance to ledger commit with it.
       i AS (INSERT INTO ${S}.inbox (command_id, command_type, request_hash, command, status, result_envelope, applied_at)
             SELECT *, clock_timestamp() FROM unnest($17, $18, $19, $20, $21, $22)
             RETURNING command_id, result_envelope)
     ${outboxInsertSql(S, {
       ids: '$23',
       eventIds: '$24',
       topics: '$25',
       keys: '$26',
       // A result's envelope is taken from its inbox row, written above: the text travels once, not twice.
       envelopes: `(SELECT array_agg(coalesce(v.e, i.result_envelope) ORDER BY v.n)
                     FROM unnest($27, $28) WITH ORDINALITY AS v(e, r, n) LEFT JOIN i ON i.command_id = v.r)`,
     })}`;
}

/** An outbox message of the batch; `inboxCommandId` names the inbox row this batch writes that holds its envelope. */
type BatchOutboxMessage = OutboxMessage & { readonly inboxCommandId?: string };

/** The parameters of batchWrite for what the batch decided (in batchWrite.params order), and the outbox rows as staged for the relay. */
function batchWriteParameters(
  book: Book,
  touchedAccounts: readonly BookAccount[],
  decisions: readonly { command: Command; outcome: Outcome; json: string }[],
  outbox: readonly BatchOutboxMessage[],
  outboxIds: readonly string[],
): { values: string[]; staged: StagedOutboxRow[] } {
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
  const touched = touchedAccounts.filter((a) => !a.shared);
  const holds = book.holdsToWrite();
  const created = holds.filter((h) => h.isNew);
  const changed = holds.filter((h) => !h.isNew);
  const { columns, staged } = prepareOutbox(outbox, outboxIds);
  const resultOf = outbox.map((m) => m.inboxCommandId ?? null);
  const values = [
    pgArrayText(txs.map((t) => transactionId(t))),
    pgArrayText(txs.map((t) => t.commandId)),
    pgArrayText(txs.map((t) => t.type)),
    pgArrayText(postingTx),
    pgArrayText(postingAccount),
    pgArrayText(postingAmount),
    pgArrayText(touched.map((a) => a.id)),
    pgArrayText(touched.map((a) => formatAmount(a.balance))),
    pgArrayText(created.map((h) => h.orderId)),
    pgArrayText(created.map((h) => h.walletKey)),
    pgArrayText(created.map((h) => h.pool)),
    pgArrayText(created.map((h) => formatAmount(h.amount))),
    pgArrayText(created.map((h) => formatAmount(h.remaining))),
    pgArrayText(created.map((h) => transactionId(requireTx(h)))),
    pgArrayText(changed.map((h) => h.orderId)),
    pgArrayText(changed.map((h) => formatAmount(h.remaining))),
    pgArrayText(decisions.map((d) => d.command.envelope.payload.commandId)),
    pgArrayText(decisions.map((d) => d.command.type)),
    pgArrayText(decisions.map((d) => d.command.envelope.payload.requestHash)),
    jsonArrayText(decisions.map((d) => JSON.stringify(d.command.envelope.payload))),
    pgArrayText(decisions.map((d) => d.outcome.status)),
    jsonArrayText(decisions.map((d) => d.json)),
    pgArrayText(columns.ids),
    pgArrayText(columns.eventIds),
    pgArrayText(columns.topics),
    pgArrayText(columns.keys),
    jsonArrayText(columns.envelopes.map((e, k) => (resultOf[k] === null ? e : null))),
    pgArrayText(resultOf),
  ];
  if (values.length !== batchWrite.params.length) throw new Error(`${batchWrite.name} takes ${batchWrite.params.length} parameters, given ${values.length}`);
  return { values, staged };
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
