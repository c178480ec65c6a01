import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';
import { TokenBuckets, type RateDecision } from './rate-limiter';

/**
 * The gateway's two rate limits. Authenticated calls count against their
 * merchant; calls that are not (yet) authenticated, the OAuth token endpoint
 * and every failed authentication, count against their source IP, so a flood
 * of forged credentials is cut off without touching the merchant's budget.
 */
@Injectable()
export class RateLimiter {
  private readonly merchants: TokenBuckets;
  private readonly sourceIps: TokenBuckets;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.merchants = new TokenBuckets(config.merchantRateLimit, config.rateLimitKeysMax);
    this.sourceIps = new TokenBuckets(config.sourceIpRateLimit, config.rateLimitKeysMax);
  }

  merchant(merchantId: string): RateDecision {
    return this.merchants.take(merchantId);
  }

  /** The request's source address as the socket sees it (no proxy headers are trusted). */
  sourceIp(request: FastifyRequest): RateDecision {
    return this.sourceIps.take(request.ip);
  }
}
