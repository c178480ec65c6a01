import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE, GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';
import { decryptSecret, encryptSecret, hashSecret, hashToken, newSecret, verifySecret } from './secrets';

/** An issued OAuth access token (RFC 6749 section 5.1). */
export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** Active client secrets per merchant: the current one and the one being rotated out. */
const activeSecretsMax = 2;

/** Tokens remembered in memory after a database lookup, so each request does not query. */
const tokenCacheSizeMax = 10000;

/** How long a decrypted wallet secret is reused; a rotation on another instance is seen within this time. */
const walletSecretCacheMs = 30000;

/** OAuth 2.0 client-credentials: merchants, their secrets and their bearer tokens. */
@Injectable()
export class AuthService {
  private readonly tokenCache = new Map<string, { merchantId: string; expiresAtMs: number }>();
  private readonly walletSecrets = new Map<string, { secret: string; expiresAtMs: number }>();

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** Creates a merchant with one client secret; the secret is shown once and stored hashed. */
  async createMerchant(
    merchantId: string,
    name: string,
  ): Promise<{ merchantId: string; clientId: string; clientSecret: string; walletSecret: string } | 'EXISTS'> {
    const clientId = `mch_${merchantId}`;
    const clientSecret = newSecret();
    const walletSecret = newSecret();
    const inserted: unknown[] = await this.dataSource.query(
      `INSERT INTO gateway.merchants (id, name, client_id, wallet_secret_enc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id`,
      [merchantId, name, clientId, encryptSecret(walletSecret, this.config.secretsKeyHex)],
    );
    if (inserted.length === 0) return 'EXISTS';
    await this.dataSource.query(`INSERT INTO gateway.client_secrets (merchant_id, secret_hash) VALUES ($1, $2)`, [merchantId, await hashSecret(clientSecret)]);
    return { merchantId, clientId, clientSecret, walletSecret };
  }

  /** Replaces a merchant's seamless-wallet secret (the key of request digests); shown once. */
  async rotateWalletSecret(merchantId: string): Promise<{ walletSecret: string } | 'NOT_FOUND'> {
    const walletSecret = newSecret();
    const updated: unknown[] = await this.dataSource.query(`UPDATE gateway.merchants SET wallet_secret_enc = $2 WHERE id = $1 RETURNING id`, [
      merchantId,
      encryptSecret(walletSecret, this.config.secretsKeyHex),
    ]);
    if (updated.length === 0) return 'NOT_FOUND';
    this.walletSecrets.delete(merchantId);
    return { walletSecret };
  }

  /** A merchant's seamless-wallet secret, decrypted; cached briefly since every wallet call needs it. */
  async walletSecret(merchantId: string): Promise<string | null> {
    const cached = this.walletSecrets.get(merchantId);
    if (cached !== undefined && cached.expiresAtMs > Date.now()) return cached.secret;
    const rows: { wallet_secret_enc: string | null }[] = await this.dataSource.query(`SELECT wallet_secret_enc FROM gateway.merchants WHERE id = $1`, [merchantId]);
    const stored = rows[0]?.wallet_secret_enc;
    if (stored === undefined || stored === null) return null;
    const secret = decryptSecret(stored, this.config.secretsKeyHex);
    this.walletSecrets.set(merchantId, { secret, expiresAtMs: Date.now() + walletSecretCacheMs });
    return secret;
  }

  /** Adds a client secret for rotation, revoking the oldest when more than two would be active. */
  async rotateSecret(merchantId: string): Promise<{ clientId: string; clientSecret: string } | 'NOT_FOUND'> {
    const rows: { client_id: string }[] = await this.dataSource.query(`SELECT client_id FROM gateway.merchants WHERE id = $1`, [merchantId]);
    if (rows.length === 0) return 'NOT_FOUND';
    const clientSecret = newSecret();
    await this.dataSource.transaction(async (m) => {
      await m.query(`INSERT INTO gateway.client_secrets (merchant_id, secret_hash) VALUES ($1, $2)`, [merchantId, await hashSecret(clientSecret)]);
      await m.query(
        `UPDATE gateway.client_secrets SET revoked_at = now() WHERE merchant_id = $1 AND revoked_at IS NULL AND id NOT IN (
           SELECT id FROM gateway.client_secrets WHERE merchant_id = $1 AND revoked_at IS NULL ORDER BY id DESC LIMIT $2)`,
        [merchantId, activeSecretsMax],
      );
    });
    return { clientId: rows[0].client_id, clientSecret };
  }

  /** The client-credentials grant: a valid id and secret yield a fresh expiring token. */
  async issueToken(clientId: string, clientSecret: string): Promise<IssuedToken | null> {
    const rows: { merchant_id: string; secret_hash: string }[] = await this.dataSource.query(
      `SELECT s.merchant_id, s.secret_hash FROM gateway.client_secrets s JOIN gateway.merchants m ON m.id = s.merchant_id
       WHERE m.client_id = $1 AND s.revoked_at IS NULL ORDER BY s.id DESC LIMIT $2`,
      [clientId, activeSecretsMax],
    );
    let merchantId: string | undefined;
    for (const row of rows) if (await verifySecret(clientSecret, row.secret_hash)) merchantId = row.merchant_id;
    if (merchantId === undefined) return null;
    const token = newSecret();
    const ttl = this.config.accessTokenTtlSeconds;
    await this.dataSource.query(
      `INSERT INTO gateway.access_tokens (token_hash, merchant_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`,
      [hashToken(token), merchantId, ttl],
    );
    return { access_token: token, token_type: 'Bearer', expires_in: ttl };
  }

  /** The merchant a bearer token belongs to, or null when it is unknown or expired. */
  async authenticate(token: string): Promise<string | null> {
    const key = hashToken(token);
    const now = Date.now();
    const cached = this.tokenCache.get(key);
    if (cached !== undefined) {
      if (cached.expiresAtMs > now) return cached.merchantId;
      this.tokenCache.delete(key);
      return null;
    }
    const rows: { merchant_id: string; expires_at_ms: string }[] = await this.dataSource.query(
      `SELECT merchant_id, (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at_ms FROM gateway.access_tokens WHERE token_hash = $1`,
      [key],
    );
    if (rows.length === 0) return null;
    const expiresAtMs = Number(rows[0].expires_at_ms);
    if (expiresAtMs <= now) return null;
    if (this.tokenCache.size >= tokenCacheSizeMax) this.tokenCache.delete(this.tokenCache.keys().next().value as string);
    this.tokenCache.set(key, { merchantId: rows[0].merchant_id, expiresAtMs });
    return rows[0].merchant_id;
  }
}
