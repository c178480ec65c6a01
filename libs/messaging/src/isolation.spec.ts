import type { ConsumedRecord } from './batch-consumer';
import { applyIsolatingRefusals, recordSpecific, refusedParkRows, type RefusedRecord } from './isolation';

function records(count: number): ConsumedRecord[] {
  return Array.from({ length: count }, (_, i) => ({ ok: false, problem: 'test', raw: `r${i}`, offset: String(i), partition: 0, topic: 't' }));
}

/** An error as pg raises it, with a SQLSTATE. */
function pgError(code: string, message = `failed with ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** An apply that refuses every part holding one of `poison` (by offset) with `code`, and logs the parts it applied. */
function applyRefusing(poison: readonly string[], code = 'P0001') {
  const applied: string[][] = [];
  const calls: number[] = [];
  const apply = async (part: readonly ConsumedRecord[]): Promise<void> => {
    calls.push(part.length);
    if (part.some((r) => poison.includes(r.offset))) throw pgError(code);
    applied.push(part.map((r) => r.offset));
  };
  return { apply, applied, calls };
}

describe('applyIsolatingRefusals', () => {
  const log = () => undefined;

  it('applies a batch that succeeds once, parking nothing', async () => {
    const { apply, calls } = applyRefusing([]);
    const park = jest.fn();
    await expect(applyIsolatingRefusals(records(4), apply, park, log)).resolves.toBe(0);
    expect(calls).toEqual([4]);
    expect(park).not.toHaveBeenCalled();
  });

  it('parks the records refused alone and applies the others in order', async () => {
    const { apply, applied } = applyRefusing(['2', '5']);
    const parked: RefusedRecord[] = [];
    await expect(applyIsolatingRefusals(records(7), apply, async (r) => void parked.push(...r), log)).resolves.toBe(2);
    expect(applied.flat()).toEqual(['0', '1', '3', '4', '6']);
    expect(parked.map((p) => [p.record.offset, p.error.message])).toEqual([
      ['2', 'failed with P0001'],
      ['5', 'failed with P0001'],
    ]);
  });

  it('parks nothing and fails the batch when no record applies', async () => {
    const { apply } = applyRefusing(['0', '1', '2']);
    const park = jest.fn();
    await expect(applyIsolatingRefusals(records(3), apply, park, log)).rejects.toThrow('failed with P0001');
    expect(park).not.toHaveBeenCalled();
  });

  it('fails a lone record without isolating it: it waits for the records behind it', async () => {
    const { apply, calls } = applyRefusing(['0'], '23514');
    const park = jest.fn();
    await expect(applyIsolatingRefusals(records(1), apply, park, log)).rejects.toThrow('failed with 23514');
    expect(calls).toEqual([1]);
    expect(park).not.toHaveBeenCalled();
  });

  it('parks nothing when every part applies on its own', async () => {
    let first = true;
    const apply = async (): Promise<void> => {
      if (first) {
        first = false;
        throw pgError('22003');
      }
    };
    const park = jest.fn();
    await expect(applyIsolatingRefusals(records(4), apply, park, log)).resolves.toBe(0);
    expect(park).not.toHaveBeenCalled();
  });

  it('never isolates an error every record meets, or one without a SQLSTATE', async () => {
    for (const error of [pgError('57P01'), pgError('40P01'), pgError('53300'), new Error('an assertion')]) {
      let calls = 0;
      const apply = async (): Promise<void> => {
        calls += 1;
        throw error;
      };
      await expect(applyIsolatingRefusals(records(4), apply, jest.fn(), log)).rejects.toBe(error);
      expect(calls).toBe(1);
    }
  });

  it('stops at an error every record meets while applying the parts', async () => {
    let calls = 0;
    const apply = async (): Promise<void> => {
      calls += 1;
      throw calls === 1 ? pgError('23505') : pgError('08006');
    };
    const park = jest.fn();
    await expect(applyIsolatingRefusals(records(4), apply, park, log)).rejects.toThrow('failed with 08006');
    expect(park).not.toHaveBeenCalled();
  });
});

describe('recordSpecific', () => {
  it.each([
    ['22003', true],
    ['22P05', true],
    ['23514', true],
    ['54000', true],
    ['P0001', true],
    ['40P01', false],
    ['40001', false],
    ['08006', false],
    ['53300', false],
    ['57P01', false],
    ['XX000', false],
  ])('SQLSTATE %s: %s', (code, expected) => {
    expect(recordSpecific(pgError(code))).toBe(expected);
  });

  it('is false for an error without a SQLSTATE, and reads the driver error typeorm wraps', () => {
    expect(recordSpecific(new Error('no code'))).toBe(false);
    expect(recordSpecific(Object.assign(new Error('wrapped'), { driverError: pgError('23505') }))).toBe(true);
  });
});

describe('refusedParkRows', () => {
  it('keeps each record as received, with the refusal as its reason', () => {
    const envelope = { eventId: 'e1', type: 'order.created', version: 1, occurredAt: 'now', aggregateId: 'a', causationId: 'c', correlationId: 'r', payload: { commandId: 'c1' } };
    const rows = refusedParkRows([
      { record: { ok: true, envelope, offset: '7', partition: 2, topic: 't' }, error: pgError('P0001', 'no') },
      { record: records(1)[0], error: pgError('23514', 'check') },
    ]);
    expect(rows).toEqual([
      { topic: 't', partition: 2, offset: '7', problem: 'refused on every attempt, alone and in its batch: no', raw: JSON.stringify(envelope) },
      { topic: 't', partition: 0, offset: '0', problem: 'refused on every attempt, alone and in its batch: check', raw: 'r0' },
    ]);
  });
});
