import { Logger, type Provider } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Kafka } from 'kafkajs';
import { ALL_TOPICS } from '@settlement/contracts';
import { createKafka, ensureTopics, kafkaSettingsFromEnv, OutboxRelay } from '@settlement/messaging';
import { DATA_SOURCE, LEDGER_CONFIG } from './database/database.providers';
import type { LedgerConfig } from './ledger.config';

/** DI token of the ledger's kafkajs client. */
export const KAFKA = Symbol('LEDGER_KAFKA');

export const kafkaProvider: Provider = {
  provide: KAFKA,
  useFactory: async () => {
    const kafka = createKafka(kafkaSettingsFromEnv('ledger'));
    await ensureTopics(kafka, ALL_TOPICS);
    return kafka;
  },
};

export const outboxRelayProvider: Provider = {
  provide: OutboxRelay,
  inject: [KAFKA, DATA_SOURCE, LEDGER_CONFIG],
  useFactory: async (kafka: Kafka, dataSource: DataSource, config: LedgerConfig) => {
    const logger = new Logger('OutboxRelay');
    const relay = new OutboxRelay(kafka, dataSource, config.relay, (m) => logger.warn(m));
    await relay.start();
    return relay;
  },
};
