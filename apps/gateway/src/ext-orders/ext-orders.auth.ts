import type { FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/auth.service';
import { EXT_ORDER_CODES, ExtOrderError } from './ext-orders.codes';

/** Base path of the binary-option dialect, as in seed 000. */
export const EXT_ORDERS_BASE = 'payment/wallet/v1/binaryOption/ext-orders';

/** The merchant behind the request's bearer token, or the protocol's 401. */
export async function merchantOf(request: FastifyRequest, auth: AuthService): Promise<string> {
  const header = request.headers.authorization;
  if (header === undefined || !header.startsWith('Bearer ')) throw new ExtOrderError(EXT_ORDER_CODES.UNAUTHORIZED, 'no bearer token');
  const merchantId = await auth.authenticate(header.slice('Bearer '.length).trim());
  if (merchantId === null) throw new ExtOrderError(EXT_ORDER_CODES.UNAUTHORIZED);
  return merchantId;
}
