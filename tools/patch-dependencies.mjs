#!/usr/bin/env node
// Run by `npm install` (the root package's postinstall): fixes a dependency
// where upstream has not. Each patch names the exact text it replaces and
// leaves the file alone (with a warning) when that text is not there, so an
// upgraded dependency is never patched blindly. Running it again is a no-op.
//
// 1. kafkajs 2.2.4, src/producer/groupMessagesPerPartition.js: the producer
//    grouped a send's messages by partition with `[...current, message]`,
//    copying each partition's list again for every message, which is quadratic
//    in the messages of one send. The ledger's relay sends a whole batch's
//    results at once (1,500 and more): a sampled allocation profile of
//    `npm run bench:ledger` put 13% of all the ledger's allocations there.
//    Upstream fix proposed in tulios/kafkajs pull request 1576, never released.
//
// 2. fastify 5, lib/content-type-parser.js: every request with a body ran its
//    parser's callback through `AsyncResource.prototype.bind`, which on Node 20
//    also defines a deprecated `asyncResource` accessor pair on the bound
//    function through `util.deprecate`: about 8 us per call here, against
//    0.05 us for calling `runInAsyncScope` directly, which is what the bound
//    function does. In a CPU profile of the gateway at saturation (system
//    benchmark) bind and deprecate were 5.9% of its busy time. The callback
//    still runs in the request's async context (OpenTelemetry's among them).
//
// 3. kafkajs 2.2.4, src/protocol/encoder.js and recordBatch/record/v0: every
//    produced message was encoded into a fresh zero-filled 512-byte buffer
//    (grown to 1,024 and copied for a ~500-byte envelope), each of its headers
//    into another, and every varint through an array and `Buffer.from`, every
//    varlong through `Long` objects. A record is now written once into a
//    buffer of its exact size, varints straight into the buffer, and varlongs
//    in the 32-bit range (timestamp deltas) as the varints they are. ~2.5 us
//    per message instead of ~8; the bytes are the same (unit test against an
//    independent encoder of the record format). The gateway produces one
//    message per request and the ledger's relay ~1.2 per command.
//
// 4. kafkajs 2.2.4, static group membership (KIP-345): kafkajs encodes the
//    JoinGroup request's group.instance.id (v5) but never fills it in. It is
//    now an option of `kafka.consumer()` (`groupInstanceId`), threaded to the
//    JoinGroup request. A member that rejoins under the instance id of one
//    that died takes its place and its partitions at once; without it the
//    coordinator waits out the dead member's session (10 s here) before the
//    group gets going again. A consumer restarted after a SIGKILL fetched
//    again 0.13-0.18 s later instead of ~7 s. Heartbeat, SyncGroup,
//    OffsetCommit and LeaveGroup go by member id, which the broker accepts
//    from a static member too.
// 5. kafkajs 2.2.4, src/protocol/recordBatch/crc32C/crc32C.js: the CRC32C of
//    every produced record batch was computed a byte at a time in JavaScript:
//    2.4% of the ledger's CPU samples in bench:ledger (its relay produces ~1.2
//    records of ~600 bytes per command). Now eight bytes at a time (slicing-by-8,
//    tables derived once from kafkajs's own); the checksums are the same (unit
//    test against an independent bitwise CRC32C).
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);

const patches = [
  {
    file: 'kafkajs/src/producer/groupMessagesPerPartition.js',
    original: `  return messages.reduce((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition] || []
    return Object.assign(result, { [partition]: [...current, message] })
  }, {})
`,
    replacement: `  // settlement-platform: linear grouping (tools/patch-dependencies.mjs)
  const result = {}
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition]
    if (current === undefined) result[partition] = [message]
    else current.push(message)
  }
  return result
`,
  },
  {
    file: 'fastify/lib/content-type-parser.js',
    original: `  const done = resource.bind(onDone)
`,
    replacement: `  // settlement-platform: runInAsyncScope, not bind (tools/patch-dependencies.mjs)
  const done = (error, body) => resource.runInAsyncScope(onDone, null, error, body)
`,
  },
  {
    file: 'kafkajs/src/protocol/encoder.js',
    original: `  static sizeOfVarLong(value) {
    let longValue = Encoder.encodeZigZag64(value)
`,
    replacement: `  // settlement-platform: exact-size records (tools/patch-dependencies.mjs)
  static isInt32(value) {
    return typeof value === 'number' && value >= -0x80000000 && value <= 0x7fffffff && Number.isInteger(value)
  }

  /** An encoder over an uninitialised buffer of \`size\` bytes, for a caller that writes every byte it reads back. */
  static ofSize(size) {
    const encoder = Object.create(Encoder.prototype)
    encoder.buf = Buffer.allocUnsafe(size)
    encoder.offset = 0
    return encoder
  }

  static sizeOfVarLong(value) {
    // A varlong in the int32 range is encoded as the varint of the same value.
    if (Encoder.isInt32(value)) return Encoder.sizeOfVarInt(value)
    let longValue = Encoder.encodeZigZag64(value)
`,
  },
  {
    file: 'kafkajs/src/protocol/encoder.js',
    original: `  writeUVarInt(value) {
    const byteArray = []
    while ((value & UNSIGNED_INT32_MAX_NUMBER) !== 0) {
      byteArray.push((value & OTHER_BITS) | MOST_SIGNIFICANT_BIT)
      value >>>= 7
    }
    byteArray.push(value & OTHER_BITS)
    this.writeBufferInternal(Buffer.from(byteArray))
    return this
  }

  writeVarLong(value) {
`,
    replacement: `  // settlement-platform: varints written in place (tools/patch-dependencies.mjs)
  writeUVarInt(value) {
    let size = 1
    for (let rest = value; (rest & UNSIGNED_INT32_MAX_NUMBER) !== 0; rest >>>= 7) size++
    this.ensureAvailable(size)
    while ((value & UNSIGNED_INT32_MAX_NUMBER) !== 0) {
      this.buf[this.offset++] = (value & OTHER_BITS) | MOST_SIGNIFICANT_BIT
      value >>>= 7
    }
    this.buf[this.offset++] = value & OTHER_BITS
    return this
  }

  writeVarLong(value) {
    if (Encoder.isInt32(value)) return this.writeVarInt(value)
`,
  },
  {
    file: 'kafkajs/src/protocol/recordBatch/record/v0/index.js',
    original: `  return new Encoder()
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no used record attributes at the moment
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map(Header))
}
`,
    replacement: `  // settlement-platform: exact-size records (tools/patch-dependencies.mjs)
  const encoder = Encoder.ofSize(Encoder.sizeOfVarInt(sizeOfBody) + sizeOfBody)
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no used record attributes at the moment
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarInt(headersArray.length)
  for (const header of headersArray) encoder.writeVarIntString(header.key).writeVarIntBytes(header.value)
  return encoder
}
`,
  },
  {
    file: 'kafkajs/src/index.js',
    original: `    rackId = '',
  } = {}) {
    const isolationLevel = readUncommitted
`,
    replacement: `    rackId = '',
    // settlement-platform: static membership (tools/patch-dependencies.mjs)
    groupInstanceId = null,
  } = {}) {
    const isolationLevel = readUncommitted
`,
  },
  {
    file: 'kafkajs/src/index.js',
    original: `      instrumentationEmitter,
      rackId,
      metadataMaxAge,
    })
`,
    replacement: `      instrumentationEmitter,
      rackId,
      metadataMaxAge,
      // settlement-platform: static membership (tools/patch-dependencies.mjs)
      groupInstanceId,
    })
`,
  },
  {
    file: 'kafkajs/src/consumer/index.js',
    original: `  metadataMaxAge,
}) => {
`,
    replacement: `  metadataMaxAge,
  // settlement-platform: static membership (tools/patch-dependencies.mjs)
  groupInstanceId = null,
}) => {
`,
  },
  {
    file: 'kafkajs/src/consumer/index.js',
    original: `        autoCommitThreshold,
      })

      runner = new Runner({
`,
    replacement: `        autoCommitThreshold,
        // settlement-platform: static membership (tools/patch-dependencies.mjs)
        groupInstanceId,
      })

      runner = new Runner({
`,
  },
  {
    file: 'kafkajs/src/consumer/consumerGroup.js',
    original: `    rackId,
    metadataMaxAge,
  }) {
    /** @type {import("../../types").Cluster} */
`,
    replacement: `    rackId,
    metadataMaxAge,
    // settlement-platform: static membership (tools/patch-dependencies.mjs)
    groupInstanceId = null,
  }) {
    /** @type {import("../../types").Cluster} */
`,
  },
  {
    file: 'kafkajs/src/consumer/consumerGroup.js',
    original: `    this.metadataMaxAge = metadataMaxAge
`,
    replacement: `    this.metadataMaxAge = metadataMaxAge
    // settlement-platform: static membership (tools/patch-dependencies.mjs)
    this.groupInstanceId = groupInstanceId
`,
  },
  {
    file: 'kafkajs/src/consumer/consumerGroup.js',
    original: `      memberId: this.memberId || '',
      groupProtocols: this.assigners.map(assigner =>
`,
    replacement: `      memberId: this.memberId || '',
      // settlement-platform: static membership (tools/patch-dependencies.mjs)
      groupInstanceId: this.groupInstanceId,
      groupProtocols: this.assigners.map(assigner =>
`,
  },
  {
    file: 'kafkajs/src/broker/index.js',
    original: `    memberId = '',
    protocolType = 'consumer',
    groupProtocols,
  }) {
    const joinGroup = this.lookupRequest(apiKeys.JoinGroup, requests.JoinGroup)
`,
    replacement: `    memberId = '',
    // settlement-platform: static membership (tools/patch-dependencies.mjs)
    groupInstanceId = null,
    protocolType = 'consumer',
    groupProtocols,
  }) {
    const joinGroup = this.lookupRequest(apiKeys.JoinGroup, requests.JoinGroup)
`,
  },
  {
    file: 'kafkajs/src/broker/index.js',
    original: `          memberId: assignedMemberId,
          protocolType,
`,
    replacement: `          memberId: assignedMemberId,
          // settlement-platform: static membership (tools/patch-dependencies.mjs)
          groupInstanceId,
          protocolType,
`,
  },
  {
    file: 'kafkajs/src/protocol/recordBatch/crc32C/crc32C.js',
    original: `const crc32C = buffer => {
  let crc = 0 ^ -1
  for (let i = 0; i < buffer.length; i++) {
    crc = T[(crc ^ buffer[i]) & 0xff] ^ (crc >>> 8)
  }

  return (crc ^ -1) >>> 0
}
`,
    replacement: `// settlement-platform: slicing-by-8 (tools/patch-dependencies.mjs)
// Table k (at k * 256) advances a byte's remainder through k more zero bytes: eight bytes per step.
let S8 = null
const slicingTables = () => {
  const t = new Int32Array(256 * 8)
  t.set(T)
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = t[(k - 1) * 256 + n]
      t[k * 256 + n] = T[previous & 0xff] ^ (previous >>> 8)
    }
  }
  return t
}
const crc32C = buffer => {
  if (S8 === null) S8 = slicingTables()
  const S = S8
  let crc = 0 ^ -1
  let i = 0
  const whole = buffer.length - (buffer.length & 7)
  for (; i < whole; i += 8) {
    const lo = crc ^ (buffer[i] | (buffer[i + 1] << 8) | (buffer[i + 2] << 16) | (buffer[i + 3] << 24))
    const hi = buffer[i + 4] | (buffer[i + 5] << 8) | (buffer[i + 6] << 16) | (buffer[i + 7] << 24)
    crc =
      S[1792 + (lo & 0xff)] ^ S[1536 + ((lo >>> 8) & 0xff)] ^ S[1280 + ((lo >>> 16) & 0xff)] ^ S[1024 + (lo >>> 24)] ^
      S[768 + (hi & 0xff)] ^ S[512 + ((hi >>> 8) & 0xff)] ^ S[256 + ((hi >>> 16) & 0xff)] ^ S[hi >>> 24]
  }
  for (; i < buffer.length; i++) {
    crc = T[(crc ^ buffer[i]) & 0xff] ^ (crc >>> 8)
  }

  return (crc ^ -1) >>> 0
}
`,
  },
];

function main() {
  for (const patch of patches) {
    let path;
    try {
      path = require.resolve(patch.file);
    } catch {
      console.warn(`[patch-dependencies] ${patch.file} not installed; nothing patched`);
      continue;
    }
    const text = readFileSync(path, 'utf8');
    if (text.includes(patch.replacement)) continue;
    if (!text.includes(patch.original)) {
      console.warn(`[patch-dependencies] ${patch.file} is not the version this patch was written for; left as it is`);
      continue;
    }
    writeFileSync(path, text.replace(patch.original, patch.replacement));
    console.log(`[patch-dependencies] patched ${patch.file}`);
  }
}

main();
