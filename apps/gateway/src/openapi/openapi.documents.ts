import { EXT_ORDER_CODES } from '../ext-orders/ext-orders.codes';
import { cancelFields } from '../ext-orders/cancel-order/cancel-order.controller';
import { createFields } from '../ext-orders/create-order/create-order.controller';
import { settleFields } from '../ext-orders/settle-orders/settle-orders.controller';
import { EXT_ORDERS_BASE } from '../ext-orders/ext-orders.auth';
import { SEAMLESS_BASE, SEAMLESS_ERRORS } from '../seamless/seamless.protocol';

/**
 * The OpenAPI documents of both game-engine dialects, built from the same
 * constants the controllers validate with (field lists, codes). The gateway
 * serves them; docs/api/*.openapi.json are these documents checked in, and a
 * unit test fails when the two drift apart.
 */

type Schema = Record<string, unknown>;

const identifier: Schema = { type: 'string', minLength: 1, maxLength: 128, description: 'No control characters.' };
const decimal = (description: string, pattern: string): Schema => ({ type: 'string', pattern, description, examples: ['100.0'] });
const positiveAmount = decimal('Positive decimal string: at most 14 integer digits and 8 decimals, ASCII digits, no exponent or sign.', '^[0-9]{1,14}(\\.[0-9]{1,8})?$');
const zeroAmount = decimal('Must be zero in phase 1 ("0", "0.0", ...); absent means zero.', '^0+(\\.0{1,8})?$');
const signedAmount = decimal('Decimal string, may be negative; at most 14 integer digits and 8 decimals.', '^-?[0-9]{1,14}(\\.[0-9]{1,8})?$');

const EXT_FIELD_SCHEMAS: Record<string, Schema> = {
  extRequestId: { ...identifier, description: 'Unique per merchant across create, cancel and settlement; the idempotency key.' },
  username: identifier,
  currency: { type: 'string', examples: ['USDT'] },
  amount: positiveAmount,
  bonusAmount: zeroAmount,
  totalOrderAmount: { ...positiveAmount, pattern: '^[0-9]{1,14}(\\.[0-9]{1,8})?$', description: 'Non-negative decimal string.' },
  totalOrderBonusAmount: zeroAmount,
  pnlAmount: signedAmount,
  pnlBonusAmount: zeroAmount,
  extRefId: { ...identifier, description: 'Optional. On cancel: the extRequestId of the create whose hold to release.' },
};

const REQUIRED: Record<string, readonly string[]> = {
  create: ['extRequestId', 'username', 'currency', 'amount'],
  cancel: ['extRequestId', 'username', 'currency', 'amount'],
  settlement: ['extRequestId', 'username', 'currency', 'totalOrderAmount', 'pnlAmount'],
};

function requestSchema(fields: readonly string[], op: string): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: [...REQUIRED[op]],
    properties: Object.fromEntries(fields.map((f) => [f, EXT_FIELD_SCHEMAS[f]])),
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
  for (const name of codes) {
    const c = EXT_ORDER_CODES[name];
    byStatus.set(c.status, [...(byStatus.get(c.status) ?? []), `${c.code} ${c.msg}`]);
  }
  const responses: Record<string, Schema> = {};
  for (const [status, lines] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const schema = status === 200 ? { $ref: '#/components/schemas/SuccessEnvelope' } : { $ref: '#/components/schemas/ErrorEnvelope' };
    responses[String(status)] = {
      description: lines.join('; '),
      content: { 'application/json': { schema: status === 200 ? { allOf: [schema, { properties: { data: success } }] } : schema } },
    };
  }
  return responses;
}

const WRITE_CODES = [
  'SUCCESS', 'MALFORMED_JSON', 'INVALID_FIELD', 'INVALID_AMOUNT', 'BONUS_NOT_SUPPORTED', 'UNKNOWN_CURRENCY',
  'IDEMPOTENCY_CONFLICT', 'RESULT_UNKNOWN', 'UNAUTHORIZED', 'USER_WALLET_NOT_FOUND', 'DB_EXCEPTION',
] as const satisfies readonly (keyof typeof EXT_ORDER_CODES)[];

export function extOrdersOpenApi(): Schema {
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
        put: { operationId: 'createOrder', summary: 'Hold a stake', requestBody: body(requestSchema(createFields, 'create')), responses: extResponses([...WRITE_CODES, 'INSUFFICIENT_BALANCE'], { type: 'null' }) },
      },
      [`${base}/cancel`]: {
        put: {
          operationId: 'cancelOrder',
          summary: 'Release a stake',
          requestBody: body(requestSchema(cancelFields, 'cancel')),
          responses: extResponses([...WRITE_CODES, 'ORDER_NOT_FOUND', 'HOLD_EXCEEDED', 'INSUFFICIENT_BALANCE'], { type: 'null' }),
        },
      },
      [`${base}/settlement`]: {
        post: {
          operationId: 'settleOrders',
          summary: 'Settle profit or loss of several orders',
          requestBody: body(requestSchema(settleFields, 'settlement')),
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
          responses: extResponses(['SUCCESS', 'UNAUTHORIZED', 'DB_EXCEPTION'], { oneOf: [orderCase, settleCase, { type: 'null' }] }),
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

export function seamlessOpenApi(): Schema {
  const base = `/${SEAMLESS_BASE}`;
  const amount = { type: 'string', pattern: '^[0-9]{1,14}(\\.[0-9]{1,8})?$' };
  const hash = { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'Hex HMAC-SHA256 of the canonical JSON of the body without hash, keyed by the wallet secret (docs/api/seamless-wallet.md).' };
  const common = { token: { type: 'string' }, amount, currency: { type: 'string' }, hash };
  const trade = { ...common, externalTradeType: { type: 'string', minLength: 1, maxLength: 128 }, externalTradeId: { type: 'string', minLength: 1, maxLength: 128 } };
  const errorCodes = Object.keys(SEAMLESS_ERRORS);
  const responses = (codes: readonly (keyof typeof SEAMLESS_ERRORS)[]) => {
    const out: Record<string, Schema> = { '200': { description: 'The balance after the action.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Balance' } } } } };
    const byStatus = new Map<number, string[]>();
    for (const c of codes) byStatus.set(SEAMLESS_ERRORS[c].http, [...(byStatus.get(SEAMLESS_ERRORS[c].http) ?? []), c]);
    for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      out[String(status)] = { description: list.join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    return out;
  };
  const walletCodes = ['INVALID_REQUEST', 'INVALID_TOKEN', 'INVALID_HASH', 'TOKEN_EXPIRED', 'WALLET_NOT_FOUND', 'RESULT_UNKNOWN', 'INTERNAL_ERROR'] as const;
  const body = (properties: Schema, required: string[]) => ({ required: true, content: { 'application/json': { schema: { type: 'object', required, properties } } } });
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
          requestBody: body({ username: { type: 'string' }, currency: { type: 'string' }, ttlSeconds: { type: 'integer', minimum: 1, maximum: 86400 } }, ['username', 'currency']),
          responses: {
            '201': { description: 'Minted.', content: { 'application/json': { schema: { type: 'object', properties: { token: { type: 'string' }, expiresAt: { type: 'string' }, username: { type: 'string' }, currency: { type: 'string' } } } } } },
            '400': { description: 'INVALID_REQUEST', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
            '401': { description: 'INVALID_TOKEN', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          },
        },
      },
      [`${base}/getbalance`]: { post: { operationId: 'getBalance', requestBody: body(common, ['token', 'currency', 'hash']), responses: responses(walletCodes) } },
      [`${base}/opentrade`]: {
        post: { operationId: 'openTrade', requestBody: body(trade, ['token', 'amount', 'currency', 'externalTradeType', 'externalTradeId', 'hash']), responses: responses([...walletCodes, 'INSUFFICIENT_FUNDS', 'DUPLICATE_TRADE']) },
      },
      [`${base}/closetrade`]: {
        post: {
          operationId: 'closeTrade',
          requestBody: body({ ...trade, data: { type: 'object', description: 'More data about the trade; stored with it.' } }, ['token', 'amount', 'currency', 'externalTradeType', 'externalTradeId', 'hash']),
          responses: responses([...walletCodes, 'UNKNOWN_TRADE', 'TRADE_ALREADY_CLOSED', 'DUPLICATE_TRADE']),
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Balance: { type: 'object', required: ['balance', 'currency', 'status'], properties: { balance: { type: 'string' }, currency: { type: 'string' }, status: { const: 'Ok' } } },
        Error: { type: 'object', required: ['status', 'code', 'message'], properties: { status: { const: 'Error' }, code: { enum: errorCodes }, message: { type: 'string' } } },
      },
    },
  };
}
