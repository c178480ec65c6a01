import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { FastifyOtelInstrumentation } from '@fastify/otel';

/** How often finished spans are flushed to the exporter; short so a trace shows up quickly. */
const exportDelayMsDefault = 1000;

/**
 * Longest attribute value kept on a span. The ledger inlines a batch's values
 * into its SQL (one round trip per batch for reads, one for writes and
 * COMMIT), so a statement recorded whole would put every amount and envelope
 * of a batch, hundreds of kilobytes, into one span.
 */
const attributeValueLengthMaxDefault = 2048;

/**
 * The OpenTelemetry SDK of a service that exports traces over OTLP/HTTP (the
 * endpoint comes from the standard OTEL_EXPORTER_OTLP_* variables). Loaded
 * only when tracing is on (see startTelemetry), so a service without an
 * exporter does not even load these packages.
 */
export function startTracingSdk(serviceName: string): NodeSDK {
  const scheduledDelayMillis = Number(process.env['OTEL_BSP_SCHEDULE_DELAY'] ?? exportDelayMsDefault);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis })],
    // A caller's sampling decision is kept (parent-based); requests without one are all traced.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanLimits: { attributeValueLengthLimit: Number(process.env['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'] ?? attributeValueLengthMaxDefault) },
    // Only what the services use, constructed directly: the auto-instrumentations
    // bundle loads some forty packages (tens of MB per process) to hook libraries
    // these services never load.
    instrumentations: [
      new HttpInstrumentation(),
      new PgInstrumentation(),
      new KafkaJsInstrumentation(),
      new NestInstrumentation(),
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
    ],
  });
  sdk.start();
  return sdk;
}
