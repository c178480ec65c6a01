import { randomUUID } from 'node:crypto';
import { Body, Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatAmount, parseAmount } from '@settlement/money';
import { LedgerClient, requestHash } from '../../ledger-client/ledger.client';
import { tradeOrderId } from '../open-trade/open-trade.controller';
import { SEAMLESS_BASE, SeamlessError, canonicalJson, parseSeamlessBody, stringField } from '../seamless.protocol';
import { sendSeamlessFailure, sendSeamlessOutcome } from '../seamless.respond';
import { WalletTokenService } from '../wallet-token.service';

/** Largest `data` object stored with a trade, in bytes of canonical JSON. */
const tradeDataBytesMax = 16 * 1024;

/**
 * POST /seamless/v1/closetrade: settles the trade with the win amount (0 a
 * loss, the stake at the money, stake plus payout in the money) and stores
 * the `data` object with it. Honoured after the token expired.
 */
@Controller(SEAMLESS_BASE)
export class CloseTradeController {
  private readonly logger = new Logger(CloseTradeController.name);

  constructor(
    private readonly tokens: WalletTokenService,
    private readonly ledger: LedgerClient,
  ) {}

  @Post('closetrade')
  @HttpCode(200)
  async closeTrade(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const body = parseSeamlessBody(raw);
      const session = await this.tokens.session(body, request, { allowExpired: true });
      const win = parseAmount(body['amount'], 'non-negative');
      if (!win.ok) throw new SeamlessError('INVALID_REQUEST', `amount: ${win.problem}`);
      const externalTradeId = stringField(body, 'externalTradeId');
      stringField(body, 'externalTradeType');
      // Absent means no extra data; null or any non-object is refused (the schema says object).
      const data = body['data'] === undefined ? {} : body['data'];
      if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new SeamlessError('INVALID_REQUEST', 'data must be an object');
      if (canonicalJson(data).length > tradeDataBytesMax) throw new SeamlessError('INVALID_REQUEST', `data larger than ${tradeDataBytesMax} bytes`);
      const winAmount = formatAmount(win.value);
      const outcome = await this.ledger.execute(
        'trade.closed',
        {
          commandId: `seamless:${session.merchantId}:close:${externalTradeId}`,
          requestHash: requestHash({ op: 'closetrade', username: session.username, currency: session.currency, amount: winAmount }),
          merchantId: session.merchantId,
          username: session.username,
          currency: session.currency,
          orderId: tradeOrderId(session.merchantId, externalTradeId),
          winAmount,
          tradeData: data as Record<string, unknown>,
        },
        randomUUID(),
      );
      await sendSeamlessOutcome(reply, outcome, session.currency);
    } catch (error) {
      await sendSeamlessFailure(reply, error, this.logger);
    }
  }
}
