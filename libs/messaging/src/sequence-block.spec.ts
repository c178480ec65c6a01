import { SequenceBlock } from './database';

/** A stand-in for Postgres's nextval over generate_series: consecutive numbers in one comma-separated row, answered after a turn of the event loop. */
function fakeSequence(start = 1000) {
  let last = start - 1;
  const queries: number[] = [];
  return {
    queries,
    async query(sql: string, parameters: unknown[]): Promise<{ ids: string }[]> {
      expect(sql).toContain(`string_agg(nextval('ledger.transactions_id_seq')::text, ',')`);
      const n = Number(parameters[0]);
      queries.push(n);
      await new Promise((resolve) => setImmediate(resolve));
      return [{ ids: Array.from({ length: n }, () => String(++last)).join(',') }];
    },
  };
}

describe('SequenceBlock', () => {
  it('hands out reserved numbers in order, one query per block', async () => {
    const runner = fakeSequence();
    const block = new SequenceBlock('ledger.transactions_id_seq', 10);
    expect(await block.take(runner, 3)).toEqual(['1000', '1001', '1002']);
    expect(await block.take(runner, 7)).toEqual(['1003', '1004', '1005', '1006', '1007', '1008', '1009']);
    expect(runner.queries).toEqual([10]);
    // The block is used up: the next take reserves another, and the numbers go on from the sequence.
    expect(await block.take(runner, 2)).toEqual(['1010', '1011']);
    expect(runner.queries).toEqual([10, 10]);
  });

  it('reserves what a take larger than a block needs, keeping what was left', async () => {
    const runner = fakeSequence();
    const block = new SequenceBlock('ledger.transactions_id_seq', 4);
    await block.take(runner, 1);
    const taken = await block.take(runner, 9);
    expect(taken).toEqual(['1001', '1002', '1003', '1004', '1005', '1006', '1007', '1008', '1009']);
    expect(runner.queries).toEqual([4, 6]);
    expect(await block.take(runner, 0)).toEqual([]);
  });

  it('never hands a number out twice to concurrent takes', async () => {
    const runner = fakeSequence();
    const block = new SequenceBlock('ledger.transactions_id_seq', 5);
    const sizes = [3, 4, 1, 7, 2, 5, 5, 9, 1, 6, 2, 3];
    const taken = (await Promise.all(sizes.map((n) => block.take(runner, n)))).flat();
    expect(taken).toHaveLength(sizes.reduce((a, b) => a + b, 0));
    expect(new Set(taken).size).toBe(taken.length);
    // Every number handed out was reserved, and only reserved numbers were handed out.
    const reserved = runner.queries.reduce((a, b) => a + b, 0);
    for (const id of taken) expect(Number(id)).toBeLessThan(1000 + reserved);
  });

  it('refuses a sequence name that is not schema.name', () => {
    expect(() => new SequenceBlock('ledger.x; DROP TABLE y', 5)).toThrow(/schema\.name/);
  });
});
