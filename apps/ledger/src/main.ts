import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { edgeAdapter } from '@settlement/http';
import { assertPortFree } from '@settlement/messaging';
import { stopTelemetry } from '@settlement/telemetry';
import { LedgerModule } from './ledger.module';
import { ledgerConfigFromEnv } from './ledger.config';

async function bootstrap(): Promise<void> {
  const config = ledgerConfigFromEnv();
  // Before the consumers join under the instance id this address names (see ledger.config.ts).
  await assertPortFree(config.port, config.host);
  // Unknown routes, wrong methods and routing errors in the query API's shape ({"error": CODE, ...}), not Nest's.
  const { adapter, filter } = edgeAdapter({ routerOptions: { maxParamLength: config.queryParamLengthMax } });
  const app = await NestFactory.create<NestFastifyApplication>(LedgerModule, adapter, { bufferLogs: false });
  app.useGlobalFilters(filter);
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
