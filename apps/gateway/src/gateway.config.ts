import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { TOPICS } from '@settlement/contracts';
import { memberLivenessDefault, type BatchConsumerSettings } from '@settlement/messaging';
import type { RateLimit } from './http/rate-limiter';

/** The Postgres schema the gateway owns (merchants, credentials, tokens). */
export const GATEWAY_SCHEMA = 'gateway';

/** Every limit of the gateway, in one place. */
export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  /**
   * Connections the kernel queues before the gateway accepts them. Node's
   * default is 511: in a burst of new connections (a client's pool growing
   * while answers slow down) the rest of the SYNs were dropped and retried
   * after 1, 3, 7, 15, 31 s, which the system benchmark saw as 30-s answers
   * and resets. The kernel caps it at net.core.somaxconn (4096 here).
   */
  readonly listenBacklog: number;
  /** Bearer token of the admin endpoints (provisioning). */
  readonly adminToken: string;
  /** Base URL of the ledger's internal query API (balances, stored command results). */
  readonly ledgerUrl: string;
  /** Longest a ledger query may take before the gateway answers with an error. */
  readonly ledgerQueryTimeoutMs: number;
  /** Default and largest lifetime of a seamless-wallet access token. */
  readonly walletTokenTtlSecondsDefault: number;
  readonly walletTokenTtlSecondsMax: number;
  /** 32-byte key (hex) encrypting merchants' seamless-wallet secrets at rest. */
  readonly secretsKeyHex: string;
  /** How long an HTTP request waits for its ledger result before answering "unknown, retry". */
  readonly resultWaitMs: number;
  /** Requests waiting for a ledger result at once; past this new ones are refused rather than queued without bound. */
  readonly pendingResultsMax: number;
  /**
   * Shortest time between the starts of two produce requests of commands. Commands arriving in between go
   * together in the next request; a command after a quiet spell goes at once.
   */
  readonly commandSendIntervalMs: number;
  /** Lifetime of an OAuth access token. */
  readonly accessTokenTtlSeconds: number;
  /** Currencies wallets may hold. */
  readonly currencies: readonly string[];
  /** Largest request body accepted, in bytes; every seed body is far below 4 KiB. */
  readonly bodyLimitBytes: number;
  /** Longest path parameter accepted, in bytes as sent (percent-encoded); past it 414. */
  readonly pathParamLengthMax: number;
  /** Requests allowed per merchant (ext-orders, wallet-token minting, seamless callbacks). */
  readonly merchantRateLimit: RateLimit;
  /** Requests allowed per source IP to /oauth/token, and failed authentications per source IP. */
  readonly sourceIpRateLimit: RateLimit;
  /** Rate-limit buckets kept in memory per kind; the least recently used is forgotten past this. */
  readonly rateLimitKeysMax: number;
  readonly resultsConsumer: BatchConsumerSettings;
}

export function gatewayConfigFromEnv(): GatewayConfig {
  const port = Number(process.env['PORT'] ?? 3000);
  const instanceId = process.env['GATEWAY_INSTANCE_ID'] ?? `${hostname()}-${port}`;
  return {
    port,
    host: process.env['HOST'] ?? '127.0.0.1',
    listenBacklog: 4096,
    adminToken: process.env['ADMIN_TOKEN'] ?? 'dev-admin-token',
    resultWaitMs: Number(process.env['RESULT_WAIT_MS'] ?? 5000),
    ledgerUrl: process.env['LEDGER_URL'] ?? 'http://127.0.0.1:3001',
    ledgerQueryTimeoutMs: 2000,
    walletTokenTtlSecondsDefault: 3600,
    walletTokenTtlSecondsMax: 24 * 3600,
    // The default is for development only; deployments set SECRETS_KEY (docker-compose.yml does).
    secretsKeyHex: process.env['SECRETS_KEY'] ?? '6465762d6f6e6c792d6b65792d646f2d6e6f742d7573652d696e2d70726f6421',
    pendingResultsMax: 20000,
    commandSendIntervalMs: envNumber('COMMAND_SEND_INTERVAL_MS', 4),
    accessTokenTtlSeconds: 3600,
    currencies: (process.env['CURRENCIES'] ?? 'USDT,USDC,BTC,ETH,USD').split(','),
    bodyLimitBytes: 64 * 1024,
    // A 128-code-point extRequestId percent-encodes to at most 128 * 12 bytes (4-byte UTF-8, each byte %XX);
    // Fastify's default of 100 refused valid ids longer than 100 ASCII characters.
    pathParamLengthMax: 128 * 12,
    merchantRateLimit: {
      // Generous: a game engine's peak is bursts of bets; bench:intake offers 1,000 req/s from one merchant
      // and a 2-core gateway serves a few thousand, so the limit only stops a runaway client, not real load.
      perSecond: envNumber('RATE_LIMIT_MERCHANT_PER_SECOND', 5000),
      burst: envNumber('RATE_LIMIT_MERCHANT_BURST', 10000),
    },
    sourceIpRateLimit: {
      // /oauth/token runs scrypt (tens of ms of CPU) per attempt and a client needs a token an hour:
      // a few per second per address is plenty, and it bounds both CPU burnt and secrets guessed.
      perSecond: envNumber('RATE_LIMIT_IP_PER_SECOND', 20),
      burst: envNumber('RATE_LIMIT_IP_BURST', 100),
    },
    // 100,000 buckets are a few MB; an attacker rotating addresses only evicts idle buckets.
    rateLimitKeysMax: 100000,
    resultsConsumer: {
      // Each instance reads every result and answers the requests it holds, so each needs its own group; and
      // a new one at every start, since results from before the start have nobody waiting for them: the
      // group starts at the end of the topic (fromBeginning false) and never commits a position.
      groupId: `gateway-${instanceId}-${randomUUID()}`,
      topics: [TOPICS.ledgerResults.name],
      // A long poll: the broker answers as soon as a result arrives (minBytes 1), so this adds no latency;
      // a short wait only makes idle fetches (10 ms here cost ~100 empty fetch round trips a second per consumer).
      maxWaitTimeMs: 500,
      fetchMinBytes: 1,
      maxBytesPerPartition: 1024 * 1024,
      // A new instance only cares about results of requests it will send.
      fromBeginning: false,
      partitionsConsumedConcurrently: TOPICS.ledgerResults.partitions,
      // Delivering results is cheap and in memory: a whole fetch is one call and one offset commit.
      mergedRecordsMax: Number.MAX_SAFE_INTEGER,
      mergedGroupsConcurrently: 1,
      // Never committed: the group is new at every start (see groupId), so a position is never read back.
      offsetCommitIntervalMs: null,
      ...memberLivenessDefault,
    },
  };
}

/** A positive number from the environment, or the default; a typo fails the start rather than disabling a limit. */
function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}
