import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';

/**
 * `npm install` replaces fastify's `AsyncResource.bind` of the body parser's
 * callback with a direct `runInAsyncScope` (tools/patch-dependencies.mjs).
 * These check the installed copy is the replacement and that a handler of a
 * request with a body still runs in the request's async context, which
 * OpenTelemetry's context (an AsyncLocalStorage) rides on.
 */
describe('fastify body parsing (patched at install)', () => {
  it('is the runInAsyncScope replacement', () => {
    expect(readFileSync(require.resolve('fastify/lib/content-type-parser.js'), 'utf8')).toContain('settlement-platform: runInAsyncScope, not bind');
  });

  it("runs the handler in the request's async context when the body arrives later", async () => {
    const storage = new AsyncLocalStorage<string>();
    const app = Fastify();
    // As OpenTelemetry's context manager does: the rest of the request's processing runs inside `run`.
    app.addHook('onRequest', (req, _reply, done) => storage.run(`request ${String(req.headers['x-request'])}`, done));
    app.post('/echo', async (req) => ({ store: storage.getStore() ?? null, body: req.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/echo', headers: { 'content-type': 'application/json', 'content-length': '9', 'x-request': '7' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        // Headers first, the body in a later packet: the parser's callback then runs from a socket read, outside the request's context.
        req.flushHeaders();
        setTimeout(() => req.end('{"a":"b"}'), 50);
      });
      expect(JSON.parse(answer)).toEqual({ store: 'request 7', body: { a: 'b' } });
    } finally {
      await app.close();
    }
  });
});
