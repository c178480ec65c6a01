import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Consumer } from 'kafkajs';
import { startBatchConsumer } from '@settlement/messaging';
import { LEDGER_CONFIG } from '../database/database.providers';
import type { LedgerConfig } from '../ledger.config';
import { KAFKA } from '../messaging.providers';
import type { Kafka } from 'kafkajs';
import { CommandBatchApplier } from './command-batch.applier';

/** Consumes `ledger.commands.v1` and hands each partition batch to the applier. */
@Injectable()
export class CommandConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CommandConsumer.name);
  private consumer: Consumer | undefined;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly applier: CommandBatchApplier,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Every pooled connection ready before the first batch can arrive.
    await this.applier.warmUp(this.config.poolSize);
    this.consumer = await startBatchConsumer(
      this.kafka,
      this.config.consumer,
      (records) => this.applier.apply(records),
      (m) => this.logger.warn(m),
      (m) => this.logger.log(m),
    );
    this.consumer.on(this.consumer.events.CRASH, (e) => this.logger.error(`consumer crashed: ${String(e.payload.error)}`));
    this.logger.log(`consuming ${this.config.consumer.topics.join(', ')} as group ${this.config.consumer.groupId}, instance ${this.config.consumer.groupInstanceId}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
