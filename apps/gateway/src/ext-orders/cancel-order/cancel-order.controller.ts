import { randomUUID } from 'node:crypto';
import { Body, Controller, Inject, Logger, Put, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../../auth/auth.service';
import { RateLimiter } from '../../http/rate-limiter.service';
import { GATEWAY_CONFIG } from '../../database/database.providers';
import type { GatewayConfig } from '../../gateway.config';
import { LedgerClient, requestHash } from '../../ledger-client/ledger.client';
import { EXT_ORDERS_BASE, merchantOf } from '../ext-orders.auth';
import { sendError, sendOutcome } from '../ext-orders.respond';
import { ORDER_FIELDS, parseOrderRequest } from '../ext-orders.validation';

/** The cancel body's fields: the same shape as create's (seed 000). */
export const cancelFields = ORDER_FIELDS;

/**
 * PUT /ext-orders/cancel: release a stake. The cancel has its own
 * extRequestId; when its extRefId names an earlier create's extRequestId,
 * it releases from that order's hold and never more than the order holds.
 */
@Controller(EXT_ORDERS_BASE)
export class CancelOrderController {
  private readonly logger = new Logger(CancelOrderController.name);

  constructor(
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
    private readonly ledger: LedgerClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Put('cancel')
  async cancel(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const merchantId = await merchantOf(request, this.auth, this.limiter);
      const { extRequestId, username, currency, amount, extRefId } = parseOrderRequest(raw, this.config.currencies);
      const outcome = await this.ledger.execute(
        'order.cancelled',
        {
          commandId: `ext-orders:${merchantId}:${extRequestId}`,
          requestHash: requestHash({ op: 'cancel', username, currency, amount, extRefId }),
          merchantId,
          username,
          currency,
          amount,
          ...(extRefId !== undefined ? { extRefId, orderId: `ext-orders:${merchantId}:${extRefId}` } : {}),
        },
        randomUUID(),
      );
      await sendOutcome(reply, outcome, () => null);
    } catch (error) {
      await sendError(reply, error, this.logger);
    }
  }
}
