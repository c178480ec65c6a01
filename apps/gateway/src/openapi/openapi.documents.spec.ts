import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extOrdersOpenApi, seamlessOpenApi } from './openapi.documents';

const docs = join(__dirname, '..', '..', '..', '..', 'docs', 'api');

describe('checked-in OpenAPI documents', () => {
  it.each([
    ['ext-orders.openapi.json', extOrdersOpenApi],
    ['seamless-wallet.openapi.json', seamlessOpenApi],
  ])('%s is exactly what the code generates (run `npm run openapi` after changing the API)', (file, generate) => {
    const checkedIn = JSON.parse(readFileSync(join(docs, file), 'utf8'));
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(generate())));
  });
});
