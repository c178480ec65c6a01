import type { Provider } from '@nestjs/common';
import { ALL_TOPICS } from '@settlement/contracts';
import { createKafka, ensureTopics, kafkaSettingsFromEnv } from '@settlement/messaging';

/** DI token of the gateway's kafkajs client. */
export const KAFKA = Symbol('GATEWAY_KAFKA');

export const kafkaProvider: Provider = {
  provide: KAFKA,
  useFactory: async () => {
    const kafka = createKafka(kafkaSettingsFromEnv('gateway'));
    await ensureTopics(kafka, ALL_TOPICS);
    return kafka;
  },
};
