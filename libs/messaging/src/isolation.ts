import type { ConsumedRecord } from './batch-consumer';
import { errorCodeOf, isDatabaseUnavailable } from './database';

/** A record Postgres refused on every attempt, alone and in its batch, with the last error. */
export interface RefusedRecord {
  readonly record: ConsumedRecord;
  readonly error: Error;
}

/**
 * Applies a batch of consumed records with `apply` (one database transaction
 * for the records given). When the batch fails with an error one record's
 * own data can cause (recordSpecific: Postgres refusing a row), it is applied
 * again in halves, recursively, each half its own transaction, so the records
 * that fail alone are found: those go to `park` (the caller puts them aside,
 * in a transaction of its own), the rest are applied in order, and the
 * partition moves on. Without this, one such record failed its batch on every
 * redelivery and stopped its partition until someone intervened.
 *
 * Nothing is parked unless another record of the batch applied: an error
 * every record meets (a constraint the code does not know) fails the batch as
 * before and no record is put aside for it; a lone failing record waits for
 * the records behind it to be redelivered with it. `apply` must be
 * idempotent (as every batch handler is): a failed part rolled back whole.
 * Returns how many records were parked.
 */
export async function applyIsolatingRefusals(
  records: readonly ConsumedRecord[],
  apply: (records: readonly ConsumedRecord[]) => Promise<void>,
  park: (refused: readonly RefusedRecord[]) => Promise<void>,
  log: (message: string) => void,
): Promise<number> {
  try {
    await apply(records);
    return 0;
  } catch (error) {
    if (records.length < 2 || !recordSpecific(error)) throw error;
    log(`batch of ${records.length} records failed (${(error as Error).message}); applying it in parts to find the records that fail alone`);
    const refused: RefusedRecord[] = [];
    let applied = 0;
    const applyPart = async (part: readonly ConsumedRecord[]): Promise<void> => {
      try {
        await apply(part);
        applied += part.length;
      } catch (partError) {
        if (!recordSpecific(partError)) throw partError;
        if (part.length === 1) refused.push({ record: part[0], error: partError as Error });
        else for (const half of halves(part)) await applyPart(half);
      }
    };
    for (const half of halves(records)) await applyPart(half);
    if (applied === 0) throw error;
    // Every part applied on its own (a limit another partition's batch had reached, read afresh): nothing to park.
    if (refused.length === 0) return 0;
    await park(refused);
    return refused.length;
  }
}

/** The parked_messages rows of refused records (for parkRecords): the record as received, the refusal as its reason. */
export function refusedParkRows(refused: readonly RefusedRecord[]): { topic: string; partition: number; offset: string; problem: string; raw: string }[] {
  return refused.map(({ record, error }) => ({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    problem: `refused on every attempt, alone and in its batch: ${error.message}`,
    raw: record.ok ? JSON.stringify(record.envelope) : record.raw,
  }));
}

/**
 * Whether a batch's failure may come from one record's data, so that applying
 * the batch in parts can isolate it: Postgres's data exceptions (22: a value
 * out of range, an unsupported Unicode escape in jsonb), integrity violations
 * (23: a check, key or not-null constraint), program limits (54: an index row
 * too large) and errors raised by triggers or functions (P0). Not Postgres
 * being unreachable, out of resources or failing (08, 53, 57, 58, XX) nor a
 * deadlock: every record meets those, and they pass. Nor an error without a
 * SQLSTATE: an assertion of the service's code, but also a pool ended by a
 * shutdown midway through the parts, which would park good records.
 */
export function recordSpecific(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return false;
  const code = errorCodeOf(error);
  return code !== undefined && /^(22|23|54|P0)[0-9A-Z]{3}$/.test(code);
}

/** A list of two or more in two halves, in order. */
function halves<T>(list: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(list.length / 2);
  return [list.slice(0, middle), list.slice(middle)];
}
