import { Client } from 'pg';
import fc from 'fast-check';
import { readInfrastructureEnv } from '@settlement/testing';
import { jsonArrayParameterSql, jsonArrayText, pgArrayText, sqlArray, sqlLiteral } from '@settlement/messaging';
import { repoRoot } from './system';

/**
 * The ledger inlines a batch's read values into SQL (one round trip for
 * BEGIN and its reads) and binds its write's values as text parameters
 * (pgArrayText, jsonArrayText). These check against the real Postgres that
 * every string comes back exactly as given, whatever it holds.
 */
describe('inlined SQL values', () => {
  const client = new Client({ connectionString: readInfrastructureEnv(repoRoot).DATABASE_URL });
  beforeAll(() => client.connect());
  afterAll(() => client.end());

  const awkward = ["'", "''", '\\', '\\\\', '"', '\\"', '{', '}', ',', 'NULL', 'null', '', ' ', ' padded ', '\n', '\t', "O'Brien\\\"}{,", 'é', '١٢٣', '𝟙𝟚𝟛', '$$', '$v$', 'a$v', 'a$v0', '$v$$v0$', '$', "E'x'", '--', '/*', ';COMMIT;'];

  it('round-trips awkward strings, NULL and the empty array through text[] and sqlLiteral', async () => {
    const values: (string | null)[] = [...awkward, null];
    const rows = (await client.query(`SELECT ${sqlArray(values, 'text')} AS a, ${sqlLiteral(awkward.join('|'))} AS s, ${sqlArray([], 'text')} AS e`)).rows;
    expect(rows[0].a).toEqual(values);
    expect(rows[0].s).toBe(awkward.join('|'));
    expect(rows[0].e).toEqual([]);
  });

  it('round-trips any unicode string, and any made of quoting characters, in arrays and alone (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.stringMatching(/^[$v0-9a\\'"{},]{0,12}$/)).filter((s) => !s.includes('\u0000')), { nil: null }), { maxLength: 20 }), async (values) => {
        const texts = values.filter((v): v is string => v !== null);
        const rows = (await client.query(`SELECT ${sqlArray(values, 'text')} AS a, ARRAY[${[...texts.map(sqlLiteral), "''"].join(',')}]::text[] AS l`)).rows;
        expect(rows[0].a).toEqual(values);
        expect(rows[0].l).toEqual([...texts, '']);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps json text and numeric values exact', async () => {
    const json = [JSON.stringify({ a: "it's", b: 'back\\slash "quoted"', c: '1e5', d: ['{', '}'] })];
    const amounts = ['99999999999999.99999999', '-0.00000001', '0'];
    const rows = (await client.query(`SELECT (${jsonArrayParameterSql(1)})[1]::text AS j, ${sqlArray(amounts, 'numeric')}::text[] AS n`, [jsonArrayText(json)])).rows;
    expect(rows[0].j).toBe(json[0]);
    expect(rows[0].n).toEqual(amounts);
  });

  it('keeps the text and order of JSON values in jsonArrayText, NULL as NULL, and gives the empty json[] for none', async () => {
    const jsons = [...awkward.map((a) => JSON.stringify({ a, nested: [a, { b: a }] })), '1.50', '"$v$"', 'null', null, '[]', JSON.stringify(awkward), JSON.stringify('\u0001\u0002')];
    const rows = (
      await client.query(
        `SELECT (SELECT array_agg(x::text) FROM unnest(${jsonArrayParameterSql(1)}) x) AS a, cardinality(${jsonArrayParameterSql(2)}) AS e, ${jsonArrayParameterSql(3)} AS n`,
        [jsonArrayText(jsons), jsonArrayText([]), jsonArrayText([null])],
      )
    ).rows;
    expect(rows[0].a).toEqual(jsons);
    expect(rows[0].e).toBe(0);
    expect(rows[0].n).toEqual([null]);
  });

  it('round-trips the same values bound as parameters (pgArrayText, jsonArrayText), as the ledger\'s batch write sends them', async () => {
    const values: (string | null)[] = [...awkward, null];
    const jsons = [...awkward.map((a) => JSON.stringify({ a })), 'null', null, '[]'];
    const rows = (
      await client.query(
        `SELECT $1::text[] AS a, (SELECT array_agg(x::text) FROM unnest(${jsonArrayParameterSql(2)}) x) AS j, $3::text[] AS e, cardinality(${jsonArrayParameterSql(4)}) AS je, $5::numeric[]::text[] AS n,
                $6::text[] AS plain, $7::text[] AS empty`,
        [
          pgArrayText(values),
          jsonArrayText(jsons),
          pgArrayText([]),
          jsonArrayText([]),
          pgArrayText(['99999999999999.99999999', '-0.00000001']),
          // Nothing null or escaped: the one-join path.
          pgArrayText(['NULL', 'null', '', ' padded ', '{,}', "O'Brien", '𝟙𝟚𝟛']),
          pgArrayText(['']),
        ],
      )
    ).rows;
    expect(rows[0].a).toEqual(values);
    expect(rows[0].j).toEqual(jsons);
    expect(rows[0].e).toEqual([]);
    expect(rows[0].je).toBe(0);
    expect(rows[0].n).toEqual(['99999999999999.99999999', '-0.00000001']);
    expect(rows[0].plain).toEqual(['NULL', 'null', '', ' padded ', '{,}', "O'Brien", '𝟙𝟚𝟛']);
    expect(rows[0].empty).toEqual(['']);
  });

  it('refuses a text no JSON value can be (empty, or a raw separator character)', () => {
    expect(() => jsonArrayText([''])).toThrow(/not a JSON text/);
    expect(() => jsonArrayText(['"a\u0001b"'])).toThrow(/not a JSON text/);
  });

  it('round-trips any JSON value through jsonArrayText (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.jsonValue().map((v) => JSON.stringify(v)).filter((j) => !j.includes('\\u0000')), { nil: null }), { minLength: 1, maxLength: 20 }), async (jsons) => {
        const rows = (await client.query(`SELECT (SELECT array_agg(x::text) FROM unnest(${jsonArrayParameterSql(1)}) x) AS a`, [jsonArrayText(jsons)])).rows;
        expect(rows[0].a).toEqual(jsons);
      }),
      { numRuns: 200 },
    );
  });
});
