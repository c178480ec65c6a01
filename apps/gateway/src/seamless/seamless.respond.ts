import type { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { CommandOutcome } from '../ledger-client/ledger.client';
import { SEAMLESS_REJECTIONS, SeamlessError, balanceAnswer, sendSeamlessError } from './seamless.protocol';

/** Answers a ledger outcome: the balance after the action, or the dialect's error. */
export async function sendSeamlessOutcome(reply: FastifyReply, outcome: CommandOutcome, currency: string): Promise<void> {
  if (outcome.kind === 'unknown') return sendSeamlessError(reply, new SeamlessError('RESULT_UNKNOWN', outcome.why));
  const result = outcome.result;
  if (result.status === 'REJECTED') return sendSeamlessError(reply, new SeamlessError(SEAMLESS_REJECTIONS[result.reason ?? 'INVALID_COMMAND']));
  if (result.balances === undefined) throw new Error(`accepted ${result.commandId} without balances`);
  await reply.status(200).send(balanceAnswer(result.balances.available, currency));
}

export async function sendSeamlessFailure(reply: FastifyReply, error: unknown, logger: Logger): Promise<void> {
  if (error instanceof SeamlessError) return sendSeamlessError(reply, error);
  logger.error(`unexpected error: ${(error as Error).stack ?? String(error)}`);
  await sendSeamlessError(reply, new SeamlessError('INTERNAL_ERROR'));
}
