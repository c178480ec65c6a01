import { randomUUID } from 'node:crypto';
import { Body, Controller, HttpCode, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../../auth/auth.service';
import { RateLimiter } from '../../http/rate-limiter.service';
import { GATEWAY_CONFIG } from '../../database/database.providers';
import type { GatewayConfig } from '../../gateway.config';
import { LedgerClient, requestHash } from '../../ledger-client/ledger.client';
import { EXT_ORDERS_BASE, merchantOf } from '../ext-orders.auth';
import { EXT_ORDER_CODES, ExtOrderError } from '../ext-orders.codes';
import { sendError, sendOutcome } from '../ext-orders.respond';
import { knownCurrency, optionalIdentifier, parseJsonObject, rejectUnknownFields, requiredAmount, requiredIdentifier, zeroBonus } from '../ext-orders.validation';
import { Decimal } from '@settlement/money';

export const settleFields = ['extRequestId', 'username', 'currency', 'totalOrderAmount', 'totalOrderBonusAmount', 'pnlAmount', 'pnlBonusAmount', 'extRefId'] as const;

/** POST /ext-orders/settlement: settle profit or loss of several orders; answers `data.transactionRef`. */
@Controller(EXT_ORDERS_BASE)
export class SettleOrdersController {
  private readonly logger = new Logger(SettleOrdersController.name);

  constructor(
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
    private readonly ledger: LedgerClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post('settlement')
  @HttpCode(200)
  async settle(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const merchantId = await merchantOf(request, this.auth, this.limiter);
      const body = parseJsonObject(raw);
      rejectUnknownFields(body, settleFields);
      const extRequestId = requiredIdentifier(body, 'extRequestId');
      const username = requiredIdentifier(body, 'username');
      const currency = knownCurrency(body, this.config.currencies);
      const totalOrderAmount = requiredAmount(body, 'totalOrderAmount', 'non-negative');
      const pnlAmount = requiredAmount(body, 'pnlAmount', 'any');
      zeroBonus(body, 'totalOrderBonusAmount');
      zeroBonus(body, 'pnlBonusAmount');
      const extRefId = optionalIdentifier(body, 'extRefId');
      // Checked here too so an impossible payout never reaches Kafka; the ledger checks it again.
      if (new Decimal(totalOrderAmount).plus(pnlAmount).isNegative()) throw new ExtOrderError(EXT_ORDER_CODES.NEGATIVE_PAYOUT);
      const outcome = await this.ledger.execute(
        'settlement.requested',
        {
          commandId: `ext-orders:${merchantId}:${extRequestId}`,
          requestHash: requestHash({ op: 'settlement', username, currency, totalOrderAmount, pnlAmount, extRefId }),
          merchantId,
          username,
          currency,
          totalOrderAmount,
          pnlAmount,
          ...(extRefId !== undefined ? { extRefId } : {}),
        },
        randomUUID(),
      );
      await sendOutcome(reply, outcome, (result) => ({ transactionRef: result.transactionRef }));
    } catch (error) {
      await sendError(reply, error, this.logger);
    }
  }
}
