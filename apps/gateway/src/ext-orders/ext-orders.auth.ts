import type { FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/auth.service';
import type { RateLimiter } from '../http/rate-limiter.service';
import { EXT_ORDER_CODES, ExtOrderError } from './ext-orders.codes';

/** Base path of the binary-option dialect, as in seed 000. */
export const EXT_ORDERS_BASE = 'payment/wallet/v1/binaryOption/ext-orders';

/**
 * The merchant behind the request's bearer token, or the protocol's 401; then
 * the rate limits: the merchant's budget, or, for a failed authentication,
 * the source IP's (429 instead of 401 once a forger has used it up).
 */
export async function merchantOf(request: FastifyRequest, auth: AuthService, limiter: RateLimiter): Promise<string> {
  const header = request.headers.authorization;
  const merchantId = header?.startsWith('Bearer ') ? await auth.authenticate(header.slice('Bearer '.length).trim()) : null;
  const decision = merchantId === null ? limiter.sourceIp(request) : limiter.merchant(merchantId);
  if (!decision.allowed) throw new ExtOrderError(EXT_ORDER_CODES.RATE_LIMITED, undefined, decision.retryAfterSeconds);
  if (merchantId === null) throw new ExtOrderError(EXT_ORDER_CODES.UNAUTHORIZED, header === undefined ? 'no bearer token' : undefined);
  return merchantId;
}
