import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { RouteTable } from './route-table';

/**
 * Failures decided before any controller runs (no such route, body or URI too
 * large, a malformed URL) or that escaped one. A service answers each in its
 * own shape with a stable code, so a client never sees Fastify's or Nest's
 * own error format.
 */
export type EdgeFailure = 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'BODY_TOO_LARGE' | 'URI_TOO_LONG' | 'UNSUPPORTED_MEDIA_TYPE' | 'BAD_REQUEST' | 'INTERNAL';

/** The HTTP status of each failure in the plain shape (sendPlainFailure). */
export const EDGE_FAILURE_STATUS: Readonly<Record<EdgeFailure, number>> = {
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BAD_REQUEST: 400,
  INTERNAL: 500,
};

/** Answers a failure in a service's shape. */
export type EdgeFailureSender = (request: FastifyRequest, reply: FastifyReply, failure: EdgeFailure, detail?: string) => Promise<void>;

/** The plain shape, `{"error": <failure>, "message": ...}`, under the failure's own status. */
export const sendPlainFailure: EdgeFailureSender = async (_request, reply, failure, detail) => {
  await reply.status(EDGE_FAILURE_STATUS[failure]).send({ error: failure, message: detail ?? failure.toLowerCase().replace(/_/g, ' ') });
};

/**
 * Fastify's framework errors, raised while routing before any handler (a
 * path parameter longer than maxParamLength, a malformed percent-encoding),
 * answered by `send`: the adapter's `frameworkErrors` option.
 */
export function edgeFrameworkErrors(send: EdgeFailureSender): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') void send(request, reply, 'URI_TOO_LONG');
    else void send(request, reply, 'BAD_REQUEST', 'malformed URL');
  };
}

/**
 * The one exception filter of a service: unknown routes (404, or 405 with
 * Allow when the path exists for other methods), Fastify's errors (body too
 * large, bad content length), and anything a controller did not handle, each
 * answered by `send`. Controllers' own HttpExceptions, built in their
 * protocol's shape, pass through as they are.
 */
@Catch()
export class EdgeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(EdgeExceptionFilter.name);

  constructor(
    private readonly routes: RouteTable,
    private readonly send: EdgeFailureSender = sendPlainFailure,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (request.is404) {
      const allowed = this.routes.methodsAt(request.url);
      if (allowed.length === 0) return void this.send(request, reply, 'NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
      void reply.header('allow', allowed.join(', '));
      return void this.send(request, reply, 'METHOD_NOT_ALLOWED', `${request.method}; allowed: ${allowed.join(', ')}`);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      if (status === 413) return void this.send(request, reply, 'BODY_TOO_LARGE');
      if (status === 415) return void this.send(request, reply, 'UNSUPPORTED_MEDIA_TYPE');
      // Built by a controller: already in its protocol's shape. Nest's and Fastify's own carry statusCode.
      if (typeof body === 'object' && body !== null && !('statusCode' in body)) return void reply.status(status).send(body);
      if (status < 500) return void this.send(request, reply, 'BAD_REQUEST', exception.message);
    }
    this.logger.error(`unhandled error on ${request.method} ${request.url}: ${(exception as Error)?.stack ?? String(exception)}`);
    void this.send(request, reply, 'INTERNAL');
  }
}

/**
 * A service's Fastify adapter with its edge: routing errors (the adapter's
 * `frameworkErrors`) and, through `filter` (install it with
 * `app.useGlobalFilters`), unknown routes, wrong methods and unhandled
 * errors, each answered by `send`. The route table fills as the application
 * registers its routes.
 */
export function edgeAdapter(options: Omit<FastifyServerOptions, 'frameworkErrors'> = {}, send: EdgeFailureSender = sendPlainFailure): { adapter: FastifyAdapter; filter: EdgeExceptionFilter } {
  const adapter = new FastifyAdapter({ ...options, frameworkErrors: edgeFrameworkErrors(send) });
  const routes = new RouteTable();
  routes.collectFrom(adapter.getInstance());
  return { adapter, filter: new EdgeExceptionFilter(routes, send) };
}
