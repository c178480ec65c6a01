import type { NodeSDK } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

/**
 * Starts OpenTelemetry for one service. Must run before NestJS, Fastify, pg
 * and kafkajs are loaded, so each app imports its `instrumentation.ts` first.
 *
 * Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-specific
 * variable) is set: every request is traced across the services and exported
 * over OTLP/HTTP. Without an exporter nothing is installed or even loaded:
 * the instrumentations with a sampler that dropped every span still wrapped
 * every HTTP request, query, Kafka message and promise (async hooks), and the
 * SDK recorded metrics for an OTLP endpoint that was not there. Profiling
 * measured that at about a sixth of the gateway's CPU and a tenth of the
 * ledger's. With tracing off no trace context is carried either: a caller's
 * `traceparent` is not copied into events.
 */
export function startTelemetry(serviceName: string): void {
  if (sdk !== undefined) return;
  if (!tracingEnabled()) return;
  // Loaded here, not imported at the top: without an exporter the SDK's packages stay unloaded.
  const { startTracingSdk } = require('./tracing-sdk') as typeof import('./tracing-sdk');
  sdk = startTracingSdk(serviceName);
}

/** Whether an OTLP trace endpoint is configured. */
function tracingEnabled(): boolean {
  const endpoint = process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  return endpoint !== undefined && endpoint !== '';
}

/** Flushes and stops the SDK; call on shutdown so the last spans are exported. */
export async function stopTelemetry(): Promise<void> {
  if (sdk === undefined) return;
  const current = sdk;
  sdk = undefined;
  await current.shutdown();
}
