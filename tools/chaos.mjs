// `npm run chaos`: the crash-and-restart test under load (tools/chaos/run-chaos.mjs).
// Prints the seed first and a summary last, writes reports/chaos-<seed>.json,
// exits 1 when any check fails.
//
// Options: --seed N (default: random, printed)  --seconds 120  --rate 40  --users 24
//          --kafka-port 19292 (controller: +1)  --postgres-port 19735  --service-port 19300 (gateway; ledger +1, settlement +2)
//          --data-dir .data/chaos  --skip-build (dist/ is current: the e2e global setup built it)
import { join } from 'node:path';
import { parseArgs, parsePort } from '../infra/lib/process-guard.mjs';
import { chaosDefaults, runChaos } from './chaos/run-chaos.mjs';
import { repoRoot } from './stack.mjs';

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log('usage: npm run chaos -- [--seed N] [--seconds 120] [--rate 40] [--users 24] [--kafka-port 19292] [--postgres-port 19735] [--service-port 19300] [--data-dir DIR] [--skip-build]');
  process.exit(0);
}
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, not ${args.seed}`);
// Defaults below Linux's ephemeral port range (32768-60999), where a closing client connection can hold a port.
const kafkaPort = parsePort(args.kafkaPort ?? 19292, '--kafka-port');
const servicePort = parsePort(args.servicePort ?? 19300, '--service-port');
const ports = {
  kafka: kafkaPort,
  kafkaController: kafkaPort + 1,
  postgres: parsePort(args.postgresPort ?? 19735, '--postgres-port'),
  gateway: servicePort,
  ledger: servicePort + 1,
  settlement: servicePort + 2,
};

runChaos({
  seed,
  seconds: Number(args.seconds ?? chaosDefaults.seconds),
  rate: Number(args.rate ?? chaosDefaults.rate),
  users: Number(args.users ?? chaosDefaults.users),
  ports,
  dataDir: typeof args.dataDir === 'string' ? args.dataDir : join(repoRoot, '.data', 'chaos'),
  reportFile: join(repoRoot, 'reports', `chaos-${seed}.json`),
  skipBuild: args.skipBuild === true,
}).then(
  (report) => process.exit(report.ok ? 0 : 1),
  (error) => {
    console.error(`[chaos] seed ${seed}: the run could not complete: ${error.stack ?? error}`);
    process.exit(2);
  },
);
