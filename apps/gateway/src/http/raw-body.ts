import type { FastifyInstance } from 'fastify';

/**
 * Bodies reach controllers as raw strings. Each protocol module parses them
 * itself, so a malformed body gets that protocol's own error envelope and
 * code (Fastify's built-in parser would answer in its own format first), and
 * signature checks can run over the exact bytes sent.
 */
export function registerRawBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
}
