import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { DataSource } from 'typeorm';
import { AuthService } from '../auth/auth.service';
import { hashToken, newSecret } from '../auth/secrets';
import { DATA_SOURCE, GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';
import { RateLimiter } from '../http/rate-limiter.service';
import { SeamlessError, digestMatches, stringField } from './seamless.protocol';

/** Whose wallet a seamless call acts on, from its access token. */
export interface WalletSession {
  readonly merchantId: string;
  readonly username: string;
  readonly currency: string;
}

/** Wallet tokens remembered in memory; the oldest is forgotten first past this many. */
const walletTokenCacheSizeMax = 10000;

interface CachedToken {
  readonly merchant_id: string;
  readonly username: string;
  readonly currency: string;
  readonly expiresAtMs: number;
}

/** Wallet access tokens (the seed's "launch sequence" step 2) and the checks every wallet call starts with. */
@Injectable()
export class WalletTokenService {
  private readonly cache = new Map<string, CachedToken>();

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
  ) {}

  /** Mints a token for one user and currency; only its hash is stored. */
  async mint(merchantId: string, username: string, currency: string, ttlSeconds: number): Promise<{ token: string; expiresAt: string }> {
    const token = newSecret(16);
    const tokenHash = hashToken(token);
    const rows: { expires_at: Date }[] = await this.dataSource.query(
      `INSERT INTO gateway.wallet_tokens (token_hash, merchant_id, username, currency, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at`,
      [tokenHash, merchantId, username, currency, ttlSeconds],
    );
    const expiresAt = new Date(rows[0].expires_at);
    // The launch sequence's next step is a wallet call with this token: it finds it here, not in the database.
    this.remember(tokenHash, { merchant_id: merchantId, username, currency, expiresAtMs: expiresAt.getTime() });
    return { token, expiresAt: expiresAt.toISOString() };
  }

  /**
   * Resolves the body's token, verifies its digest with the merchant's wallet
   * secret, then checks expiry (after the digest, so an unauthenticated caller
   * learns nothing about a token) and that the currency is the token's.
   * `closetrade` passes allowExpired: an open trade is closed even after expiry.
   */
  async session(body: Record<string, unknown>, request: FastifyRequest, options: { allowExpired: boolean }): Promise<WalletSession> {
    const token = stringField(body, 'token');
    const row = await this.lookup(hashToken(token));
    if (row === null) throw this.refused(request, 'INVALID_TOKEN');
    const expired = row.expiresAtMs <= Date.now();
    const secret = await this.auth.walletSecret(row.merchant_id);
    if (secret === null || !digestMatches(body, secret)) throw this.refused(request, 'INVALID_HASH');
    const decision = this.limiter.merchant(row.merchant_id);
    if (!decision.allowed) throw new SeamlessError('RATE_LIMITED', undefined, decision.retryAfterSeconds);
    if (expired && !options.allowExpired) throw new SeamlessError('TOKEN_EXPIRED');
    // Every seed body carries currency; a call without one is refused rather than assumed to mean the token's.
    if (body['currency'] !== row.currency) throw new SeamlessError('INVALID_REQUEST', `currency must be the token's currency ${row.currency}`);
    return { merchantId: row.merchant_id, username: row.username, currency: row.currency };
  }

  /** A failed authentication counts against the source IP; past its limit the answer is 429, not the reason. */
  private refused(request: FastifyRequest, code: 'INVALID_TOKEN' | 'INVALID_HASH'): SeamlessError {
    const decision = this.limiter.sourceIp(request);
    return decision.allowed ? new SeamlessError(code) : new SeamlessError('RATE_LIMITED', undefined, decision.retryAfterSeconds);
  }

  /**
   * A token's owner and expiry, remembered after the first lookup: every
   * wallet call of a session presents the same token, and tokens are never
   * changed after minting (expiry is checked against the remembered instant).
   */
  private async lookup(tokenHash: string): Promise<CachedToken | null> {
    const cached = this.cache.get(tokenHash);
    if (cached !== undefined) return cached;
    const rows: { merchant_id: string; username: string; currency: string; expires_at_ms: string }[] = await this.dataSource.query(
      `SELECT merchant_id, username, currency, (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at_ms FROM gateway.wallet_tokens WHERE token_hash = $1`,
      [tokenHash],
    );
    if (rows.length === 0) return null;
    const row: CachedToken = { merchant_id: rows[0].merchant_id, username: rows[0].username, currency: rows[0].currency, expiresAtMs: Number(rows[0].expires_at_ms) };
    this.remember(tokenHash, row);
    return row;
  }

  private remember(tokenHash: string, row: CachedToken): void {
    if (this.cache.size >= walletTokenCacheSizeMax) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(tokenHash, row);
  }

  get ttlSecondsDefault(): number {
    return this.config.walletTokenTtlSecondsDefault;
  }

  get ttlSecondsMax(): number {
    return this.config.walletTokenTtlSecondsMax;
  }
}
