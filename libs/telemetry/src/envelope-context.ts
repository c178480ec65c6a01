import { context, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';

/** W3C trace context fields as carried in an event envelope. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** The active W3C trace context, to store in an envelope or outbox row. */
export function currentTraceCarrier(ctx: Context = context.active()): TraceCarrier {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const result: TraceCarrier = {};
  if (carrier['traceparent'] !== undefined) result.traceparent = carrier['traceparent'];
  if (carrier['tracestate'] !== undefined) result.tracestate = carrier['tracestate'];
  return result;
}

/** The context an envelope was produced in, so work done for it joins the original trace. */
export function contextFromCarrier(carrier: TraceCarrier): Context {
  const headers: Record<string, string> = {};
  if (carrier.traceparent !== undefined) headers['traceparent'] = carrier.traceparent;
  if (carrier.tracestate !== undefined) headers['tracestate'] = carrier.tracestate;
  return propagation.extract(context.active(), headers);
}

const tracer = trace.getTracer('settlement-platform');

/**
 * Starts a consumer span for one envelope as a child of the context it was
 * produced in. Messages are handled in batches, so the ambient context of the
 * batch would put every message in one trace; this keeps each request whole.
 * The span is ended by the caller (after the batch commits).
 */
export function startEnvelopeSpan(name: string, carrier: TraceCarrier, attributes: Record<string, string> = {}): Span {
  return tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, contextFromCarrier(carrier));
}

/** Ends spans of a batch, marking them failed when the batch failed. */
export function endSpans(spans: readonly Span[], error?: unknown): void {
  for (const span of spans) {
    if (error !== undefined) {
      span.recordException(error instanceof Error ? error : new Error(String(error)));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/** Runs `fn` inside `span`'s context, so spans it starts (pg, kafkajs) are children of it. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * The carrier of a span, to write into the envelopes it causes. A span
 * without a valid context (every span while tracing is off) carries nothing,
 * which is what injecting it would give: answered without building a context
 * for it, which the ledger did for every result it wrote.
 */
export function carrierOfSpan(span: Span): TraceCarrier {
  if (!trace.isSpanContextValid(span.spanContext())) return {};
  return currentTraceCarrier(trace.setSpan(context.active(), span));
}
