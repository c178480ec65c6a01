import type { Provider } from '@nestjs/common';
import { createServiceDataSource, databaseUrlFromEnv, migrate } from '@settlement/messaging';
import { GATEWAY_SCHEMA } from '../gateway.config';
import { CreateGateway1732200000001 } from './migrations/1732200000001-create-gateway';
import { SeamlessWallet1732200000003 } from './migrations/1732200000003-seamless-wallet';

/** DI token of the gateway's TypeORM data source. */
export const DATA_SOURCE = Symbol('GATEWAY_DATA_SOURCE');
/** DI token of the gateway's configuration. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export const dataSourceProvider: Provider = {
  provide: DATA_SOURCE,
  useFactory: async () => {
    const dataSource = createServiceDataSource({ service: 'gateway', url: databaseUrlFromEnv(), schema: GATEWAY_SCHEMA, migrations: [CreateGateway1732200000001, SeamlessWallet1732200000003] });
    await dataSource.initialize();
    await migrate(dataSource, GATEWAY_SCHEMA);
    return dataSource;
  },
};
