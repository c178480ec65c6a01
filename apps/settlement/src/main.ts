import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { assertPortFree } from '@settlement/messaging';
import { stopTelemetry } from '@settlement/telemetry';
import { SettlementModule } from './settlement.module';
import { settlementConfigFromEnv } from './settlement.config';

async function bootstrap(): Promise<void> {
  const config = settlementConfigFromEnv();
  // Before the consumers join under the instance id this address names (see settlement.config.ts).
  await assertPortFree(config.port, config.host);
  const app = await NestFactory.create<NestFastifyApplication>(SettlementModule, new FastifyAdapter());
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
