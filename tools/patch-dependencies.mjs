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
