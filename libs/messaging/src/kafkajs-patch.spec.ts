import { readFileSync } from 'node:fs';

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
