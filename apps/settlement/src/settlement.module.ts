import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE, SETTLEMENT_CONFIG, dataSourceProvider } from './database/database.providers';
import { HealthController } from './health/health.controller';
import { RecordEventHandler } from './ledger-events/record-event/record-event.handler';
import { settlementConfigFromEnv } from './settlement.config';

@Module({
  controllers: [HealthController],
  providers: [{ provide: SETTLEMENT_CONFIG, useFactory: settlementConfigFromEnv }, dataSourceProvider, RecordEventHandler],
})
export class SettlementModule implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    await this.dataSource.destroy();
  }
}
