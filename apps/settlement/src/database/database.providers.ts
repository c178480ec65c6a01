import type { Provider } from '@nestjs/common';
import { createServiceDataSource, databaseUrlFromEnv, migrate } from '@settlement/messaging';
import { SETTLEMENT_SCHEMA } from '../settlement.config';
import { CreateSettlement1732200000002 } from './migrations/1732200000002-create-settlement';
import { ParkedReplays1732200000008 } from './migrations/1732200000008-parked-replays';

/** DI token of the settlement service's TypeORM data source. */
export const DATA_SOURCE = Symbol('SETTLEMENT_DATA_SOURCE');
/** DI token of the settlement service's configuration. */
export const SETTLEMENT_CONFIG = Symbol('SETTLEMENT_CONFIG');

export const dataSourceProvider: Provider = {
  provide: DATA_SOURCE,
  useFactory: async () => {
    const dataSource = createServiceDataSource({ service: 'settlement', url: databaseUrlFromEnv(), schema: SETTLEMENT_SCHEMA, migrations: [CreateSettlement1732200000002, ParkedReplays1732200000008] });
    await dataSource.initialize();
    await migrate(dataSource, SETTLEMENT_SCHEMA);
    return dataSource;
  },
};
