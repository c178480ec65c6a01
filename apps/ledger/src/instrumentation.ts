import { startTelemetry } from '@settlement/telemetry';

// Imported first by main.ts: instrumentation must patch http, fastify, pg and
// kafkajs before anything loads them.
startTelemetry('ledger');
