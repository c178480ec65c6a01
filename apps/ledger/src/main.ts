import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { stopTelemetry } from '@settlement/telemetry';
import { LedgerModule } from './ledger.module';
import { ledgerConfigFromEnv } from './ledger.config';

async function bootstrap(): Promise<void> {
  const config = ledgerConfigFromEnv();
  const app = await NestFactory.create<NestFastifyApplication>(LedgerModule, new FastifyAdapter({ routerOptions: { maxParamLength: config.queryParamLengthMax } }), { bufferLogs: false });
  app.enableShutdownHooks();
  await app.listen(config.port, process.env['HOST'] ?? '127.0.0.1');
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
