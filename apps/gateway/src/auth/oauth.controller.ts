import { Body, Controller, HttpCode, HttpException, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter } from '../http/rate-limiter.service';
import { AuthService, type IssuedToken } from './auth.service';

/** RFC 6749 error answer. */
function oauthError(status: number, error: string, description: string): HttpException {
  return new HttpException({ error, error_description: description }, status);
}

/**
 * OAuth 2.0 token endpoint, client-credentials grant only. Accepts the form
 * encoding the RFC requires, and JSON; the client authenticates with HTTP
 * Basic (client_secret_basic) or body fields (client_secret_post).
 */
@Controller('oauth')
export class OAuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
  ) {}

  /** Every attempt counts against the source IP: each runs scrypt, and secrets must not be guessable at speed. */
  @Post('token')
  @HttpCode(200)
  async token(@Body() rawBody: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<IssuedToken> {
    const decision = this.limiter.sourceIp(request);
    if (!decision.allowed) {
      void reply.header('retry-after', String(decision.retryAfterSeconds));
      throw oauthError(429, 'rate_limited', 'too many token requests from this address; retry after Retry-After seconds');
    }
    const authorization = request.headers.authorization;
    const fields = parseTokenRequest(rawBody);
    if (fields === null) throw oauthError(400, 'invalid_request', 'body must be form-encoded or JSON');
    if (fields['grant_type'] !== 'client_credentials') throw oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
    let clientId = fields['client_id'];
    let clientSecret = fields['client_secret'];
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        clientId = decodeURIComponent(decoded.slice(0, colon));
        clientSecret = decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    if (typeof clientId !== 'string' || typeof clientSecret !== 'string' || clientId === '' || clientSecret === '') {
      throw oauthError(401, 'invalid_client', 'client_id and client_secret are required');
    }
    const issued = await this.auth.issueToken(clientId, clientSecret);
    if (issued === null) throw oauthError(401, 'invalid_client', 'unknown client or wrong secret');
    return issued;
  }
}

function parseTokenRequest(raw: unknown): Record<string, string> | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null) return null;
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    } catch {
      return null;
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}
