import { Inject, Injectable } from '@nestjs/common';
import type { CommandResultV1, LedgerCommandType } from '@settlement/contracts';
import { GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';

/** A command as the ledger stored it, with its first result. */
export interface StoredCommand {
  readonly commandType: LedgerCommandType;
  readonly appliedAt: string;
  readonly command: Record<string, unknown>;
  readonly result: CommandResultV1;
}

/** Reads from the ledger's internal query API. */
@Injectable()
export class LedgerQueryClient {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  /** Available and held of a wallet, or null when it does not exist. */
  async wallet(merchantId: string, username: string, currency: string): Promise<{ available: string; held: string } | null> {
    return this.get(`/wallets/${enc(merchantId)}/${enc(username)}/${enc(currency)}`);
  }

  /** The stored command and result for an idempotency key, or null when the ledger never applied it. */
  async command(commandId: string): Promise<StoredCommand | null> {
    return this.get(`/commands/${enc(commandId)}`);
  }

  private async get<T>(path: string): Promise<T | null> {
    const response = await fetch(`${this.config.ledgerUrl}${path}`, { signal: AbortSignal.timeout(this.config.ledgerQueryTimeoutMs) });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`ledger query ${path} answered ${response.status}`);
    return (await response.json()) as T;
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}
