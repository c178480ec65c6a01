import { Controller, Get, HttpException, Inject, Param, Query } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { accountKey } from '@settlement/contracts';
import { DATA_SOURCE } from '../database/database.providers';
import { Decimal, formatAmount, fromDb } from '@settlement/money';
import { postingFilterOf, type PostingFilter } from './posting-filter';

/**
 * Read side of the ledger for the gateway and operators: balances, posting
 * and operation history with cursor pagination, and the stored result of
 * any command.
 * Internal API: it binds to the service's own port, behind the gateway.
 */
@Controller()
export class LedgerQueriesController {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  /** Available and held balances of one wallet. */
  @Get('wallets/:merchantId/:username/:currency')
  async wallet(@Param('merchantId') merchantId: string, @Param('username') username: string, @Param('currency') currency: string): Promise<Record<string, string>> {
    const rows: { kind: string; balance: string }[] = await this.dataSource.query(
      `SELECT kind, balance FROM ledger.accounts WHERE wallet_key = $1 AND kind IN ('available', 'held')`,
      [accountKey({ merchantId, username, currency })],
    );
    if (rows.length === 0) throw new HttpException({ error: 'WALLET_NOT_FOUND' }, 404);
    const byKind = Object.fromEntries(rows.map((r) => [r.kind, r.balance]));
    return { merchantId, username, currency, available: byKind['available'] ?? '0.00000000', held: byKind['held'] ?? '0.00000000' };
  }

  /**
   * Postings of one wallet's available and held accounts, newest first, each
   * with the transaction and command that made it. Filters: `type` (one of
   * TRANSACTION_TYPES), `account` (available or held), `from` (inclusive)
   * and `to` (exclusive), ISO 8601 instants with a time zone. `limit` is 1 to
   * 500 (50 when absent). `cursor` is the previous page's `nextCursor`, null
   * on the last page. Bad input is 400 with a stable `error` (and the
   * `field`); a wallet the ledger has never seen is 404 WALLET_NOT_FOUND.
   */
  @Get('wallets/:merchantId/:username/:currency/postings')
  async postings(
    @Param('merchantId') merchantId: string,
    @Param('username') username: string,
    @Param('currency') currency: string,
    @Query() query: Record<string, unknown>,
  ): Promise<{ items: Record<string, string>[]; nextCursor: string | null }> {
    const filter = postingFilterOf(query);
    const listed = await this.walletAccounts(accountKey({ merchantId, username, currency }), filter.account);
    const rows = await this.postingsNewestFirst(listed, filter, filter.cursor, filter.limit + 1);
    const page = rows.slice(0, filter.limit);
    return { items: page, nextCursor: rows.length > filter.limit ? page[page.length - 1]['postingId'] : null };
  }

  /**
   * The wallet's operations, newest first: one item per transaction that
   * moved its money (a hold, a release, a settlement...), with the net change
   * of its available and held balances, and the balances the command left
   * (its stored result's; null for a transaction made by another wallet's
   * command, which no handler writes today). The same query as the postings (`type`, `from`,
   * `to`, `limit` operations per page, `cursor` the previous page's
   * `nextCursor`) but `account`: an operation's changes span both accounts,
   * so it is 400 INVALID_FILTER here.
   */
  @Get('wallets/:merchantId/:username/:currency/operations')
  async operations(
    @Param('merchantId') merchantId: string,
    @Param('username') username: string,
    @Param('currency') currency: string,
    @Query() query: Record<string, unknown>,
  ): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }> {
    const filter = postingFilterOf(query);
    if (filter.account !== null) throw new HttpException({ error: 'INVALID_FILTER', field: 'account' }, 400);
    const walletKey = accountKey({ merchantId, username, currency });
    const listed = await this.walletAccounts(walletKey, null);
    // A transaction's postings on one wallet are consecutive in posting order (one batch writes them together, and
    // a wallet's batches one after another), so an operation is a run of postings with one transactionRef. Runs
    // are read until the page's last one is known complete: another run follows it, or the postings end.
    const runs: Record<string, string>[][] = [];
    let cursor = filter.cursor;
    const chunk = 2 * (filter.limit + 1);
    for (;;) {
      const rows = await this.postingsNewestFirst(listed, filter, cursor, chunk);
      for (const row of rows) {
        const run = runs[runs.length - 1];
        if (run !== undefined && run[0]['transactionRef'] === row['transactionRef']) run.push(row);
        else runs.push([row]);
      }
      if (rows.length < chunk || runs.length > filter.limit) break;
      cursor = rows[rows.length - 1]['postingId'];
    }
    const page = runs.slice(0, filter.limit);
    const commands: { command_id: string; command_type: string; wallet: { merchantId: string; username: string; currency: string }; balances: Record<string, string> | null }[] =
      page.length === 0
        ? []
        : await this.dataSource.query(
            `SELECT command_id, command_type, json_build_object('merchantId', command->>'merchantId', 'username', command->>'username', 'currency', command->>'currency') AS wallet,
                    result_envelope->'payload'->'balances' AS balances
             FROM ledger.inbox WHERE command_id = ANY($1)`,
            [page.map((run) => run[0]['commandId'])],
          );
    const byId = new Map(commands.map((c) => [c.command_id, c]));
    const items = page.map((run) => {
      const change = (account: string) => formatAmount(run.filter((p) => p['account'] === account).reduce((sum, p) => sum.plus(fromDb(p['amount'])), new Decimal(0)));
      const command = byId.get(run[0]['commandId']);
      return {
        transactionRef: run[0]['transactionRef'],
        type: run[0]['type'],
        commandId: run[0]['commandId'],
        commandType: command?.command_type ?? null,
        available: change('available'),
        held: change('held'),
        // A command's result carries its own wallet's balances: this wallet's, unless the command was another's.
        balancesAfter: command !== undefined && accountKey(command.wallet) === walletKey ? command.balances : null,
        createdAt: run[0]['createdAt'],
      };
    });
    const last = page[page.length - 1];
    return { items, nextCursor: runs.length > filter.limit ? last[last.length - 1]['postingId'] : null };
  }

  /** The wallet's available and held accounts (only `account` when given); 404 WALLET_NOT_FOUND when it has none. */
  private async walletAccounts(walletKey: string, account: 'available' | 'held' | null): Promise<{ id: string; kind: string }[]> {
    const accounts: { id: string; kind: string }[] = await this.dataSource.query(
      `SELECT id::text AS id, kind FROM ledger.accounts WHERE wallet_key = $1 AND kind IN ('available', 'held')`,
      [walletKey],
    );
    if (accounts.length === 0) throw new HttpException({ error: 'WALLET_NOT_FOUND' }, 404);
    return accounts.filter((a) => account === null || a.kind === account);
  }

  /** Up to `count` postings of `accounts` older than `cursor` (a posting id), newest first, with their transaction and command, as `filter` says. */
  private postingsNewestFirst(accounts: readonly { id: string; kind: string }[], filter: PostingFilter, cursor: string | null, count: number): Promise<Record<string, string>[]> {
    // Per account, its postings newest first along (account_id, id), stopping at the page's size; then the
    // two merged. A join on the wallet's accounts read every posting they ever had before sorting.
    return this.dataSource.query(
      `SELECT x."postingId"::text AS "postingId", x."transactionRef"::text AS "transactionRef", x.type, x."commandId", a.kind AS account,
              x.amount::text AS amount, x."createdAt"
       FROM unnest($1::bigint[], $2::text[]) AS a(id, kind)
       CROSS JOIN LATERAL (
         SELECT p.id AS "postingId", t.id AS "transactionRef", t.type, t.command_id AS "commandId", p.amount, p.created_at AS "createdAt"
         FROM ledger.postings p JOIN ledger.transactions t ON t.id = p.transaction_id
         WHERE p.account_id = a.id
           AND ($3::bigint IS NULL OR p.id < $3::bigint)
           AND ($4::text IS NULL OR t.type = $4)
           AND ($5::timestamptz IS NULL OR p.created_at >= $5)
           AND ($6::timestamptz IS NULL OR p.created_at < $6)
         ORDER BY p.id DESC LIMIT $7) x
       ORDER BY x."postingId" DESC LIMIT $7`,
      [accounts.map((a) => a.id), accounts.map((a) => a.kind), cursor, filter.type, filter.from, filter.to, count],
    );
  }

  /** The stored result of a command by its id (the idempotency key), as first emitted. */
  @Get('commands/:commandId')
  async command(@Param('commandId') commandId: string): Promise<Record<string, unknown>> {
    const rows: { command_type: string; command: Record<string, unknown>; result_envelope: { payload: Record<string, unknown> }; applied_at: string }[] =
      await this.dataSource.query(`SELECT command_type, command, result_envelope, applied_at FROM ledger.inbox WHERE command_id = $1`, [commandId]);
    if (rows.length === 0) throw new HttpException({ error: 'COMMAND_NOT_FOUND' }, 404);
    return { commandType: rows[0].command_type, appliedAt: rows[0].applied_at, command: rows[0].command, result: rows[0].result_envelope.payload };
  }
}
