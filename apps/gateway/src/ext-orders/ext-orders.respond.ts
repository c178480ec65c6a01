import type { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { CommandResultV1 } from '@settlement/contracts';
import type { CommandOutcome } from '../ledger-client/ledger.client';
import { EXT_ORDER_CODES, ExtOrderError, REJECTION_CODES, envelope } from './ext-orders.codes';

/** Answers a ledger outcome in the seed's envelope; `data` builds the success payload. */
export async function sendOutcome(reply: FastifyReply, outcome: CommandOutcome, data: (result: CommandResultV1) => unknown): Promise<void> {
  if (outcome.kind === 'unknown') {
    await reply.status(EXT_ORDER_CODES.RESULT_UNKNOWN.status).send(envelope(EXT_ORDER_CODES.RESULT_UNKNOWN, null, outcome.why));
    return;
  }
  const result = outcome.result;
  if (result.status === 'ACCEPTED') {
    await reply.status(200).send(envelope(EXT_ORDER_CODES.SUCCESS, data(result)));
    return;
  }
  const answer = REJECTION_CODES[result.reason ?? 'INVALID_COMMAND'];
  await reply.status(answer.status).send(envelope(answer));
}

/** Maps anything thrown in an ext-orders handler to the seed's envelope; unexpected errors are the seed's DB Exception. */
export async function sendError(reply: FastifyReply, error: unknown, logger: Logger): Promise<void> {
  if (error instanceof ExtOrderError) {
    if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
    await reply.status(error.answer.status).send(envelope(error.answer, null, error.detail));
    return;
  }
  logger.error(`unexpected error: ${(error as Error).stack ?? String(error)}`);
  await reply.status(EXT_ORDER_CODES.DB_EXCEPTION.status).send(envelope(EXT_ORDER_CODES.DB_EXCEPTION));
}
