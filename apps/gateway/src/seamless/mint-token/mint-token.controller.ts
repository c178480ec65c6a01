import { Body, Controller, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '../../auth/auth.service';
import { GATEWAY_CONFIG } from '../../database/database.providers';
import type { GatewayConfig } from '../../gateway.config';
import { RateLimiter } from '../../http/rate-limiter.service';
import { SEAMLESS_BASE, SeamlessError, parseSeamlessBody, stringField } from '../seamless.protocol';
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
    private readonly limiter: RateLimiter,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post('tokens')
  async mint(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() raw: unknown): Promise<void> {
    try {
      const header = request.headers.authorization;
      const merchantId = header?.startsWith('Bearer ') ? await this.auth.authenticate(header.slice(7).trim()) : null;
      const decision = merchantId === null ? this.limiter.sourceIp(request) : this.limiter.merchant(merchantId);
      if (!decision.allowed) throw new SeamlessError('RATE_LIMITED', undefined, decision.retryAfterSeconds);
      if (merchantId === null) throw new SeamlessError('INVALID_TOKEN', 'merchant bearer token required');
      const body = parseSeamlessBody(raw);
      const username = stringField(body, 'username');
      const currency = stringField(body, 'currency');
      if (!this.config.currencies.includes(currency)) throw new SeamlessError('INVALID_REQUEST', `unknown currency ${currency}`);
      const ttl = body['ttlSeconds'] === undefined ? this.tokens.ttlSecondsDefault : body['ttlSeconds'];
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
