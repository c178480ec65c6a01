import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AuthService } from '../auth/auth.service';
import { hashToken, newSecret } from '../auth/secrets';
import { DATA_SOURCE, GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';
import { SeamlessError, digestMatches, stringField } from './seamless.protocol';

/** Whose wallet a seamless call acts on, from its access token. */
export interface WalletSession {
  readonly merchantId: string;
  readonly username: string;
  readonly currency: string;
}

/** Wallet access tokens (the seed's "launch sequence" step 2) and the checks every wallet call starts with. */
@Injectable()
export class WalletTokenService {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly auth: AuthService,
  ) {}

  /** Mints a token for one user and currency; only its hash is stored. */
  async mint(merchantId: string, username: string, currency: string, ttlSeconds: number): Promise<{ token: string; expiresAt: string }> {
    const token = newSecret(16);
    const rows: { expires_at: Date }[] = await this.dataSource.query(
      `INSERT INTO gateway.wallet_tokens (token_hash, merchant_id, username, currency, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at`,
      [hashToken(token), merchantId, username, currency, ttlSeconds],
    );
    return { token, expiresAt: new Date(rows[0].expires_at).toISOString() };
  }

  /**
   * Resolves the body's token, verifies its digest with the merchant's wallet
   * secret, then checks expiry (after the digest, so an unauthenticated caller
   * learns nothing about a token) and that the currency is the token's.
   * `closetrade` passes allowExpired: an open trade is closed even after expiry.
   */
  async session(body: Record<string, unknown>, options: { allowExpired: boolean }): Promise<WalletSession> {
    const token = stringField(body, 'token');
    const rows: { merchant_id: string; username: string; currency: string; expired: boolean }[] = await this.dataSource.query(
      `SELECT merchant_id, username, currency, expires_at <= now() AS expired FROM gateway.wallet_tokens WHERE token_hash = $1`,
      [hashToken(token)],
    );
    if (rows.length === 0) throw new SeamlessError('INVALID_TOKEN');
    const row = rows[0];
    const secret = await this.auth.walletSecret(row.merchant_id);
    if (secret === null || !digestMatches(body, secret)) throw new SeamlessError('INVALID_HASH');
    if (row.expired && !options.allowExpired) throw new SeamlessError('TOKEN_EXPIRED');
    if (body['currency'] !== undefined && body['currency'] !== row.currency) {
      throw new SeamlessError('INVALID_REQUEST', `currency must be the token's currency ${row.currency}`);
    }
    return { merchantId: row.merchant_id, username: row.username, currency: row.currency };
  }

  get ttlSecondsDefault(): number {
    return this.config.walletTokenTtlSecondsDefault;
  }

  get ttlSecondsMax(): number {
    return this.config.walletTokenTtlSecondsMax;
  }
}
