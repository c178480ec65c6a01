import { EXT_ORDER_CODES } from '../ext-orders/ext-orders.codes';
import { cancelFields } from '../ext-orders/cancel-order/cancel-order.controller';
import { createFields } from '../ext-orders/create-order/create-order.controller';
import { settleFields } from '../ext-orders/settle-orders/settle-orders.controller';
import { EXT_ORDERS_BASE } from '../ext-orders/ext-orders.auth';
import { IDENTIFIER_LENGTH_MAX } from '../http/identifier';
import { SEAMLESS_BASE, SEAMLESS_ERRORS, type SeamlessErrorCode } from '../seamless/seamless.protocol';

/**
 * The OpenAPI documents of both game-engine dialects, built from the same
 * constants the controllers validate with (field lists, codes). The gateway
 * serves them; docs/api/*.openapi.json are these documents checked in, and a
 * unit test fails when the two drift apart.
 */

type Schema = Record<string, unknown>;

/** The currencies offered by default (`CURRENCIES`); the served documents list the running gateway's. */
export const DEFAULT_CURRENCIES: readonly string[] = ['USDT', 'USDC', 'BTC', 'ETH', 'USD'];

const identifier: Schema = { type: 'string', minLength: 1, maxLength: IDENTIFIER_LENGTH_MAX, pattern: '^[^\\u0000-\\u001f\\u007f]*$', description: 'No control characters.' };
const decimal = (description: string, pattern: string): Schema => ({ type: 'string', pattern, description, examples: ['100.0'] });

// The amount grammar of libs/money parseAmount: ASCII digits, leading zeros free, at most 14 significant integer
// digits and 8 decimals, no exponent, no '+', no '-0'. JSON Schema regexes have no lookahead in every tool, so
// "at least one non-zero digit" is spelled out: a non-zero integer part, or a zero one with a non-zero decimal.
const nonZeroFraction = Array.from({ length: 8 }, (_, zeros) => `0{${zeros}}[1-9][0-9]{0,${7 - zeros}}`).join('|');
const positiveBody = `0*(?:[1-9][0-9]{0,13}(?:\\.[0-9]{1,8})?|0\\.(?:${nonZeroFraction}))`;
const nonNegativeBody = '0*[0-9]{1,14}(?:\\.[0-9]{1,8})?';
const positiveAmount = decimal('Positive decimal string: at most 14 integer digits and 8 decimals, ASCII digits, no exponent or sign.', `^${positiveBody}$`);
const nonNegativeAmount = decimal('Non-negative decimal string: at most 14 integer digits and 8 decimals, ASCII digits, no exponent or sign.', `^${nonNegativeBody}$`);
const zeroAmount = decimal('Must be zero in phase 1 ("0", "0.0", ...); absent means zero.', '^0+(\\.0{1,8})?$');
const signedAmount = decimal('Decimal string, may be negative (not "-0"); at most 14 integer digits and 8 decimals.', `^(?:-${positiveBody}|${nonNegativeBody})$`);

const EXT_FIELD_SCHEMAS: Record<string, Schema> = {
  extRequestId: { ...identifier, description: 'Unique per merchant across create, cancel and settlement; the idempotency key.' },
  username: identifier,
  amount: positiveAmount,
  bonusAmount: zeroAmount,
  totalOrderAmount: nonNegativeAmount,
  totalOrderBonusAmount: zeroAmount,
  pnlAmount: signedAmount,
  pnlBonusAmount: zeroAmount,
  // null is read as absent, as the query answers extRefId: null for a request sent without one.
  extRefId: { ...identifier, type: ['string', 'null'], description: 'Optional (null means absent). On cancel: the extRequestId of the create whose hold to release.' },
};

const REQUIRED: Record<string, readonly string[]> = {
  create: ['extRequestId', 'username', 'currency', 'amount'],
  cancel: ['extRequestId', 'username', 'currency', 'amount'],
  settlement: ['extRequestId', 'username', 'currency', 'totalOrderAmount', 'pnlAmount'],
};

function requestSchema(fields: readonly string[], op: string, currencies: readonly string[]): Schema {
  const currency = { type: 'string', enum: [...currencies], examples: ['USDT'] };
  return {
    type: 'object',
    additionalProperties: false,
    required: [...REQUIRED[op]],
    properties: Object.fromEntries(fields.map((f) => [f, f === 'currency' ? currency : EXT_FIELD_SCHEMAS[f]])),
  };
}

function envelopeSchema(data: Schema): Schema {
  return {
    type: 'object',
    required: ['code', 'msg', 'time', 'data', 'success'],
    properties: {
      code: { type: 'integer' },
      msg: { type: 'string' },
      time: { type: 'integer', description: 'Epoch milliseconds.' },
      data: data,
      success: { type: 'boolean' },
    },
  };
}

/** Responses by HTTP status, each listing the codes that status carries. */
function extResponses(codes: readonly (keyof typeof EXT_ORDER_CODES)[], success: Schema): Record<string, Schema> {
  const byStatus = new Map<number, string[]>();
  const codesByStatus = new Map<number, number[]>();
  for (const name of codes) {
    const c = EXT_ORDER_CODES[name];
    byStatus.set(c.status, [...(byStatus.get(c.status) ?? []), `${c.code} ${c.msg}`]);
    codesByStatus.set(c.status, [...(codesByStatus.get(c.status) ?? []), c.code]);
  }
  const responses: Record<string, Schema> = {};
  for (const [status, lines] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const schema = status === 200 ? { $ref: '#/components/schemas/SuccessEnvelope' } : { $ref: '#/components/schemas/ErrorEnvelope' };
    // Each status lists exactly the codes it carries, so a code under the wrong status fails validation.
    const codes = codesByStatus.get(status) ?? [];
    responses[String(status)] = {
      description: lines.join('; '),
      ...(status === 429 ? { headers: { 'Retry-After': { required: true, description: 'Seconds until a request is allowed again.', schema: { type: 'string', pattern: '^[0-9]+$' } } } } : {}),
      content: { 'application/json': { schema: { allOf: [schema, { properties: { code: { enum: codes }, ...(status === 200 ? { data: success } : {}) } }] } } },
    };
  }
  return responses;
}

const WRITE_CODES = [
  'SUCCESS', 'MALFORMED_JSON', 'INVALID_FIELD', 'INVALID_AMOUNT', 'BONUS_NOT_SUPPORTED', 'UNKNOWN_CURRENCY',
  'IDEMPOTENCY_CONFLICT', 'RESULT_UNKNOWN', 'UNAUTHORIZED', 'USER_WALLET_NOT_FOUND', 'DB_EXCEPTION', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED',
  'BALANCE_LIMIT',
] as const satisfies readonly (keyof typeof EXT_ORDER_CODES)[];

export function extOrdersOpenApi(currencies: readonly string[] = DEFAULT_CURRENCIES): Schema {
  const base = `/${EXT_ORDERS_BASE}`;
  const orderCase: Schema = {
    type: 'object',
    description: 'Case Order (create or cancel). Additive: type, status, reason, createdAt.',
    properties: {
      extRequestId: { type: 'string' }, username: { type: 'string' }, currency: { type: 'string' }, amount: { type: 'string' },
      bonusAmount: { type: 'string' }, extRefId: { type: ['string', 'null'] }, type: { enum: ['create', 'cancel'] },
      status: { enum: ['ACCEPTED', 'REJECTED'] }, reason: { type: 'string' }, createdAt: { type: 'string' },
    },
  };
  const settleCase: Schema = {
    type: 'object',
    description: 'Case Settle. Additive: type, status, reason, transactionRef, createdAt.',
    properties: {
      extRequestId: { type: 'string' }, username: { type: 'string' }, currency: { type: 'string' }, totalOrderAmount: { type: 'string' },
      pnlAmount: { type: 'string' }, extRefId: { type: ['string', 'null'] }, type: { const: 'settlement' }, status: { enum: ['ACCEPTED', 'REJECTED'] },
      reason: { type: 'string' }, transactionRef: { type: 'string' }, createdAt: { type: 'string' },
    },
  };
  const body = (schema: Schema) => ({ required: true, content: { 'application/json': { schema } } });
  return {
    openapi: '3.1.0',
    info: { title: 'Ext-orders (binary options)', version: '1.0.0', description: 'Seed 000. Codes and readings of the seed: docs/api/ext-orders.md.' },
    servers: [{ url: 'http://127.0.0.1:3000' }],
    security: [{ bearer: [] }],
    paths: {
      [`${base}/create`]: {
        put: { operationId: 'createOrder', summary: 'Hold a stake', requestBody: body(requestSchema(createFields, 'create', currencies)), responses: extResponses([...WRITE_CODES, 'INSUFFICIENT_BALANCE'], { type: 'null' }) },
      },
      [`${base}/cancel`]: {
        put: {
          operationId: 'cancelOrder',
          summary: 'Release a stake',
          requestBody: body(requestSchema(cancelFields, 'cancel', currencies)),
          responses: extResponses([...WRITE_CODES, 'ORDER_NOT_FOUND', 'HOLD_EXCEEDED', 'INSUFFICIENT_BALANCE'], { type: 'null' }),
        },
      },
      [`${base}/settlement`]: {
        post: {
          operationId: 'settleOrders',
          summary: 'Settle profit or loss of several orders',
          requestBody: body(requestSchema(settleFields, 'settlement', currencies)),
          responses: extResponses([...WRITE_CODES, 'INSUFFICIENT_BALANCE', 'NEGATIVE_PAYOUT'], {
            type: 'object', required: ['transactionRef'], properties: { transactionRef: { type: 'string' } },
          }),
        },
      },
      [`${base}/{extRequestId}`]: {
        get: {
          operationId: 'queryOrder',
          summary: 'Query a request by extRequestId',
          parameters: [{ name: 'extRequestId', in: 'path', required: true, schema: identifier }],
          responses: extResponses(['SUCCESS', 'INVALID_FIELD', 'UNAUTHORIZED', 'METHOD_NOT_ALLOWED', 'URI_TOO_LONG', 'RATE_LIMITED', 'DB_EXCEPTION'], { oneOf: [orderCase, settleCase, { type: 'null' }] }),
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Access token from POST /oauth/token (client credentials).' },
        oauth: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes: {} } } },
      },
      schemas: {
        SuccessEnvelope: envelopeSchema({}),
        ErrorEnvelope: envelopeSchema({ type: 'null' }),
      },
    },
  };
}

export function seamlessOpenApi(currencies: readonly string[] = DEFAULT_CURRENCIES): Schema {
  const base = `/${SEAMLESS_BASE}`;
  const hash = { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'Hex HMAC-SHA256 of the canonical JSON of the body without hash, keyed by the wallet secret (docs/api/seamless-wallet.md).' };
  const currency = { type: 'string', enum: [...currencies], description: "Must be the wallet token's currency." };
  const token = { ...identifier, description: 'Wallet access token from POST /seamless/v1/tokens.' };
  const common = { token, currency, hash };
  const trade = { ...common, externalTradeType: identifier, externalTradeId: identifier };
  const json = (schema: Schema) => ({ 'application/json': { schema } });
  const errorSchema = (codes: readonly string[]) => ({ allOf: [{ $ref: '#/components/schemas/Error' }, { properties: { code: { enum: [...codes] } } }] });
  const retryAfter = { 'Retry-After': { required: true, description: 'Seconds until a request is allowed again.', schema: { type: 'string', pattern: '^[0-9]+$' } } };
  /** Error responses by HTTP status, each listing exactly the codes it carries. */
  const errors = (codes: readonly SeamlessErrorCode[]) => {
    const out: Record<string, Schema> = {};
    const byStatus = new Map<number, string[]>();
    for (const c of codes) byStatus.set(SEAMLESS_ERRORS[c].http, [...(byStatus.get(SEAMLESS_ERRORS[c].http) ?? []), c]);
    for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      out[String(status)] = { description: list.join(', '), ...(status === 429 ? { headers: retryAfter } : {}), content: json(errorSchema(list)) };
    }
    return out;
  };
  const balance = { '200': { description: 'The balance after the action.', content: json({ $ref: '#/components/schemas/Balance' }) } };
  const edgeCodes = ['BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED'] as const;
  const walletCodes = ['INVALID_REQUEST', 'INVALID_TOKEN', 'INVALID_HASH', 'TOKEN_EXPIRED', 'WALLET_NOT_FOUND', 'RESULT_UNKNOWN', 'INTERNAL_ERROR', ...edgeCodes] as const;
  const body = (properties: Schema, required: string[]) => ({ required: true, content: json({ type: 'object', required, properties }) });
  return {
    openapi: '3.1.0',
    info: { title: 'Seamless wallet callbacks', version: '1.0.0', description: 'Seed 003. Digest recipe and error table: docs/api/seamless-wallet.md.' },
    servers: [{ url: 'http://127.0.0.1:3000' }],
    paths: {
      [`${base}/tokens`]: {
        post: {
          operationId: 'mintWalletToken',
          summary: 'Mint a wallet access token for a user and currency (merchant bearer token)',
          security: [{ bearer: [] }],
          requestBody: body({ username: identifier, currency: { type: 'string', enum: [...currencies] }, ttlSeconds: { type: 'integer', minimum: 1, maximum: 86400 } }, ['username', 'currency']),
          responses: {
            '201': {
              description: 'Minted.',
              content: json({ type: 'object', required: ['token', 'expiresAt', 'username', 'currency'], properties: { token: { type: 'string' }, expiresAt: { type: 'string' }, username: { type: 'string' }, currency: { type: 'string' } } }),
            },
            ...errors(['INVALID_REQUEST', 'INVALID_TOKEN', 'INTERNAL_ERROR', ...edgeCodes]),
          },
        },
      },
      [`${base}/getbalance`]: {
        post: {
          operationId: 'getBalance',
          requestBody: body({ ...common, amount: { ...nonNegativeAmount, description: 'Informational (the amount the trade needs); validated when sent.' } }, ['token', 'currency', 'hash']),
          responses: { ...balance, ...errors(walletCodes) },
        },
      },
      [`${base}/opentrade`]: {
        post: {
          operationId: 'openTrade',
          requestBody: body({ ...trade, amount: positiveAmount }, ['token', 'amount', 'currency', 'externalTradeType', 'externalTradeId', 'hash']),
          responses: { ...balance, ...errors([...walletCodes, 'INSUFFICIENT_FUNDS', 'DUPLICATE_TRADE', 'BALANCE_LIMIT']) },
        },
      },
      [`${base}/closetrade`]: {
        post: {
          operationId: 'closeTrade',
          requestBody: body(
            { ...trade, amount: { ...nonNegativeAmount, description: 'The win amount: 0 a loss, the stake at the money, stake plus payout in the money.' }, data: { type: 'object', description: 'More data about the trade (at most 16 KiB); stored with it.' } },
            ['token', 'amount', 'currency', 'externalTradeType', 'externalTradeId', 'hash'],
          ),
          responses: { ...balance, ...errors([...walletCodes, 'UNKNOWN_TRADE', 'TRADE_ALREADY_CLOSED', 'DUPLICATE_TRADE', 'BALANCE_LIMIT']) },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Balance: { type: 'object', required: ['balance', 'currency', 'status'], properties: { balance: { type: 'string' }, currency: { type: 'string' }, status: { const: 'Ok' } } },
        Error: { type: 'object', required: ['status', 'code', 'message'], properties: { status: { const: 'Error' }, code: { enum: Object.keys(SEAMLESS_ERRORS) }, message: { type: 'string' } } },
      },
    },
  };
}
