import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EXT_ORDERS_BASE } from '../ext-orders/ext-orders.auth';
import { EXT_ORDER_CODES, envelope, type ExtOrderCode } from '../ext-orders/ext-orders.codes';
import { SEAMLESS_BASE, SeamlessError, type SeamlessErrorCode, sendSeamlessError } from '../seamless/seamless.protocol';

/**
 * Failures decided before any controller runs (no such route, body or URI too
 * large, a malformed URL) or that escaped one. Each is answered in the shape
 * of the dialect the URL belongs to, with that dialect's documented code, so
 * a client never sees Fastify's or Nest's own error format.
 */
export type EdgeFailure = 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'BODY_TOO_LARGE' | 'URI_TOO_LONG' | 'UNSUPPORTED_MEDIA_TYPE' | 'BAD_REQUEST' | 'INTERNAL';

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

/** HTTP status of each failure outside the two dialects (admin, OAuth, health, OpenAPI). */
const PLAIN_STATUS: Record<EdgeFailure, number> = { NOT_FOUND: 404, METHOD_NOT_ALLOWED: 405, BODY_TOO_LARGE: 413, URI_TOO_LONG: 414, UNSUPPORTED_MEDIA_TYPE: 415, BAD_REQUEST: 400, INTERNAL: 500 };

export async function sendEdgeFailure(request: FastifyRequest, reply: FastifyReply, failure: EdgeFailure, detail?: string): Promise<void> {
  const path = request.url.split('?')[0];
  if (path.startsWith(`/${EXT_ORDERS_BASE}/`)) {
    const answer = EXT_ORDERS[failure];
    await reply.status(answer.status).send(envelope(answer, null, detail));
  } else if (path.startsWith(`/${SEAMLESS_BASE}/`)) {
    await sendSeamlessError(reply, new SeamlessError(SEAMLESS[failure], detail));
  } else if (path.startsWith('/oauth/')) {
    // RFC 6749's error shape; it has no codes for these, so the nearest ones.
    const error = failure === 'INTERNAL' ? 'server_error' : 'invalid_request';
    await reply.status(PLAIN_STATUS[failure]).send({ error, error_description: detail ?? failure.toLowerCase().replace(/_/g, ' ') });
  } else {
    await reply.status(PLAIN_STATUS[failure]).send({ error: failure, message: detail ?? failure.toLowerCase().replace(/_/g, ' ') });
  }
}

/** Every route's method and pattern, collected as Fastify registers them, to tell 405 from 404. */
export class RouteTable {
  private readonly routes: { method: string; pattern: RegExp; parametric: boolean }[] = [];

  /** Registers the collecting hook; call before the application registers its routes. */
  collectFrom(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`);
      for (const method of [route.method].flat()) this.routes.push({ method, pattern, parametric: route.url.includes(':') });
    });
  }

  /**
   * Methods some route serves at this path (empty when no route matches it).
   * A path with a route of its own (ext-orders/create) lists only its own
   * methods, not those of a parametric sibling (ext-orders/:extRequestId).
   */
  methodsAt(url: string): string[] {
    const path = url.split('?')[0];
    const matching = this.routes.filter((r) => r.pattern.test(path));
    const own = matching.some((r) => !r.parametric) ? matching.filter((r) => !r.parametric) : matching;
    return [...new Set(own.map((r) => r.method))];
  }
}

/**
 * Fastify's framework errors, raised while routing before any handler: a
 * path parameter longer than maxParamLength, a malformed percent-encoding.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') void sendEdgeFailure(request, reply, 'URI_TOO_LONG');
  else void sendEdgeFailure(request, reply, 'BAD_REQUEST', 'malformed URL');
}

/**
 * The one exception filter: unknown routes (404, or 405 with Allow when the
 * path exists for other methods), Fastify's errors (body too large, bad
 * content length), and anything a controller did not handle. Controllers'
 * own HttpExceptions (admin, OAuth) pass through as they built them.
 */
@Catch()
export class EdgeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(EdgeExceptionFilter.name);

  constructor(private readonly routes: RouteTable) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (request.is404) {
      const allowed = this.routes.methodsAt(request.url);
      if (allowed.length === 0) return void sendEdgeFailure(request, reply, 'NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
      void reply.header('allow', allowed.join(', '));
      return void sendEdgeFailure(request, reply, 'METHOD_NOT_ALLOWED', `${request.method}; allowed: ${allowed.join(', ')}`);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      if (status === 413) return void sendEdgeFailure(request, reply, 'BODY_TOO_LARGE');
      if (status === 415) return void sendEdgeFailure(request, reply, 'UNSUPPORTED_MEDIA_TYPE');
      // Built by a controller (admin, OAuth): already in its protocol's shape. Nest's and Fastify's own carry statusCode.
      if (typeof body === 'object' && body !== null && !('statusCode' in body)) return void reply.status(status).send(body);
      if (status < 500) return void sendEdgeFailure(request, reply, 'BAD_REQUEST', exception.message);
    }
    this.logger.error(`unhandled error on ${request.method} ${request.url}: ${(exception as Error)?.stack ?? String(exception)}`);
    void sendEdgeFailure(request, reply, 'INTERNAL');
  }
}
