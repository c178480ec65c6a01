import { identifierProblem as identifierProblemUpTo, type IdentifierProblem } from '@settlement/contracts';

export type { IdentifierProblem };

/**
 * Longest identifier accepted (extRequestId, username, extRefId,
 * externalTradeId, ...), counted in Unicode code points as JSON Schema's
 * maxLength counts, so the OpenAPI documents and the code agree.
 */
export const IDENTIFIER_LENGTH_MAX = 128;

/** Why a request's identifier is not acceptable at the edge (see the contracts' identifierProblem). */
export function identifierProblem(value: unknown): IdentifierProblem | null {
  return identifierProblemUpTo(value, IDENTIFIER_LENGTH_MAX);
}
