import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { ledgerQueriesOpenApi } from './ledger-queries.openapi';
import { postingFilterOf } from './posting-filter';

describe('checked-in ledger query OpenAPI document', () => {
  it('is exactly what the code generates (run `npm run openapi` after changing the API)', () => {
    const checkedIn = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'api', 'ledger-queries.openapi.json'), 'utf8'));
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(ledgerQueriesOpenApi())));
  });
});

describe("the history filters' documented instants", () => {
  const ajv = addFormats(new Ajv2020({ strict: false }));
  const parameter = (name: string) => {
    const operation = (ledgerQueriesOpenApi().paths as Record<string, { get: { parameters: { name: string; schema: object }[] } }>)['/wallets/{merchantId}/{username}/{currency}/postings'];
    const found = operation.get.parameters.find((p) => p.name === name);
    if (found === undefined) throw new Error(`no parameter ${name}`);
    return ajv.compile(found.schema);
  };
  const documented = { from: parameter('from'), to: parameter('to') };
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  /** RFC 3339 date-times over the whole syntax: years 0000-9999, offsets up to ±23:59, 0-9 fraction digits, real and unreal calendar days. */
  const rfc3339 = fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      fraction: fc.stringMatching(/^(\.[0-9]{1,9})?$/),
      zone: fc.oneof(fc.constant('Z'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`)),
    })
    .map((t) => `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${t.fraction}${t.zone}`);

  // schemathesis found offsets past +15:59 refused while the document promised any RFC 3339 date-time.
  it('are all taken by the filter, and the filter takes no date-time the document refuses', () => {
    fc.assert(
      fc.property(rfc3339, fc.constantFrom('from' as const, 'to' as const), (value, field) => {
        expect(filterTakes(field, value)).toBe(documented[field](value));
      }),
      { numRuns: 5000 },
    );
  });

  it('include the limits themselves', () => {
    for (const value of ['0001-01-01T00:00:00+15:59', '9999-12-31T23:59:59.999999-15:59', '2024-02-29T12:00:00Z']) expect([filterTakes('from', value), documented.from(value)]).toEqual([true, true]);
    for (const value of ['2026-11-01T00:00:00+16:00', '0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-11-01T00:00:00.1234567Z']) expect([filterTakes('to', value), documented.to(value)]).toEqual([false, false]);
  });
});

function filterTakes(field: 'from' | 'to', value: string): boolean {
  try {
    postingFilterOf({ [field]: value });
    return true;
  } catch {
    return false;
  }
}
