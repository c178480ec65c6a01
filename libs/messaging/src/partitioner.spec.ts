import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { keyHashPartitioner, murmur2 } from './kafka';

const metadata = (count: number, leaderless: readonly number[] = []): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    replicas: [0],
    isr: [0],
  }));

/** The Java client's murmur2 results for known keys (Kafka's UtilsTest.testMurmur2). */
const javaMurmur2: readonly [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

describe('keyHashPartitioner', () => {
  it("hashes keys as the Java client's murmur2 does", () => {
    for (const [key, hash] of javaMurmur2) expect(murmur2(key)).toBe(hash);
  });

  it("puts every key on the partition kafkajs's DefaultPartitioner picks", () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = keyHashPartitioner();
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b))),
        fc.integer({ min: 1, max: 64 }),
        (key, partitions) => {
          const args = { topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } };
          expect(ours(args)).toBe(theirs(args));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('keeps an explicit partition', () => {
    expect(keyHashPartitioner()({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: null, partition: 4 } })).toBe(4);
  });

  it('sends keyless messages round-robin over the partitions with a leader', () => {
    const partitioner = keyHashPartitioner();
    const picked = Array.from({ length: 40 }, () => partitioner({ topic: 't', partitionMetadata: metadata(5, [2]), message: { value: null } }));
    expect(new Set(picked)).toEqual(new Set([0, 1, 3, 4]));
    for (let i = 1; i < picked.length; i++) expect(picked[i]).not.toBe(picked[i - 1]);
  });
});
