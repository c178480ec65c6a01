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
  // A code point is one or two UTF-16 units: past twice the limit it is too long whatever it holds.
  if (value.length > 2 * maxCodePoints) return 'is too long';
  if (LONE_SURROGATE.test(value)) return 'has a lone surrogate';
  if (CONTROL.test(value)) return 'has control characters';
  // Counted only when the units alone exceed the limit (the ledger checks several ids per command).
  return value.length > maxCodePoints && codePoints(value) > maxCodePoints ? 'is too long' : null;
}

// C0 controls and DEL: what the refusal is about.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function codePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate here is followed by its low one (lone surrogates were refused): one code point for both.
    if (unit >= 0xd800 && unit <= 0xdbff) i++;
    count++;
  }
  return count;
}
