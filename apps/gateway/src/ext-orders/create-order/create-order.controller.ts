import { randomUUID } from 'node:crypto';
import { Body, Controller, Inject, Logger, Put, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../../auth/auth.service';
import { RateLimiter } from '../../http/rate-limiter.service';
import { GATEWAY_CONFIG } from '../../database/database.providers';
import type { GatewayConfig } from '../../gateway.config';
import { LedgerClient, requestHash } from '../../ledger-client/ledger.client';
import { sendError, sendOutcome } from '../ext-orders.respond';
import { EXT_ORDERS_BASE, merchantOf } from '../ext-orders.auth';
import { ORDER_FIELDS, parseOrderRequest } from '../ext-orders.validation';

/** The create body's fields (seed 000). */
export const createFields = ORDER_FIELDS;

/** PUT /ext-orders/create: hold a player's stake when an order opens. */
@Controller(EXT_ORDERS_BASE)
export class CreateOrderController {
  private readonly logger = new Logger(CreateOrderController.name);

  constructor(
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
    private readonly ledger: LedgerClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Put('create')
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const merchantId = await merchantOf(request, this.auth, this.limiter);
      const { extRequestId, username, currency, amount, extRefId } = parseOrderRequest(raw, this.config.currencies);

      const commandId = `ext-orders:${merchantId}:${extRequestId}`;
      const hash = requestHash({ op: 'create', username, currency, amount, extRefId });
      const outcome = await this.ledger.execute(
        'order.created',
        { commandId, requestHash: hash, merchantId, username, currency, orderId: commandId, amount, ...(extRefId !== undefined ? { extRefId } : {}) },
        randomUUID(),
      );
      await sendOutcome(reply, outcome, () => null);
    } catch (error) {
      await sendError(reply, error, this.logger);
    }
  }
}

