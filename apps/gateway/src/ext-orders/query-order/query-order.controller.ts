import { Controller, Get, Logger, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Decimal } from '@settlement/money';
import { AuthService } from '../../auth/auth.service';
import { RateLimiter } from '../../http/rate-limiter.service';
import { LedgerQueryClient, type StoredCommand } from '../../ledger-client/ledger-query.client';
import { EXT_ORDERS_BASE, merchantOf } from '../ext-orders.auth';
import { EXT_ORDER_CODES, ExtOrderError, envelope } from '../ext-orders.codes';
import { sendError } from '../ext-orders.respond';
import { requiredIdentifier } from '../ext-orders.validation';

/**
 * GET /ext-orders/{extRequestId}: the seed's three cases. An order (create or
 * cancel) answers the order fields, a settlement the settle fields, anything
 * else `data: null`. Additive fields: `type`, `status`, `reason`, `transactionRef`, `createdAt`.
 * Only the calling merchant's requests are visible: the lookup key contains its id.
 */
@Controller(EXT_ORDERS_BASE)
export class QueryOrderController {
  private readonly logger = new Logger(QueryOrderController.name);

  constructor(
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
    private readonly ledger: LedgerQueryClient,
  ) {}

  @Get(':extRequestId')
  async query(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('extRequestId') extRequestId: string): Promise<void> {
    try {
      // These paths are operations of their own: GET on them is the wrong method, not a query for an id so named.
      const operation = OPERATION_METHODS[extRequestId];
      if (operation !== undefined) {
        void reply.header('allow', operation);
        throw new ExtOrderError(EXT_ORDER_CODES.METHOD_NOT_ALLOWED, `GET; allowed: ${operation}`);
      }
      const merchantId = await merchantOf(request, this.auth, this.limiter);
      // The same rules as the id was written with: a longer or control-character id can never have been stored.
      requiredIdentifier({ extRequestId }, 'extRequestId');
      const stored = await this.ledger.command(`ext-orders:${merchantId}:${extRequestId}`);
      await reply.status(200).send(envelope(EXT_ORDER_CODES.SUCCESS, stored === null ? null : orderCase(extRequestId, stored)));
    } catch (error) {
      await sendError(reply, error, this.logger);
    }
  }
}

/** The operations beside the query under the same base path, with their methods. */
const OPERATION_METHODS: Record<string, string> = { create: 'PUT', cancel: 'PUT', settlement: 'POST' };

/** Amounts are stored canonically (8 decimals); the seed echoes them as decimal strings, so trailing zeros are dropped. */
function plain(amount: unknown): string {
  return new Decimal(String(amount)).toFixed();
}

function orderCase(extRequestId: string, stored: StoredCommand): Record<string, unknown> | null {
  const c = stored.command;
  const common = { extRequestId, username: c['username'], currency: c['currency'] };
  const additive = {
    status: stored.result.status,
    ...(stored.result.reason !== undefined ? { reason: stored.result.reason } : {}),
    createdAt: stored.appliedAt,
  };
  const extRefId = c['extRefId'] ?? null;
  switch (stored.commandType) {
    case 'order.created':
    case 'order.cancelled':
      return { ...common, amount: plain(c['amount']), bonusAmount: '0', extRefId, type: stored.commandType === 'order.created' ? 'create' : 'cancel', ...additive };
    case 'settlement.requested':
      return {
        ...common,
        totalOrderAmount: plain(c['totalOrderAmount']),
        pnlAmount: plain(c['pnlAmount']),
        extRefId,
        type: 'settlement',
        ...(stored.result.transactionRef !== undefined ? { transactionRef: stored.result.transactionRef } : {}),
        ...additive,
      };
    default:
      return null;
  }
}
