// `npm test`: unit, integration and end-to-end tests with jest, on real Kafka
// and Postgres started by the e2e global setup. Prints `N passed, N failed`
// last, from jest's own counts. Extra arguments go to jest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './stack.mjs';

const reportDir = join(repoRoot, 'reports');
mkdirSync(reportDir, { recursive: true });
const report = join(reportDir, 'jest.json');
// In band: the end-to-end files start real service processes that share one
// Kafka and one Postgres, and the machine has two cores.
const result = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--runInBand', '--json', `--outputFile=${report}`, ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
});
let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const summary = JSON.parse(readFileSync(report, 'utf8'));
  passed = summary.numPassedTests;
  failed = summary.numFailedTests + (summary.numRuntimeErrorTestSuites ?? 0);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(result.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
