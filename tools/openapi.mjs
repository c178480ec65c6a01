// `npm run openapi`: writes docs/api/*.openapi.json from the gateway's and the ledger's code
// (the unit tests openapi.documents.spec.ts and ledger-queries.openapi.spec.ts fail when they differ).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from './build.mjs';
import { repoRoot } from './stack.mjs';

await build();
const require = createRequire(import.meta.url);
const { extOrdersOpenApi, seamlessOpenApi } = require(join(repoRoot, 'dist', 'apps', 'gateway', 'openapi', 'openapi.documents.js'));
const { ledgerQueriesOpenApi } = require(join(repoRoot, 'dist', 'apps', 'ledger', 'queries', 'ledger-queries.openapi.js'));
for (const [file, generate] of [
  ['ext-orders.openapi.json', extOrdersOpenApi],
  ['seamless-wallet.openapi.json', seamlessOpenApi],
  ['ledger-queries.openapi.json', ledgerQueriesOpenApi],
]) {
  writeFileSync(join(repoRoot, 'docs', 'api', file), `${JSON.stringify(generate(), null, 2)}\n`);
  console.log(`wrote docs/api/${file}`);
}
