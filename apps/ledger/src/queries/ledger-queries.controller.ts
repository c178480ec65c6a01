import { Controller, Get, HttpException, Inject, Param, Query } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { accountKey } from '@settlement/contracts';
import { DATA_SOURCE } from '../database/database.providers';

/** Page size of history queries when the caller does not say, and the most it may ask for. */
const pageSizeDefault = 50;
const pageSizeMax = 500;

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
   * Postings of one wallet, newest first. Filters: `type` (hold, release,
   * settlement, funding), `account` (available or held), `from`/`to` (ISO
   * instants). `cursor` is the `nextCursor` of the previous page.
   */
  @Get('wallets/:merchantId/:username/:currency/postings')
  async postings(
    @Param('merchantId') merchantId: string,
    @Param('username') username: string,
    @Param('currency') currency: string,
    @Query() query: Record<string, string | undefined>,
  ): Promise<{ items: Record<string, string>[]; nextCursor: string | null }> {
    const limit = Math.min(Number(query['limit'] ?? pageSizeDefault) || pageSizeDefault, pageSizeMax);
    const cursor = query['cursor'];
    if (cursor !== undefined && !/^[0-9]+$/.test(cursor)) throw new HttpException({ error: 'INVALID_CURSOR' }, 400);
    for (const field of ['from', 'to']) {
      if (query[field] !== undefined && Number.isNaN(Date.parse(query[field] as string))) throw new HttpException({ error: 'INVALID_FILTER', field }, 400);
    }
    const rows: Record<string, string>[] = await this.dataSource.query(
      `SELECT p.id::text AS "postingId", t.id::text AS "transactionRef", t.type, t.command_id AS "commandId", a.kind AS account,
              p.amount::text AS amount, p.created_at AS "createdAt"
       FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id JOIN ledger.transactions t ON t.id = p.transaction_id
       WHERE a.wallet_key = $1
         AND ($2::bigint IS NULL OR p.id < $2::bigint)
         AND ($3::text IS NULL OR t.type = $3)
         AND ($4::text IS NULL OR a.kind = $4)
         AND ($5::timestamptz IS NULL OR p.created_at >= $5)
         AND ($6::timestamptz IS NULL OR p.created_at < $6)
       ORDER BY p.id DESC LIMIT $7`,
      [accountKey({ merchantId, username, currency }), cursor ?? null, query['type'] ?? null, query['account'] ?? null, query['from'] ?? null, query['to'] ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { items: page, nextCursor: rows.length > limit ? page[page.length - 1]['postingId'] : null };
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
