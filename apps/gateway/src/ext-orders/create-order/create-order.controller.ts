import { randomUUID } from 'node:crypto';
import { Body, Controller, Inject, Logger, Put, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../../auth/auth.service';
import { GATEWAY_CONFIG } from '../../database/database.providers';
import type { GatewayConfig } from '../../gateway.config';
import { LedgerClient, requestHash } from '../../ledger-client/ledger.client';
import { EXT_ORDER_CODES, ExtOrderError, REJECTION_CODES, envelope } from '../ext-orders.codes';
import { merchantOf } from '../ext-orders.auth';
import {
  knownCurrency,
  optionalIdentifier,
  parseJsonObject,
  rejectUnknownFields,
  requiredAmount,
  requiredIdentifier,
  zeroBonus,
} from '../ext-orders.validation';

/** Base path of the binary-option dialect, as in seed 000. */
export const EXT_ORDERS_BASE = 'payment/wallet/v1/binaryOption/ext-orders';

const createFields = ['extRequestId', 'username', 'currency', 'amount', 'bonusAmount', 'extRefId'] as const;

/** PUT /ext-orders/create: hold a player's stake when an order opens. */
@Controller(EXT_ORDERS_BASE)
export class CreateOrderController {
  private readonly logger = new Logger(CreateOrderController.name);

  constructor(
    private readonly auth: AuthService,
    private readonly ledger: LedgerClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Put('create')
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const merchantId = await merchantOf(request, this.auth);
      const body = parseJsonObject(raw);
      rejectUnknownFields(body, createFields);
      const extRequestId = requiredIdentifier(body, 'extRequestId');
      const username = requiredIdentifier(body, 'username');
      const currency = knownCurrency(body, this.config.currencies);
      const amount = requiredAmount(body, 'amount', 'positive');
      zeroBonus(body, 'bonusAmount');
      const extRefId = optionalIdentifier(body, 'extRefId');

      const commandId = `ext-orders:${merchantId}:${extRequestId}`;
      const hash = requestHash({ op: 'create', username, currency, amount, extRefId });
      const outcome = await this.ledger.execute(
        'order.created',
        { commandId, requestHash: hash, merchantId, username, currency, orderId: commandId, amount, ...(extRefId !== undefined ? { extRefId } : {}) },
        randomUUID(),
      );
      if (outcome.kind === 'unknown') {
        await reply.status(EXT_ORDER_CODES.RESULT_UNKNOWN.status).send(envelope(EXT_ORDER_CODES.RESULT_UNKNOWN, null, outcome.why));
        return;
      }
      const result = outcome.result;
      const answer = result.status === 'ACCEPTED' ? EXT_ORDER_CODES.SUCCESS : REJECTION_CODES[result.reason ?? 'INVALID_COMMAND'];
      await reply.status(answer.status).send(envelope(answer));
    } catch (error) {
      await sendError(reply, error, this.logger);
    }
  }
}

/** Maps anything thrown in an ext-orders handler to the seed's envelope; unexpected errors are the seed's DB Exception. */
export async function sendError(reply: FastifyReply, error: unknown, logger: Logger): Promise<void> {
  if (error instanceof ExtOrderError) {
    await reply.status(error.answer.status).send(envelope(error.answer, null, error.detail));
    return;
  }
  logger.error(`unexpected error: ${(error as Error).stack ?? String(error)}`);
  await reply.status(EXT_ORDER_CODES.DB_EXCEPTION.status).send(envelope(EXT_ORDER_CODES.DB_EXCEPTION));
}
