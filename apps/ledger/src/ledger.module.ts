import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { OutboxRelay } from '@settlement/messaging';
import { CommandBatchApplier } from './commands/command-batch.applier';
import { CommandConsumer } from './commands/command.consumer';
import { DATA_SOURCE, LEDGER_CONFIG, dataSourceProvider } from './database/database.providers';
import { HealthController } from './health/health.controller';
import { LedgerOpenApiController } from './queries/ledger-openapi.controller';
import { LedgerQueriesController } from './queries/ledger-queries.controller';
import { ledgerConfigFromEnv } from './ledger.config';
import { kafkaProvider, outboxRelayProvider } from './messaging.providers';

@Module({
  controllers: [HealthController, LedgerQueriesController, LedgerOpenApiController],
  providers: [
    { provide: LEDGER_CONFIG, useFactory: ledgerConfigFromEnv },
    dataSourceProvider,
    kafkaProvider,
    outboxRelayProvider,
    CommandBatchApplier,
    CommandConsumer,
  ],
})
export class LedgerModule implements OnApplicationShutdown {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
  ) {}

  /** Stops in dependency order: the consumer (its own hook) first, then the relay, then the pool. */
  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.dataSource.destroy();
  }
}
