import { Body, Controller, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../../auth/auth.service';
import { GATEWAY_CONFIG } from '../../database/database.providers';
import type { GatewayConfig } from '../../gateway.config';
import { SEAMLESS_BASE, SeamlessError, parseSeamlessBody, sendSeamlessError, stringField } from '../seamless.protocol';
import { sendSeamlessFailure } from '../seamless.respond';
import { WalletTokenService } from '../wallet-token.service';

/**
 * POST /seamless/v1/tokens: the merchant (OAuth bearer token) mints a wallet
 * access token for one of its users and a currency, before the trading
 * platform's launch sequence hands it over.
 */
@Controller(SEAMLESS_BASE)
export class MintTokenController {
  private readonly logger = new Logger(MintTokenController.name);

  constructor(
    private readonly auth: AuthService,
    private readonly tokens: WalletTokenService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post('tokens')
  async mint(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const header = request.headers.authorization;
      const merchantId = header?.startsWith('Bearer ') ? await this.auth.authenticate(header.slice(7).trim()) : null;
      if (merchantId === null) return sendSeamlessError(reply, new SeamlessError('INVALID_TOKEN', 'merchant bearer token required'));
      const body = parseSeamlessBody(raw);
      const username = stringField(body, 'username');
      const currency = stringField(body, 'currency');
      if (!this.config.currencies.includes(currency)) throw new SeamlessError('INVALID_REQUEST', `unknown currency ${currency}`);
      const ttl = body['ttlSeconds'] ?? this.tokens.ttlSecondsDefault;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > this.tokens.ttlSecondsMax) {
        throw new SeamlessError('INVALID_REQUEST', `ttlSeconds must be an integer from 1 to ${this.tokens.ttlSecondsMax}`);
      }
      const minted = await this.tokens.mint(merchantId, username, currency, ttl);
      await reply.status(201).send({ ...minted, username, currency });
    } catch (error) {
      await sendSeamlessFailure(reply, error, this.logger);
    }
  }
}
