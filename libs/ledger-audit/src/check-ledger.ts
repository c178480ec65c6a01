import { Client } from 'pg';

/** One invariant and whether it holds, with the offending rows when it does not. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** Up to `offendersMax` rows that break the invariant. */
  readonly offenders: Record<string, unknown>[];
}

/** The auditor's verdict over the whole ledger. */
export interface LedgerAudit {
  readonly ok: boolean;
  readonly checks: CheckResult[];
  readonly counts: { accounts: number; transactions: number; postings: number; commands: number };
}

/** Offending rows reported per check: enough to debug, small enough to print. */
const offendersMax = 20;

const CHECKS: { name: string; sql: string }[] = [
  {
    name: 'postings sum to zero per currency',
    sql: `SELECT a.currency, sum(p.amount)::text AS total FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
          GROUP BY a.currency HAVING sum(p.amount) <> 0`,
  },
  {
    name: 'every transaction balances',
    sql: `SELECT transaction_id, sum(amount)::text AS total FROM ledger.postings GROUP BY transaction_id HAVING sum(amount) <> 0`,
  },
  {
    name: 'every transaction has postings on one currency only',
    // A conversion too: it is two transactions, available(A) -> fx:A and fx:B -> available(B).
    sql: `SELECT p.transaction_id FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
          GROUP BY p.transaction_id HAVING count(DISTINCT a.currency) > 1`,
  },
  {
    name: 'every balance equals the sum of its postings',
    sql: `SELECT a.code, a.balance::text AS balance, coalesce(sum(p.amount), 0)::text AS postings
          FROM ledger.accounts a LEFT JOIN ledger.postings p ON p.account_id = a.id
          GROUP BY a.id HAVING a.balance <> coalesce(sum(p.amount), 0)`,
  },
  {
    name: 'no user balance is negative',
    sql: `SELECT code, balance::text AS balance FROM ledger.accounts WHERE kind IN ('available', 'held') AND balance < 0`,
  },
  {
    name: 'every held balance equals what its orders still hold',
    sql: `SELECT a.wallet_key, a.balance::text AS held, coalesce(sum(h.remaining), 0)::text AS holds
          FROM ledger.accounts a LEFT JOIN ledger.holds h ON h.wallet_key = a.wallet_key
          WHERE a.kind = 'held' GROUP BY a.id HAVING a.balance <> coalesce(sum(h.remaining), 0)`,
  },
  {
    name: 'no command id applied twice',
    sql: `SELECT command_id, count(*)::int AS times FROM ledger.transactions GROUP BY command_id HAVING count(*) > 1`,
  },
  {
    name: 'every posting belongs to a transaction and an account',
    sql: `SELECT p.id FROM ledger.postings p LEFT JOIN ledger.transactions t ON t.id = p.transaction_id
          LEFT JOIN ledger.accounts a ON a.id = p.account_id WHERE t.id IS NULL OR a.id IS NULL`,
  },
  {
    name: 'every applied transaction has its command in the inbox',
    sql: `SELECT t.command_id FROM ledger.transactions t LEFT JOIN ledger.inbox i ON i.command_id = t.command_id WHERE i.command_id IS NULL`,
  },
  {
    name: 'the book is append-only: its triggers always fire and ledger_runtime may not rewrite it',
    // The guard itself, audited: a trigger disabled (or firing only outside replica sessions), or the service's
    // role granted UPDATE, DELETE or TRUNCATE of transactions, postings or inbox (migrations 8-10).
    sql: `WITH book(name) AS (VALUES ('transactions'), ('postings'), ('inbox'))
          SELECT t.name AS "table", 'trigger ' || t.name || '_append_only does not always fire' AS problem
            FROM book t
           WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g
                             WHERE g.tgrelid = to_regclass('ledger.' || t.name) AND g.tgname = t.name || '_append_only' AND g.tgenabled = 'A')
          UNION ALL
          SELECT NULL, 'role ledger_runtime does not exist' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_runtime')
          UNION ALL
          SELECT t.name, 'ledger_runtime may ' || p.name
            FROM pg_roles r, book t, unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p(name)
           WHERE r.rolname = 'ledger_runtime'
             AND CASE WHEN p.name = 'UPDATE' THEN has_any_column_privilege(r.oid, 'ledger.' || t.name, 'UPDATE')
                      ELSE has_table_privilege(r.oid, 'ledger.' || t.name, p.name) END`,
  },
  {
    name: 'every outbox row is published',
    // Published rows are deleted by the relay: anything left is unpublished.
    sql: `SELECT id, topic, event_id FROM ledger.outbox`,
  },
];

/**
 * Checks the ledger's invariants straight from its tables, the way an
 * auditor would, independent of the code that wrote them. Run it at
 * quiescence: the outbox check expects the relay to have drained.
 */
export async function checkLedger(databaseUrl: string): Promise<LedgerAudit> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // One snapshot for all checks, so concurrent writes cannot make them disagree.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const checks: CheckResult[] = [];
    for (const check of CHECKS) {
      const rows = (await client.query(`${check.sql} LIMIT ${offendersMax}`)).rows as Record<string, unknown>[];
      checks.push({ name: check.name, ok: rows.length === 0, offenders: rows });
    }
    const [counts] = (
      await client.query(`SELECT (SELECT count(*) FROM ledger.accounts)::int AS accounts, (SELECT count(*) FROM ledger.transactions)::int AS transactions,
        (SELECT count(*) FROM ledger.postings)::int AS postings, (SELECT count(*) FROM ledger.inbox)::int AS commands`)
    ).rows as LedgerAudit['counts'][];
    await client.query('COMMIT');
    return { ok: checks.every((c) => c.ok), checks, counts };
  } finally {
    await client.end();
  }
}

/** A readable report, one line per check. */
export function formatAudit(audit: LedgerAudit): string {
  const lines = audit.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : `: ${JSON.stringify(c.offenders)}`}`);
  const { accounts, transactions, postings, commands } = audit.counts;
  lines.push(`${audit.ok ? 'ledger is consistent' : 'LEDGER INVARIANTS BROKEN'}: ${accounts} accounts, ${transactions} transactions, ${postings} postings, ${commands} commands`);
  return lines.join('\n');
}
