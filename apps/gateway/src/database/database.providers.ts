import type { Provider } from '@nestjs/common';
import { databaseUrlsFromEnv, openServiceDataSource } from '@settlement/messaging';
import { GATEWAY_SCHEMA } from '../gateway.config';
import { CreateGateway1732200000001 } from './migrations/1732200000001-create-gateway';
import { SeamlessWallet1732200000003 } from './migrations/1732200000003-seamless-wallet';
import { RuntimeRole1732200000009 } from './migrations/1732200000009-runtime-role';

/** DI token of the gateway's TypeORM data source. */
export const DATA_SOURCE = Symbol('GATEWAY_DATA_SOURCE');
/** DI token of the gateway's configuration. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export const gatewayMigrations = [CreateGateway1732200000001, SeamlessWallet1732200000003, RuntimeRole1732200000009];

export const dataSourceProvider: Provider = {
  provide: DATA_SOURCE,
  useFactory: async () => {
    return openServiceDataSource({ service: 'gateway', ...databaseUrlsFromEnv(), schema: GATEWAY_SCHEMA, migrations: gatewayMigrations });
  },
};
