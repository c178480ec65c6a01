import type { Provider } from '@nestjs/common';
import { databaseUrlsFromEnv, openServiceDataSource } from '@settlement/messaging';
import { LEDGER_SCHEMA, type LedgerConfig } from '../ledger.config';
import { CreateLedger1732200000000 } from './migrations/1732200000000-create-ledger';
import { HoldPools1732200000004 } from './migrations/1732200000004-hold-pools';
import { OutboxRepeats1732200000005 } from './migrations/1732200000005-outbox-repeats';
import { PostingsKey1732200000006 } from './migrations/1732200000006-postings-key';
import { ParkedReplays1732200000007 } from './migrations/1732200000007-parked-replays';
import { AppendOnlyBook1732200000008 } from './migrations/1732200000008-append-only-book';
import { RuntimeRole1732200000009 } from './migrations/1732200000009-runtime-role';
import { AppendOnlyAlways1732200000010 } from './migrations/1732200000010-append-only-always';

/** DI token of the ledger's TypeORM data source. */
export const DATA_SOURCE = Symbol('LEDGER_DATA_SOURCE');
/** DI token of the ledger's configuration. */
export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export const ledgerMigrations = [
  CreateLedger1732200000000,
  HoldPools1732200000004,
  OutboxRepeats1732200000005,
  PostingsKey1732200000006,
  ParkedReplays1732200000007,
  AppendOnlyBook1732200000008,
  RuntimeRole1732200000009,
  AppendOnlyAlways1732200000010,
];

export const dataSourceProvider: Provider = {
  provide: DATA_SOURCE,
  inject: [LEDGER_CONFIG],
  useFactory: async (config: LedgerConfig) => {
    return openServiceDataSource({ service: 'ledger', ...databaseUrlsFromEnv(), schema: LEDGER_SCHEMA, migrations: ledgerMigrations, poolSize: config.poolSize });
  },
};
