import { checkLedger, formatAudit } from './check-ledger';

// `npm run ledger:check`: audits the ledger at DATABASE_URL; exit 1 when an invariant is broken.
const url = process.env['DATABASE_URL'] ?? 'postgres://postgres:postgres@127.0.0.1:54329/settlement';
checkLedger(url).then(
  (audit) => {
    console.log(formatAudit(audit));
    process.exit(audit.ok ? 0 : 1);
  },
  (error: Error) => {
    console.error(`ledger check could not run: ${error.message}`);
    process.exit(2);
  },
);
