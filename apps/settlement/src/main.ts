import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { edgeAdapter } from '@settlement/http';
import { assertPortFree } from '@settlement/messaging';
import { stopTelemetry } from '@settlement/telemetry';
import { SettlementModule } from './settlement.module';
import { settlementConfigFromEnv } from './settlement.config';

async function bootstrap(): Promise<void> {
  const config = settlementConfigFromEnv();
  // Before the consumers join under the instance id this address names (see settlement.config.ts).
  await assertPortFree(config.port, config.host);
  // Unknown routes, wrong methods and routing errors as {"error": CODE, "message": ...}, not in Nest's shape.
  const { adapter, filter } = edgeAdapter();
  const app = await NestFactory.create<NestFastifyApplication>(SettlementModule, adapter);
  app.useGlobalFilters(filter);
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
