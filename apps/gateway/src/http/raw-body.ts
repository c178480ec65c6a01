import type { FastifyInstance } from 'fastify';

/**
 * Bodies reach controllers as raw strings. Each protocol module parses them
 * itself, so a malformed body gets that protocol's own error envelope and
 * code (Fastify's built-in parser would answer in its own format first), and
 * signature checks can run over the exact bytes sent. Only JSON (and forms,
 * for the OAuth token endpoint) is read at all.
 */
export function registerRawBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  const asString = (_request: unknown, body: string | Buffer, done: (error: Error | null, body?: unknown) => void) => done(null, body);
  // JSON for the dialects and admin; forms only where RFC 6749 needs them (/oauth/token). Any other
  // media type is Fastify's 415, answered in the dialect's shape (http/edge-errors.ts).
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, asString);
  fastify.addContentTypeParser(/^application\/[a-z0-9.-]+\+json$/, { parseAs: 'string' }, asString);
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, asString);
}
