import pg from 'pg';
const c = new pg.Client({ connectionString: 'postgres://postgres:postgres@127.0.0.1:19836/settlement' });
await c.connect();
const sql = process.argv[2];
const r = await c.query(sql);
for (const res of [].concat(r)) for (const row of res.rows ?? []) console.log(Object.values(row).join(' | '));
await c.end();
