import { hostname } from 'node:os';
import { TOPICS } from '@settlement/contracts';
import { memberLivenessDefault, type BatchConsumerSettings } from '@settlement/messaging';

/** The Postgres schema the gateway owns (merchants, credentials, tokens). */
export const GATEWAY_SCHEMA = 'gateway';

/** Every limit of the gateway, in one place. */
export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
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
  /** Lifetime of an OAuth access token. */
  readonly accessTokenTtlSeconds: number;
  /** Currencies wallets may hold. */
  readonly currencies: readonly string[];
  /** Largest request body accepted, in bytes; every seed body is far below 4 KiB. */
  readonly bodyLimitBytes: number;
  readonly resultsConsumer: BatchConsumerSettings;
}

export function gatewayConfigFromEnv(): GatewayConfig {
  const port = Number(process.env['PORT'] ?? 3000);
  const instanceId = process.env['GATEWAY_INSTANCE_ID'] ?? `${hostname()}-${port}`;
  return {
    port,
    host: process.env['HOST'] ?? '127.0.0.1',
    adminToken: process.env['ADMIN_TOKEN'] ?? 'dev-admin-token',
    resultWaitMs: Number(process.env['RESULT_WAIT_MS'] ?? 5000),
    ledgerUrl: process.env['LEDGER_URL'] ?? 'http://127.0.0.1:3001',
    ledgerQueryTimeoutMs: 2000,
    walletTokenTtlSecondsDefault: 3600,
    walletTokenTtlSecondsMax: 24 * 3600,
    // The default is for development only; deployments set SECRETS_KEY (docker-compose.yml does).
    secretsKeyHex: process.env['SECRETS_KEY'] ?? '6465762d6f6e6c792d6b65792d646f2d6e6f742d7573652d696e2d70726f6421',
    pendingResultsMax: 20000,
    accessTokenTtlSeconds: 3600,
    currencies: (process.env['CURRENCIES'] ?? 'USDT,USDC,BTC,ETH,USD').split(','),
    bodyLimitBytes: 64 * 1024,
    resultsConsumer: {
      // Each instance reads every result and answers the requests it holds, so each needs its own group.
      groupId: `gateway-${instanceId}`,
      topics: [TOPICS.ledgerResults.name],
      maxWaitTimeMs: 10,
      maxBytesPerPartition: 1024 * 1024,
      // A new instance only cares about results of requests it will send.
      fromBeginning: false,
      partitionsConsumedConcurrently: 6,
      ...memberLivenessDefault,
    },
  };
}
