import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ledgerQueriesOpenApi } from './ledger-queries.openapi';

describe('checked-in ledger query OpenAPI document', () => {
  it('is exactly what the code generates (run `npm run openapi` after changing the API)', () => {
    const checkedIn = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'api', 'ledger-queries.openapi.json'), 'utf8'));
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(ledgerQueriesOpenApi())));
  });
});
