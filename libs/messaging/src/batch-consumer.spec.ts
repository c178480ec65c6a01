import { FetchMerger, OffsetCommitter, type ConsumedRecord } from './batch-consumer';

const commitEachCall = () => new OffsetCommitter(0, () => undefined);

type Commit = (offsets: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }) => Promise<void>;

function records(partition: number, count: number, firstOffset = 0): ConsumedRecord[] {
  return Array.from({ length: count }, (_, i) => ({ ok: false, problem: 'test', raw: '', offset: String(firstOffset + i), partition, topic: 't' }));
}

function batch(partition: number, count: number, commit: Commit, firstOffset = 0, stale = false) {
  const recs = records(partition, count, firstOffset);
  return { records: recs, topic: 't', partition, lastOffset: recs[recs.length - 1].offset, commit: commit as never, isStale: () => stale };
}

describe('FetchMerger', () => {
  it('hands the batches of one turn to one handler call and commits their offsets in one request', async () => {
    const calls: number[][] = [];
    const commits: unknown[] = [];
    const commit: Commit = async (o) => void commits.push(o);
    const merger = new FetchMerger(async (recs) => void calls.push(recs.map((r) => r.partition)), 100, 1, commitEachCall());
    await Promise.all([merger.add(batch(0, 2, commit, 5)), merger.add(batch(3, 1, commit, 9))]);
    expect(calls).toEqual([[0, 0, 3]]);
    expect(commits).toEqual([{ topics: [{ topic: 't', partitions: [{ partition: 0, offset: '7' }, { partition: 3, offset: '10' }] }] }]);
  });

  it('starts a new group past the record limit, never splits a batch, and runs at most the allowed groups at once', async () => {
    const calls: number[][] = [];
    let running = 0;
    let runningMax = 0;
    const merger = new FetchMerger(
      async (recs) => {
        running += 1;
        runningMax = Math.max(runningMax, running);
        await new Promise((r) => setTimeout(r, 5));
        calls.push([...new Set(recs.map((r) => r.partition))]);
        running -= 1;
      },
      3,
      2,
      commitEachCall(),
    );
    const commit: Commit = async () => undefined;
    await Promise.all([0, 1, 2, 3].map((p) => merger.add(batch(p, 2, commit))).concat(merger.add(batch(4, 5, commit))));
    expect(calls.map((c) => c.sort()).sort()).toEqual([[0], [1], [2], [3], [4]]);
    expect(runningMax).toBe(2);
  });

  it('fails every batch of a group whose handler throws, commits nothing for it, and skips stale batches', async () => {
    const commits: unknown[] = [];
    const commit: Commit = async (o) => void commits.push(o);
    const seen: number[] = [];
    const merger = new FetchMerger(async (recs) => {
      seen.push(...recs.map((r) => r.partition));
      throw new Error('database down');
    }, 100, 1, commitEachCall());
    const results = await Promise.allSettled([merger.add(batch(0, 1, commit)), merger.add(batch(1, 1, commit, 0, true)), merger.add(batch(2, 1, commit))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect(seen).toEqual([0, 2]);
    expect(commits).toEqual([]);
  });
});

describe('OffsetCommitter', () => {
  const at = (partition: number, offset: string) => ({ topic: 't', partition, offset });

  it('commits at most once per interval, the newest offset of each partition, and the rest when the interval ends', async () => {
    const commits: unknown[] = [];
    const commit: Commit = async (o) => void commits.push(o);
    const committer = new OffsetCommitter(50, () => undefined);
    await committer.handled([at(0, '3')], commit as never);
    await committer.handled([at(0, '5'), at(1, '2')], commit as never);
    await committer.handled([at(0, '9')], commit as never);
    expect(commits).toEqual([{ topics: [{ topic: 't', partitions: [{ partition: 0, offset: '3' }] }] }]);
    await new Promise((r) => setTimeout(r, 80));
    expect(commits[1]).toEqual({ topics: [{ topic: 't', partitions: [{ partition: 0, offset: '9' }, { partition: 1, offset: '2' }] }] });
    expect(commits).toHaveLength(2);
  });

  it('never commits when told so', async () => {
    const commits: unknown[] = [];
    const committer = new OffsetCommitter(null, () => undefined);
    await committer.handled([at(0, '3')], (async (o: unknown) => void commits.push(o)) as never);
    await committer.flush();
    expect(commits).toEqual([]);
  });
});
