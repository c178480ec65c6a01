import { Controller, Get, HttpException, Inject, Param, Query } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { accountKey } from '@settlement/contracts';
import { DATA_SOURCE } from '../database/database.providers';
import { postingFilterOf } from './posting-filter';

/**
 * Read side of the ledger for the gateway and operators: balances, posting
 * history with cursor pagination, and the stored result of any command.
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
    const walletKey = accountKey({ merchantId, username, currency });
    const accounts: { id: string; kind: string }[] = await this.dataSource.query(
      `SELECT id::text AS id, kind FROM ledger.accounts WHERE wallet_key = $1 AND kind IN ('available', 'held')`,
      [walletKey],
    );
    if (accounts.length === 0) throw new HttpException({ error: 'WALLET_NOT_FOUND' }, 404);
    const listed = accounts.filter((a) => filter.account === null || a.kind === filter.account);
    // Per account, its postings newest first along (account_id, id), stopping at the page's size; then the
    // two merged. A join on the wallet's accounts read every posting they ever had before sorting.
    const rows: Record<string, string>[] = await this.dataSource.query(
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
      [listed.map((a) => a.id), listed.map((a) => a.kind), filter.cursor, filter.type, filter.from, filter.to, filter.limit + 1],
    );
    const page = rows.slice(0, filter.limit);
    return { items: page, nextCursor: rows.length > filter.limit ? page[page.length - 1]['postingId'] : null };
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
