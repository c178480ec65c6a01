import pg from 'pg';
const c = new pg.Client({ connectionString: 'postgres://postgres:postgres@127.0.0.1:19836/settlement' });
await c.connect();
const n = Number(process.argv[2] ?? 1500);
const rpc = process.argv[3] ?? '4';
await c.query(`SET random_page_cost = ${rpc}`); if (process.argv[4]) for (const s of process.argv[4].split(";")) await c.query(s);
const keys = (await c.query(`SELECT wallet_key FROM ledger.accounts WHERE wallet_key IS NOT NULL AND kind = 'available' ORDER BY random() LIMIT ${n}`)).rows.map((r) => r.wallet_key);
const ids = (await c.query(`SELECT id FROM ledger.accounts WHERE wallet_key = ANY($1)`, [keys])).rows.map((r) => r.id);
const orders = (await c.query(`SELECT order_id FROM ledger.holds ORDER BY random() LIMIT ${Math.round(n/3)}`)).rows.map((r) => r.order_id);
const lit = (a) => `'{${a.map((x) => `"${x}"`).join(',')}}'`;
const plans = {
  holdsRead: `EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) SELECT seq, order_id FROM ledger.holds WHERE (wallet_key = ANY(${lit(keys)}::text[]) AND remaining > 0) OR order_id = ANY(${lit(orders)}::text[]) ORDER BY seq FOR NO KEY UPDATE`,
  accountsRead: `EXPLAIN (ANALYZE, TIMING OFF) SELECT id FROM ledger.accounts WHERE wallet_key = ANY(${lit(keys)}::text[]) ORDER BY id FOR NO KEY UPDATE`,
  accountsUpdate: `EXPLAIN (ANALYZE, TIMING OFF) UPDATE ledger.accounts a SET balance = a.balance FROM unnest(${lit(ids)}::bigint[]) AS v(id) WHERE a.id = v.id`,
  holdsUpdate: `EXPLAIN (ANALYZE, TIMING OFF) UPDATE ledger.holds h SET remaining = h.remaining FROM unnest(${lit(orders)}::text[]) AS v(order_id) WHERE h.order_id = v.order_id`,
};
await c.query('BEGIN');
for (const [name, sql] of Object.entries(plans)) {
  let r; for (let k = 0; k < 4; k++) r = await c.query(sql);
  const lines = r.rows.map((x) => x['QUERY PLAN']);
  console.log(`--- ${name} (rpc ${rpc}, n ${n})`); console.log(lines.filter((l) => !/^\s+(Filter|Recheck|Index Cond|Hash Cond|Sort Key|Sort Method|Rows Removed)/.test(l) || true).map((l) => l.slice(0, 140)).join('\n'));
}
await c.query('ROLLBACK');
await c.end();
