/** Why a value is not an acceptable identifier. */
export type IdentifierProblem = 'must be a non-empty string' | 'is too long' | 'has control characters' | 'has a lone surrogate';

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Identifiers end up in idempotency keys, Postgres text columns, btree
 * indexes and logs: control characters (NUL is not even storable in Postgres
 * text) and lone surrogates (which UTF-8 cannot carry, so two different ids
 * would collapse into one key) are refused, and so is anything longer than
 * `maxCodePoints` Unicode code points (as JSON Schema's maxLength counts).
 * At most 4 bytes each in UTF-8, so 512 code points stay well inside the
 * 2,704 bytes a btree index entry may hold.
 */
export function identifierProblem(value: unknown, maxCodePoints: number): IdentifierProblem | null {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (value.length > 2 * maxCodePoints) return 'is too long';
  if (LONE_SURROGATE.test(value)) return 'has a lone surrogate';
  let codePoints = 0;
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (code < 0x20 || code === 0x7f) return 'has control characters';
    codePoints++;
  }
  return codePoints > maxCodePoints ? 'is too long' : null;
}
