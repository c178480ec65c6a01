import { Body, Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseAmount } from '@settlement/money';
import { LedgerQueryClient } from '../../ledger-client/ledger-query.client';
import { SEAMLESS_BASE, SeamlessError, balanceAnswer, parseSeamlessBody } from '../seamless.protocol';
import { sendSeamlessFailure } from '../seamless.respond';
import { WalletTokenService } from '../wallet-token.service';

/** POST /seamless/v1/getbalance: the user's available balance (the `amount` sent is informational). */
@Controller(SEAMLESS_BASE)
export class GetBalanceController {
  private readonly logger = new Logger(GetBalanceController.name);

  constructor(
    private readonly tokens: WalletTokenService,
    private readonly ledger: LedgerQueryClient,
  ) {}

  @Post('getbalance')
  @HttpCode(200)
  async getBalance(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const body = parseSeamlessBody(raw);
      const session = await this.tokens.session(body, request, { allowExpired: false });
      // Informational, but a garbage amount is refused rather than silently ignored.
      if (body['amount'] !== undefined) {
        const amount = parseAmount(body['amount'], 'non-negative');
        if (!amount.ok) throw new SeamlessError('INVALID_REQUEST', `amount: ${amount.problem}`);
      }
      const wallet = await this.ledger.wallet(session.merchantId, session.username, session.currency);
      if (wallet === null) throw new SeamlessError('WALLET_NOT_FOUND');
      await reply.status(200).send(balanceAnswer(wallet.available, session.currency));
    } catch (error) {
      await sendSeamlessFailure(reply, error, this.logger);
    }
  }
}
