import { LEDGER_COMMAND_TYPES, LEDGER_REJECTIONS } from '@settlement/contracts';
import { TRANSACTION_TYPES } from '../book/transaction-types';
import { queryPathParameterLengthMax } from '../ledger.config';
import { instantPattern, pageSizeDefault, pageSizeMax } from './posting-filter';

/**
 * The OpenAPI document of the ledger's query API (LedgerQueriesController),
 * built from the constants the controller checks with (page sizes,
 * transaction and command types, rejection reasons). The ledger serves it at
 * `GET /openapi/ledger-queries.json`; docs/api/ledger-queries.openapi.json is
 * this document checked in (a unit test fails when the two drift apart), and
 * the end-to-end tests check every answer they get from the API against it.
 */

type Schema = Record<string, unknown>;

/** An amount as the ledger stores it: NUMERIC(22,8) as text, always 8 decimals. */
const storedAmount = (description: string, signed: boolean): Schema => ({
  type: 'string',
  pattern: `^${signed ? '-?' : ''}[0-9]{1,14}\\.[0-9]{8}$`,
  description,
  examples: [signed ? '-10.00000000' : '90.00000000'],
});
const decimalId = (description: string): Schema => ({ type: 'string', pattern: '^[1-9][0-9]{0,18}$', description });
const instant: Schema = { type: 'string', format: 'date-time', description: 'ISO 8601, UTC.' };
const json = (schema: Schema) => ({ 'application/json': { schema } });
const problem = (errors: readonly string[], withField: boolean): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: withField ? ['error', 'field'] : ['error'],
  properties: { error: { enum: [...errors] }, ...(withField ? { field: { type: 'string', description: 'The query parameter at fault.' } } : {}) },
});

const walletParameters = [
  { name: 'merchantId', in: 'path', required: true, schema: { type: 'string', minLength: 1 } },
  { name: 'username', in: 'path', required: true, schema: { type: 'string', minLength: 1 } },
  { name: 'currency', in: 'path', required: true, schema: { type: 'string', minLength: 1 }, example: 'USDT' },
];

const page = (item: Schema): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', maxItems: pageSizeMax, items: item },
    nextCursor: { oneOf: [decimalId('Pass as `cursor` for the next page.'), { type: 'null', description: 'The last page.' }] },
  },
});

/** A history's `from` or `to`: an RFC 3339 date-time, in the form the filter takes (posting-filter.ts). */
const instantFilter: Schema = { type: 'string', format: 'date-time', pattern: instantPattern };
const instantRules = 'Needs a zone: Z or an offset up to ±15:59 (Postgres\'s limit); at most six fraction digits; years 0001-9999.';

const walletNotFound: Schema = { description: 'The ledger has never seen this wallet.', content: json({ $ref: '#/components/schemas/WalletNotFound' }) };

/**
 * A wallet history's GET (posting-filter.ts): its query parameters, a page of
 * `item`s, and its refusals. `account` only where an item is one account's
 * (a posting); an operation spans both, so there it is refused.
 */
function historyOperation(operationId: string, summary: string, item: 'Posting' | 'Operation'): Schema {
  const withAccount = item === 'Posting';
  const parameters = [
    { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: pageSizeMax, default: pageSizeDefault }, description: 'Items per page.' },
    { name: 'cursor', in: 'query', schema: decimalId('The previous page\'s nextCursor.') },
    { name: 'type', in: 'query', schema: { enum: [...TRANSACTION_TYPES] }, description: 'Only transactions of this type.' },
    ...(withAccount ? [{ name: 'account', in: 'query', schema: { enum: ['available', 'held'] }, description: 'Only this account\'s postings.' }] : []),
    { name: 'from', in: 'query', schema: instantFilter, description: `Inclusive. ${instantRules}` },
    { name: 'to', in: 'query', schema: instantFilter, description: `Exclusive. ${instantRules}` },
  ];
  const badQuery = {
    description: `A malformed or repeated query parameter${withAccount ? '' : ', or `account` (an operation spans both accounts)'}: INVALID_LIMIT, INVALID_CURSOR or INVALID_FILTER, with the field.`,
    content: json({ $ref: '#/components/schemas/BadQuery' }),
  };
  return {
    get: {
      operationId,
      summary,
      parameters: [...walletParameters, ...parameters],
      responses: { '200': { description: `A page of ${item.toLowerCase()}s.`, content: json(page({ $ref: `#/components/schemas/${item}` })) }, '400': badQuery, '404': walletNotFound },
    },
  };
}

const balances: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['currency', 'available', 'held'],
  properties: { currency: { type: 'string' }, available: storedAmount('Available balance.', false), held: storedAmount('Held balance.', false) },
};

export function ledgerQueriesOpenApi(): Schema {
  const walletPath = '/wallets/{merchantId}/{username}/{currency}';
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ledger queries',
      version: '1.0.0',
      description:
        'The ledger\'s internal read API, for the gateway and operators (README, "Using it"). Amounts are NUMERIC(22,8) as text. ' +
        'Histories are newest first and paged by cursor; a page of operations never splits one. ' +
        'Outside the operations below, refusals come as {"error", "message"}: an unknown path 404 NOT_FOUND, another method ' +
        `405 METHOD_NOT_ALLOWED with Allow, a path parameter over ${queryPathParameterLengthMax.toLocaleString('en-US')} characters percent-encoded 414 URI_TOO_LONG, ` +
        'a malformed URL 400 BAD_REQUEST.',
    },
    servers: [{ url: 'http://127.0.0.1:3001' }],
    paths: {
      [walletPath]: {
        get: {
          operationId: 'getWallet',
          summary: 'Available and held balances of one wallet',
          parameters: walletParameters,
          responses: { '200': { description: 'The balances.', content: json({ $ref: '#/components/schemas/Wallet' }) }, '404': walletNotFound },
        },
      },
      [`${walletPath}/postings`]: historyOperation('listPostings', 'The wallet\'s postings, newest first', 'Posting'),
      [`${walletPath}/operations`]: historyOperation('listOperations', 'The wallet\'s operations (one per transaction), newest first', 'Operation'),
      '/commands/{commandId}': {
        get: {
          operationId: 'getCommand',
          summary: 'The stored result of a command, by its id (the idempotency key)',
          parameters: [{ name: 'commandId', in: 'path', required: true, schema: { type: 'string', minLength: 1 }, example: 'ext-orders:m1:req-1' }],
          responses: {
            '200': { description: 'The command as received and its result as first emitted.', content: json({ $ref: '#/components/schemas/StoredCommand' }) },
            '404': { description: 'No command with this id was applied.', content: json(problem(['COMMAND_NOT_FOUND'], false)) },
          },
        },
      },
    },
    components: {
      schemas: {
        Wallet: {
          type: 'object',
          additionalProperties: false,
          required: ['merchantId', 'username', 'currency', 'available', 'held'],
          properties: {
            merchantId: { type: 'string' },
            username: { type: 'string' },
            currency: { type: 'string' },
            available: storedAmount('Available balance.', false),
            held: storedAmount('Held balance.', false),
          },
        },
        Posting: {
          type: 'object',
          additionalProperties: false,
          required: ['postingId', 'transactionRef', 'type', 'commandId', 'account', 'amount', 'createdAt'],
          properties: {
            postingId: decimalId('Increases with every posting; the cursor.'),
            transactionRef: decimalId('The transaction the posting belongs to.'),
            type: { enum: [...TRANSACTION_TYPES] },
            commandId: { type: 'string', description: 'The command that made the transaction.' },
            account: { enum: ['available', 'held'] },
            amount: storedAmount('Signed: positive credits the account.', true),
            createdAt: instant,
          },
        },
        Operation: {
          type: 'object',
          additionalProperties: false,
          required: ['transactionRef', 'type', 'commandId', 'commandType', 'available', 'held', 'balancesAfter', 'createdAt'],
          properties: {
            transactionRef: decimalId('The transaction.'),
            type: { enum: [...TRANSACTION_TYPES] },
            commandId: { type: 'string' },
            commandType: { enum: [...LEDGER_COMMAND_TYPES, null] },
            available: storedAmount('Net change of the available balance.', true),
            held: storedAmount('Net change of the held balance.', true),
            balancesAfter: {
              oneOf: [{ $ref: '#/components/schemas/Balances' }, { type: 'null', description: 'The transaction was made by another wallet\'s command.' }],
            },
            createdAt: instant,
          },
        },
        Balances: balances,
        StoredCommand: {
          type: 'object',
          additionalProperties: false,
          required: ['commandType', 'appliedAt', 'command', 'result'],
          properties: {
            commandType: { enum: [...LEDGER_COMMAND_TYPES] },
            appliedAt: instant,
            command: {
              type: 'object',
              required: ['commandId', 'requestHash'],
              properties: { commandId: { type: 'string' }, requestHash: { type: 'string' } },
              description: 'The command\'s payload as received (docs/events).',
            },
            result: {
              type: 'object',
              additionalProperties: false,
              required: ['commandId', 'commandType', 'requestHash', 'status'],
              properties: {
                commandId: { type: 'string' },
                commandType: { enum: [...LEDGER_COMMAND_TYPES] },
                requestHash: { type: 'string' },
                status: { enum: ['ACCEPTED', 'REJECTED'] },
                reason: { enum: Object.values(LEDGER_REJECTIONS) },
                balances: { $ref: '#/components/schemas/Balances' },
                transactionRef: decimalId('Set when ACCEPTED.'),
              },
            },
          },
        },
        WalletNotFound: problem(['WALLET_NOT_FOUND'], false),
        BadQuery: problem(['INVALID_LIMIT', 'INVALID_CURSOR', 'INVALID_FILTER'], true),
      },
    },
  };
}
