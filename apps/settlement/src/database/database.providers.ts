import type { Provider } from '@nestjs/common';
import { databaseUrlsFromEnv, openServiceDataSource } from '@settlement/messaging';
import { SETTLEMENT_SCHEMA } from '../settlement.config';
import { CreateSettlement1732200000002 } from './migrations/1732200000002-create-settlement';
import { ParkedReplays1732200000008 } from './migrations/1732200000008-parked-replays';
import { RuntimeRole1732200000009 } from './migrations/1732200000009-runtime-role';

/** DI token of the settlement service's TypeORM data source. */
export const DATA_SOURCE = Symbol('SETTLEMENT_DATA_SOURCE');
/** DI token of the settlement service's configuration. */
export const SETTLEMENT_CONFIG = Symbol('SETTLEMENT_CONFIG');

export const settlementMigrations = [CreateSettlement1732200000002, ParkedReplays1732200000008, RuntimeRole1732200000009];

export const dataSourceProvider: Provider = {
  provide: DATA_SOURCE,
  useFactory: async () => {
    return openServiceDataSource({ service: 'settlement', ...databaseUrlsFromEnv(), schema: SETTLEMENT_SCHEMA, migrations: settlementMigrations });
  },
};
