import { EDGE_FAILURE_STATUS, type EdgeFailure, type EdgeFailureSender, sendPlainFailure } from '@settlement/http';
import { EXT_ORDERS_BASE } from '../ext-orders/ext-orders.auth';
import { EXT_ORDER_CODES, envelope, type ExtOrderCode } from '../ext-orders/ext-orders.codes';
import { SEAMLESS_BASE, SeamlessError, type SeamlessErrorCode, sendSeamlessError } from '../seamless/seamless.protocol';

const EXT_ORDERS: Record<EdgeFailure, ExtOrderCode> = {
  NOT_FOUND: EXT_ORDER_CODES.NOT_FOUND,
  METHOD_NOT_ALLOWED: EXT_ORDER_CODES.METHOD_NOT_ALLOWED,
  BODY_TOO_LARGE: EXT_ORDER_CODES.BODY_TOO_LARGE,
  URI_TOO_LONG: EXT_ORDER_CODES.URI_TOO_LONG,
  UNSUPPORTED_MEDIA_TYPE: EXT_ORDER_CODES.UNSUPPORTED_MEDIA_TYPE,
  BAD_REQUEST: EXT_ORDER_CODES.INVALID_FIELD,
  INTERNAL: EXT_ORDER_CODES.DB_EXCEPTION,
};

const SEAMLESS: Record<EdgeFailure, SeamlessErrorCode> = {
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  URI_TOO_LONG: 'URI_TOO_LONG',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  BAD_REQUEST: 'INVALID_REQUEST',
  INTERNAL: 'INTERNAL_ERROR',
};

/**
 * Answers a failure in the shape of the dialect the URL belongs to, with that
 * dialect's documented code; outside the two dialects (admin, health,
 * OpenAPI) in the plain shape, and OAuth's in RFC 6749's.
 */
export const sendEdgeFailure: EdgeFailureSender = async (request, reply, failure, detail) => {
  const path = request.url.split('?')[0];
  if (path.startsWith(`/${EXT_ORDERS_BASE}/`)) {
    const answer = EXT_ORDERS[failure];
    await reply.status(answer.status).send(envelope(answer, null, detail));
  } else if (path.startsWith(`/${SEAMLESS_BASE}/`)) {
    await sendSeamlessError(reply, new SeamlessError(SEAMLESS[failure], detail));
  } else if (path.startsWith('/oauth/')) {
    // RFC 6749's error shape; it has no codes for these, so the nearest ones.
    const error = failure === 'INTERNAL' ? 'server_error' : 'invalid_request';
    await reply.status(EDGE_FAILURE_STATUS[failure]).send({ error, error_description: detail ?? failure.toLowerCase().replace(/_/g, ' ') });
  } else {
    await sendPlainFailure(request, reply, failure, detail);
  }
};
