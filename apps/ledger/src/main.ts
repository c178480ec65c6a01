import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { assertPortFree } from '@settlement/messaging';
import { stopTelemetry } from '@settlement/telemetry';
import { LedgerModule } from './ledger.module';
import { ledgerConfigFromEnv } from './ledger.config';

async function bootstrap(): Promise<void> {
  const config = ledgerConfigFromEnv();
  // Before the consumers join under the instance id this address names (see ledger.config.ts).
  await assertPortFree(config.port, config.host);
  const app = await NestFactory.create<NestFastifyApplication>(LedgerModule, new FastifyAdapter({ routerOptions: { maxParamLength: config.queryParamLengthMax } }), { bufferLogs: false });
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
