import { randomUUID } from 'node:crypto';
import { Body, Controller, HttpException, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseAmount, formatAmount } from '@settlement/money';
import { LEDGER_REJECTIONS } from '@settlement/contracts';
import { AuthService } from '../auth/auth.service';
import { GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';
import { identifierProblem } from '../http/identifier';
import { RateLimiter } from '../http/rate-limiter.service';
import { LedgerClient, requestHash } from '../ledger-client/ledger.client';

/** Identifiers admins may choose for merchants: short, URL- and key-safe. */
const merchantIdPattern = /^[a-z0-9][a-z0-9_-]{1,39}$/;

/**
 * Provisioning for operators: merchants, secret rotation and wallet funding.
 * Guarded by ADMIN_TOKEN; answers are plain JSON with `error` codes.
 */
@Controller('admin')
export class AdminController {
  constructor(
    private readonly auth: AuthService,
    private readonly ledger: LedgerClient,
    private readonly limiter: RateLimiter,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** Creates a merchant and its first OAuth client secret (shown once). */
  @Post('merchants')
  async createMerchant(@Req() request: FastifyRequest, @Body() raw: unknown, @Res() reply: FastifyReply): Promise<void> {
    this.requireAdmin(request, reply);
    const body = parseObject(raw);
    const merchantId = body['merchantId'];
    if (typeof merchantId !== 'string' || !merchantIdPattern.test(merchantId)) throw adminError(400, 'INVALID_MERCHANT_ID', `merchantId must match ${merchantIdPattern}`);
    if (body['name'] !== undefined && identifierProblem(body['name']) !== null) throw adminError(400, 'INVALID_FIELD', `name ${identifierProblem(body['name'])}`);
    const name = (body['name'] as string | undefined) ?? merchantId;
    const created = await this.auth.createMerchant(merchantId, name);
    if (created === 'EXISTS') throw adminError(409, 'MERCHANT_EXISTS', `merchant ${merchantId} exists; rotate its secret instead`);
    await reply.status(201).send(created);
  }

  /** Issues an additional client secret; the two newest stay valid so clients can rotate. */
  @Post('merchants/:merchantId/secrets')
  async rotateSecret(@Req() request: FastifyRequest, @Param('merchantId') merchantId: string, @Res() reply: FastifyReply): Promise<void> {
    this.requireAdmin(request, reply);
    if (!merchantIdPattern.test(merchantId)) throw adminError(404, 'MERCHANT_NOT_FOUND', 'no merchant has such an id');
    const rotated = await this.auth.rotateSecret(merchantId);
    if (rotated === 'NOT_FOUND') throw adminError(404, 'MERCHANT_NOT_FOUND', merchantId);
    await reply.status(201).send(rotated);
  }

  /** Replaces the merchant's seamless-wallet secret (the key of request digests); shown once. */
  @Post('merchants/:merchantId/wallet-secret')
  async rotateWalletSecret(@Req() request: FastifyRequest, @Param('merchantId') merchantId: string, @Res() reply: FastifyReply): Promise<void> {
    this.requireAdmin(request, reply);
    if (!merchantIdPattern.test(merchantId)) throw adminError(404, 'MERCHANT_NOT_FOUND', 'no merchant has such an id');
    const rotated = await this.auth.rotateWalletSecret(merchantId);
    if (rotated === 'NOT_FOUND') throw adminError(404, 'MERCHANT_NOT_FOUND', merchantId);
    await reply.status(201).send(rotated);
  }

  /**
   * Credits a user's wallet from the external clearing account, opening the
   * wallet if needed. Idempotent by `reference`.
   */
  @Post('wallets/fund')
  async fund(@Req() request: FastifyRequest, @Body() raw: unknown, @Res() reply: FastifyReply): Promise<void> {
    this.requireAdmin(request, reply);
    const body = parseObject(raw);
    const { merchantId, username, currency, reference } = body;
    for (const [field, value] of Object.entries({ merchantId, username, currency, reference })) {
      const problem = identifierProblem(value);
      if (problem !== null) throw adminError(400, 'INVALID_FIELD', `${field} ${problem}`);
    }
    if (!this.config.currencies.includes(currency as string)) throw adminError(400, 'UNKNOWN_CURRENCY', String(currency));
    const amount = parseAmount(body['amount'], 'positive');
    if (!amount.ok) throw adminError(400, 'INVALID_AMOUNT', amount.problem);
    const fields = { merchantId: merchantId as string, username: username as string, currency: currency as string, reference: reference as string };
    const amountText = formatAmount(amount.value);
    const outcome = await this.ledger.execute(
      'wallet.funding.requested',
      { ...fields, amount: amountText, commandId: `admin-funding:${fields.merchantId}:${fields.reference}`, requestHash: requestHash({ ...fields, amount: amountText }) },
      randomUUID(),
    );
    if (outcome.kind === 'unknown') throw adminError(504, 'RESULT_UNKNOWN', `${outcome.why}; retry with the same reference`);
    const result = outcome.result;
    // LEDGER_ERROR is no refusal of the funding itself: the ledger's database refused it, nothing moved, and a retry is applied afresh.
    if (result.reason === LEDGER_REJECTIONS.LEDGER_ERROR) throw adminError(500, result.reason, 'the ledger could not apply the funding; nothing moved; retry with the same reference');
    if (result.status === 'REJECTED') throw adminError(409, result.reason ?? 'REJECTED', 'funding rejected');
    await reply.status(200).send({ status: result.status, transactionRef: result.transactionRef, balances: result.balances });
  }

  /** A wrong admin token counts against the source IP's limit (429 once used up); operators with the right one are not limited. */
  private requireAdmin(request: FastifyRequest, reply: FastifyReply): void {
    const expected = Buffer.from(`Bearer ${this.config.adminToken}`);
    const actual = Buffer.from(request.headers.authorization ?? '');
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return;
    const decision = this.limiter.sourceIp(request);
    if (!decision.allowed) {
      void reply.header('retry-after', String(decision.retryAfterSeconds));
      throw adminError(429, 'RATE_LIMITED', 'too many requests; retry after Retry-After seconds');
    }
    throw adminError(401, 'UNAUTHORIZED', 'admin token required');
  }
}

function adminError(status: number, error: string, message: string): HttpException {
  return new HttpException({ error, message }, status);
}

function parseObject(raw: unknown): Record<string, unknown> {
  try {
    const parsed: unknown = typeof raw === 'string' ? JSON.parse(raw) : undefined;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Falls through to the error below.
  }
  throw adminError(400, 'MALFORMED_JSON', 'body must be a JSON object');
}
