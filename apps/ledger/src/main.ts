import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { EdgeExceptionFilter, RouteTable, edgeFrameworkErrors, sendPlainFailure } from '@settlement/http';
import { assertPortFree } from '@settlement/messaging';
import { stopTelemetry } from '@settlement/telemetry';
import { LedgerModule } from './ledger.module';
import { ledgerConfigFromEnv } from './ledger.config';

async function bootstrap(): Promise<void> {
  const config = ledgerConfigFromEnv();
  // Before the consumers join under the instance id this address names (see ledger.config.ts).
  await assertPortFree(config.port, config.host);
  // Unknown routes, wrong methods and routing errors in the query API's shape ({"error": CODE, ...}), not Nest's.
  const adapter = new FastifyAdapter({ routerOptions: { maxParamLength: config.queryParamLengthMax }, frameworkErrors: edgeFrameworkErrors(sendPlainFailure) });
  const routes = new RouteTable();
  routes.collectFrom(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(LedgerModule, adapter, { bufferLogs: false });
  app.useGlobalFilters(new EdgeExceptionFilter(routes));
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
