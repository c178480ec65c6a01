import { readFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * kafkajs's producer groups a send's messages by partition; the released
 * version does it in quadratic time, and `npm install` replaces it
 * (tools/patch-dependencies.mjs). These check the installed copy is the
 * replacement and groups exactly as the original did.
 */
describe('kafkajs producer grouping (patched at install)', () => {
  const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
  type Group = (args: { topic: string; partitionMetadata: unknown[]; messages: { key: string }[]; partitioner: (a: { topic: string; partitionMetadata: unknown[]; message: { key: string } }) => number }) => Record<string, { key: string }[]>;
  const group = require(path) as Group;

  /** The released implementation, the behaviour to keep. */
  const original: Group = ({ topic, partitionMetadata, messages, partitioner }) => {
    if (partitionMetadata.length === 0) return {};
    return messages.reduce<Record<string, { key: string }[]>>((result, message) => {
      const partition = partitioner({ topic, partitionMetadata, message });
      const current = result[partition] || [];
      return Object.assign(result, { [partition]: [...current, message] });
    }, {});
  };

  it('is the linear replacement', () => {
    expect(readFileSync(path, 'utf8')).toContain('settlement-platform: linear grouping');
  });

  it('groups like the original: every message once, in send order within its partition', () => {
    const messages = Array.from({ length: 2000 }, (_, i) => ({ key: `k${(i * 7919) % 97}` }));
    const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % 6;
    const args = { topic: 't', partitionMetadata: [{}, {}, {}, {}, {}, {}], messages, partitioner };
    const grouped = group(args);
    expect(grouped).toEqual(original(args));
    expect(Object.values(grouped).flat()).toHaveLength(messages.length);
    expect(group({ ...args, partitionMetadata: [] })).toEqual({});
  });
});

/**
 * kafkajs's record encoder, replaced at install to write each message once
 * into a buffer of its exact size. These check the installed copy is the
 * replacement and that it writes the bytes of Kafka's record format (v2
 * message format, KIP-98) as an independent encoder does.
 */
describe('kafkajs record encoding (patched at install)', () => {
  type Headers = Record<string, string | string[]>;
  type RecordArgs = { offsetDelta?: number; timestampDelta?: number; key: string | Buffer | null; value: string | Buffer | null; headers?: Headers };
  const encoderPath = require.resolve('kafkajs/src/protocol/encoder');
  const recordPath = require.resolve('kafkajs/src/protocol/recordBatch/record/v0');
  const encodeRecord = require(recordPath) as (args: RecordArgs) => { buffer: Buffer };

  /** Zigzag LEB128 of a signed 64-bit integer (a varint's value is the same for int32 values). */
  const varlong = (n: bigint): number[] => {
    let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
    const out: number[] = [];
    while (z >= 0x80n) {
      out.push(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    out.push(Number(z));
    return out;
  };
  const varint = (n: number) => varlong(BigInt(n));
  const bytes = (b: string | Buffer | null): number[] => {
    if (b === null) return varint(-1);
    const raw = Buffer.from(b);
    return [...varint(raw.length), ...raw];
  };
  const reference = ({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordArgs): Buffer => {
    const pairs = Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
    const body = [0, ...varint(timestampDelta), ...varint(offsetDelta), ...bytes(key), ...bytes(value), ...varint(pairs.length), ...pairs.flatMap(([k, v]) => [...bytes(k), ...bytes(v)])];
    return Buffer.from([...varint(body.length), ...body]);
  };

  it('is the exact-size replacement', () => {
    expect(readFileSync(encoderPath, 'utf8')).toContain('settlement-platform: varints written in place');
    expect(readFileSync(recordPath, 'utf8')).toContain('settlement-platform: exact-size records');
  });

  it('writes the bytes of the record format', () => {
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 700 }));
    const keyOrValue = fc.oneof(text, fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.constant(null));
    fc.assert(
      fc.property(
        fc.record({
          offsetDelta: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          timestampDelta: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          key: keyOrValue,
          value: keyOrValue,
          headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.oneof(text, fc.array(text, { maxLength: 3 })), { maxKeys: 4 }),
        }),
        (args) => {
          expect(encodeRecord(args).buffer).toEqual(reference(args));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('writes timestamp deltas past the 32-bit range as varlongs', () => {
    for (const timestampDelta of [2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 3, -(2 ** 45)]) {
      expect(encodeRecord({ timestampDelta, key: 'k', value: 'v' }).buffer).toEqual(reference({ timestampDelta, key: 'k', value: 'v' }));
    }
  });
});

/**
 * kafkajs computes the CRC32C of every produced record batch; the released
 * version goes a byte at a time, and `npm install` replaces it with an
 * eight-bytes-at-a-time version (tools/patch-dependencies.mjs). These check
 * the installed copy against an independent bitwise CRC32C.
 */
describe('kafkajs CRC32C (patched at install)', () => {
  const path = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C');
  const crc32C = require(path) as (buffer: Buffer) => number;

  /** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, one bit at a time. */
  const reference = (buffer: Uint8Array): number => {
    let crc = 0xffffffff;
    for (const byte of buffer) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };

  it('is the slicing-by-8 replacement', () => {
    expect(readFileSync(path, 'utf8')).toContain('settlement-platform: slicing-by-8');
  });

  it('gives the standard check value and the empty buffer', () => {
    expect(crc32C(Buffer.from('123456789')).toString(16)).toBe('e3069283');
    expect(crc32C(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with a bitwise CRC32C on any bytes, any length and any offset into a larger buffer (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 7 }), (bytes, offset) => {
        const backing = Buffer.alloc(bytes.length + offset);
        backing.set(bytes, offset);
        const view = backing.subarray(offset);
        expect(crc32C(view)).toBe(reference(bytes));
      }),
      { numRuns: 500 },
    );
  });
});
