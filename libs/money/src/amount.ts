import DecimalJs from 'decimal.js';

/**
 * Decimal with enough precision for every value NUMERIC(22,8) can hold and
 * for the intermediate sums of a batch. decimal.js defaults to 20
 * significant digits, which silently rounds 99999999999999.99999999.
 */
export const Decimal = DecimalJs.clone({ precision: 64, rounding: DecimalJs.ROUND_HALF_EVEN, toExpNeg: -30, toExpPos: 40 });
export type Decimal = InstanceType<typeof Decimal>;

/** Decimal places every amount is stored with (NUMERIC(22,8)). */
export const AMOUNT_SCALE = 8;
/** Total digits an amount may have (NUMERIC(22,8)). */
export const AMOUNT_PRECISION = 22;
/** Integer digits an amount may have: precision minus scale. */
export const AMOUNT_INTEGER_DIGITS_MAX = AMOUNT_PRECISION - AMOUNT_SCALE;
/** The first magnitude past NUMERIC(22,8): 10^14 (its largest value is 99999999999999.99999999). */
const AMOUNT_LIMIT = new Decimal(10).pow(AMOUNT_INTEGER_DIGITS_MAX);

/** Whether a value fits NUMERIC(22,8) as it is, without rounding: at most 8 decimals and 14 integer digits, either sign. */
export function fitsAmountColumn(value: Decimal): boolean {
  return value.isFinite() && value.decimalPlaces() <= AMOUNT_SCALE && value.abs().lessThan(AMOUNT_LIMIT);
}

/** Why a string is not an acceptable amount; stable codes the protocols map to wire errors. */
export type AmountProblem =
  | 'NOT_A_STRING'
  | 'NOT_A_DECIMAL'
  | 'TOO_MANY_DECIMALS'
  | 'TOO_MANY_DIGITS'
  | 'NOT_POSITIVE'
  | 'NEGATIVE'
  | 'NEGATIVE_ZERO';

export type AmountParse = { ok: true; value: Decimal } | { ok: false; problem: AmountProblem };

/** What sign an amount may have at a given field. */
export type AmountSign = 'positive' | 'non-negative' | 'any';

// ASCII digits only: \d with the u flag would admit other scripts' digits, and
// exponents, signs other than a leading minus, spaces and hex are refused.
const DECIMAL_PATTERN = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;

/**
 * Parses a wire amount exactly. Never rounds: more than 8 decimals or more
 * than 14 integer digits is a problem, not a rounding.
 */
export function parseAmount(input: unknown, sign: AmountSign = 'positive'): AmountParse {
  if (typeof input !== 'string') return { ok: false, problem: 'NOT_A_STRING' };
  const match = DECIMAL_PATTERN.exec(input);
  if (match === null) return { ok: false, problem: 'NOT_A_DECIMAL' };
  const [, minus, integerPart, fractionPart = ''] = match;
  if (fractionPart.length > AMOUNT_SCALE) return { ok: false, problem: 'TOO_MANY_DECIMALS' };
  const integerDigits = integerPart.replace(/^0+(?=[0-9])/, '');
  if (integerDigits.length > AMOUNT_INTEGER_DIGITS_MAX) return { ok: false, problem: 'TOO_MANY_DIGITS' };
  const value = new Decimal(input);
  if (minus === '-' && value.isZero()) return { ok: false, problem: 'NEGATIVE_ZERO' };
  if (sign === 'positive' && !value.greaterThan(0)) return { ok: false, problem: 'NOT_POSITIVE' };
  if (sign === 'non-negative' && value.isNegative()) return { ok: false, problem: 'NEGATIVE' };
  return { ok: true, value };
}

/** Parses a value read back from a NUMERIC(22,8) column (a string from pg), asserting it is one. */
export function fromDb(value: string): Decimal {
  if (!DECIMAL_PATTERN.test(value)) throw new Error(`not a NUMERIC value from the database: ${value}`);
  return new Decimal(value);
}

/**
 * Writes an amount as a wire and database string with exactly 8 decimals.
 * Values are already at scale 8 by construction (sums and differences of
 * scale-8 values), so the ROUND_UNNECESSARY-style assertion guards that.
 *
 * Written from the digits decimal.js holds (its documented read-only `d`,
 * `e` and `s`), not with toFixed: toFixed copies and re-rounds the value
 * before writing it, and was the ledger's largest source of garbage in
 * bench:ledger (8.5% of the bytes allocated, ~6 calls per command). The unit
 * tests hold it to toFixed(8) for every value.
 */
export function formatAmount(value: Decimal): string {
  // NaN and ±Infinity hold no digits (and toFixed wrote them as words).
  if (!value.isFinite()) throw new Error(`amount ${value.toString()} is not a finite number`);
  // decimalPlaces() reads the digits held; no second parse of the text to compare.
  if (value.decimalPlaces() > AMOUNT_SCALE) {
    throw new Error(`amount ${value.toString()} has more than ${AMOUNT_SCALE} decimals; round it explicitly first`);
  }
  const words = value.d;
  // Zero, also negative zero, which is written unsigned.
  if (words[0] === 0) return `0.${ZEROS}`;
  // Base 1e7 words, the first without leading zeros: the significant digits, the first of them at 10^e.
  let digits = String(words[0]);
  for (let i = 1; i < words.length; i++) {
    const word = String(words[i]);
    digits += WORD_ZEROS.slice(word.length) + word;
  }
  const integerCount = value.e + 1;
  let integer: string;
  let fraction: string;
  if (integerCount <= 0) {
    integer = '0';
    fraction = '0'.repeat(-integerCount) + digits;
  } else if (integerCount >= digits.length) {
    integer = digits + '0'.repeat(integerCount - digits.length);
    fraction = '';
  } else {
    integer = digits.slice(0, integerCount);
    fraction = digits.slice(integerCount);
  }
  // Past 8 decimals only a last word's trailing zeros remain (decimalPlaces() checked above).
  fraction = fraction.length >= AMOUNT_SCALE ? fraction.slice(0, AMOUNT_SCALE) : fraction + ZEROS.slice(fraction.length);
  return `${value.s < 0 ? '-' : ''}${integer}.${fraction}`;
}

/** AMOUNT_SCALE zeros. */
const ZEROS = '0'.repeat(AMOUNT_SCALE);
/** decimal.js's digits per word (base 1e7), as zeros to pad a word with. */
const WORD_ZEROS = '0000000';

/** Rounds to the stored scale with a named mode, for computed values such as conversions. */
export function roundToScale(value: Decimal, mode: 'down' | 'half-even' | 'up'): Decimal {
  const rounding = { down: Decimal.ROUND_DOWN, 'half-even': Decimal.ROUND_HALF_EVEN, up: Decimal.ROUND_UP }[mode];
  return value.toDecimalPlaces(AMOUNT_SCALE, rounding);
}
