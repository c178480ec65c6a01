import { randomUUID } from 'node:crypto';
import { Body, Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatAmount, parseAmount } from '@settlement/money';
import { LedgerClient, requestHash } from '../../ledger-client/ledger.client';
import { SEAMLESS_BASE, SeamlessError, parseSeamlessBody, stringField } from '../seamless.protocol';
import { sendSeamlessFailure, sendSeamlessOutcome } from '../seamless.respond';
import { WalletTokenService } from '../wallet-token.service';

/** The hold id of a seamless trade: one per merchant and externalTradeId. */
export function tradeOrderId(merchantId: string, externalTradeId: string): string {
  return `seamless:${merchantId}:trade:${externalTradeId}`;
}

/** POST /seamless/v1/opentrade: holds `amount` against `externalTradeId`; answers the balance after. */
@Controller(SEAMLESS_BASE)
export class OpenTradeController {
  private readonly logger = new Logger(OpenTradeController.name);

  constructor(
    private readonly tokens: WalletTokenService,
    private readonly ledger: LedgerClient,
  ) {}

  @Post('opentrade')
  @HttpCode(200)
  async openTrade(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const body = parseSeamlessBody(raw);
      const session = await this.tokens.session(body, request, { allowExpired: false });
      const amount = parseAmount(body['amount'], 'positive');
      if (!amount.ok) throw new SeamlessError('INVALID_REQUEST', `amount: ${amount.problem}`);
      const externalTradeId = stringField(body, 'externalTradeId');
      const externalTradeType = stringField(body, 'externalTradeType');
      const stake = formatAmount(amount.value);
      const outcome = await this.ledger.execute(
        'order.created',
        {
          commandId: `seamless:${session.merchantId}:open:${externalTradeId}`,
          requestHash: requestHash({ op: 'opentrade', username: session.username, currency: session.currency, amount: stake }),
          merchantId: session.merchantId,
          username: session.username,
          currency: session.currency,
          orderId: tradeOrderId(session.merchantId, externalTradeId),
          amount: stake,
          extRefId: externalTradeType,
          // Only this trade's closetrade settles its stake: ext-orders settlements and cancels leave it alone.
          pool: 'trades',
        },
        randomUUID(),
      );
      await sendSeamlessOutcome(reply, outcome, session.currency);
    } catch (error) {
      await sendSeamlessFailure(reply, error, this.logger);
    }
  }
}
