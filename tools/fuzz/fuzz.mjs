// `npm run fuzz`: schemathesis (from PyPI, pinned in tools/fuzz/requirements.txt,
// installed into .venv-fuzz/ on first use) against every OpenAPI document the
// gateway serves, with tools/fuzz/hooks.py signing seamless bodies and its own
// checks on the dialects' codes, then against the ledger's query document
// (tools/fuzz/ledger.schemathesis.toml) on the fuzzer's funded wallet. Exits
// non-zero when schemathesis reports a failure.
//
// Without --gateway it starts Postgres, Kafka and the three services on its own
// ports (traffic only to 127.0.0.1) and stops them afterwards. The e2e test
// apps/e2e/src/fuzz.e2e-spec.ts runs this with --gateway and --ledger against its System.
//
// Options: --gateway URL --ledger URL (the ledger's query API; without it only the
//          gateway's documents when --gateway is given) --admin-token TOKEN
//          --max-examples 200 --max-time SECONDS --seed N --report-dir DIR (default reports/fuzz)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../stack.mjs';

/** The documents the gateway serves, each fuzzed on its own. */
export const FUZZ_DOCUMENTS = (process.env.FUZZ_DOCUMENTS ?? 'ext-orders,seamless-wallet').split(',');

const venvDir = join(repoRoot, '.venv-fuzz');
const requirements = join(repoRoot, 'tools', 'fuzz', 'requirements.txt');
const hooks = join(repoRoot, 'tools', 'fuzz', 'hooks.py');
const config = join(repoRoot, 'tools', 'fuzz', 'schemathesis.toml');
const ledgerConfig = join(repoRoot, 'tools', 'fuzz', 'ledger.schemathesis.toml');
const schemathesisBin = join(venvDir, 'bin', 'schemathesis');

/**
 * Creates .venv-fuzz with python3 -m venv and installs the pinned requirements,
 * unless the venv already holds exactly them (a stamp keeps the requirements' hash).
 */
export function ensureVenv(log = console.log) {
  const wanted = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const stamp = join(venvDir, '.requirements.sha256');
  if (existsSync(schemathesisBin) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return;
  log(`[fuzz] installing schemathesis into ${venvDir}`);
  const run = (cmd, args) => {
    const result = spawnSync(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status ?? result.signal}`);
  };
  run('python3', ['-m', 'venv', venvDir]);
  run(join(venvDir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', requirements]);
  writeFileSync(stamp, wanted);
}

async function call(gateway, method, path, body, headers = {}) {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** A fresh merchant with a bearer token, a funded user and a wallet token for that user. */
export async function provision(gateway, adminToken) {
  const admin = { authorization: `Bearer ${adminToken}` };
  const merchantId = `fuzz-${Date.now().toString(36)}`;
  const username = 'fuzz-player';
  const currency = 'USDT';
  const created = await call(gateway, 'POST', '/admin/merchants', { merchantId }, admin);
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret });
  const issued = await call(gateway, 'POST', '/oauth/token', form.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
  await call(gateway, 'POST', '/admin/wallets/fund', { merchantId, username, currency, amount: '1000000', reference: 'fuzz-initial' }, admin);
  const minted = await call(gateway, 'POST', '/seamless/v1/tokens', { username, currency, ttlSeconds: 86400 }, { authorization: `Bearer ${issued.access_token}` });
  return { merchantId, username, currency, bearerToken: issued.access_token, walletToken: minted.token, walletSecret: created.walletSecret };
}

/**
 * Runs schemathesis on each document the gateway serves and, given `ledger`,
 * on the ledger's query document; returns the documents with failures.
 * Output goes to the console; reports (JUnit) to reportDir.
 */
export async function fuzzDocuments({ gateway, ledger, adminToken, maxExamples, maxTimeSeconds, seed, reportDir, log = console.log }) {
  ensureVenv(log);
  const identity = await provision(gateway, adminToken);
  log(`[fuzz] merchant ${identity.merchantId}, user ${identity.username} (${identity.currency})`);
  const env = {
    FUZZ_MERCHANT: identity.merchantId,
    FUZZ_USERNAME: identity.username,
    FUZZ_CURRENCY: identity.currency,
    FUZZ_WALLET_TOKEN: identity.walletToken,
    FUZZ_WALLET_SECRET: identity.walletSecret,
  };
  const runs = FUZZ_DOCUMENTS.map((document) => ({
    document,
    base: gateway,
    configFile: config,
    // The admin document is fuzzed with the admin token, the dialects with the merchant's bearer token.
    headers: [`Authorization: Bearer ${document === 'admin' ? adminToken : identity.bearerToken}`],
    hooks: true,
  }));
  if (ledger !== undefined) runs.push({ document: 'ledger-queries', base: ledger, configFile: ledgerConfig, headers: [], hooks: false });
  const failed = [];
  for (const { document, base, configFile, headers, hooks: withHooks } of runs) {
    const args = [
      'run', `${base}/openapi/${document}.json`,
      '--url', base,
      ...headers.flatMap((header) => ['--header', header]),
      '--max-examples', String(maxExamples),
      '--workers', '2',
      // Longer than the gateway's wait for a ledger result (the e2e test sets RESULT_WAIT_MS to 30 s on a loaded
      // machine): a slow answer is then the gateway's documented 504, never a timeout of the fuzzer's own.
      '--request-timeout', '45',
      '--no-color',
      '--report', 'junit',
      '--report-junit-path', join(reportDir, `${document}.junit.xml`),
      ...(maxTimeSeconds !== undefined ? ['--max-time', String(maxTimeSeconds)] : []),
      ...(seed !== undefined ? ['--seed', String(seed)] : []),
    ];
    log(`[fuzz] schemathesis ${document}`);
    const result = spawnSync(schemathesisBin, ['--config-file', configFile, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        ...env,
        ...(withHooks ? { SCHEMATHESIS_HOOKS: hooks } : {}),
        // Failing examples are not replayed from a database kept between runs: each run stands on its seed.
        HYPOTHESIS_STORAGE_DIRECTORY: join(reportDir, '.hypothesis'),
      },
    });
    if (result.status !== 0) failed.push(`${document} (exit ${result.status ?? result.signal})`);
  }
  return { failed, identity };
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) args[argv[i].slice(2)] = argv[i + 1];
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const reportDir = args['report-dir'] ?? join(repoRoot, 'reports', 'fuzz');
  mkdirSync(reportDir, { recursive: true });
  const options = {
    adminToken: args['admin-token'] ?? 'fuzz-admin-token',
    maxExamples: Number(args['max-examples'] ?? 200),
    maxTimeSeconds: args['max-time'] !== undefined ? Number(args['max-time']) : undefined,
    seed: args.seed !== undefined ? Number(args.seed) : undefined,
    reportDir,
  };
  let stack;
  let gateway = args.gateway;
  let ledger = args.ledger;
  if (gateway === undefined) {
    const { startInfrastructure, startServices } = await import('../stack.mjs');
    // Below Linux's ephemeral port range (32768-60999), where an outgoing connection could be holding a port.
    const ports = { kafka: 18492, kafkaController: 18493, postgres: 18494, gateway: 13300, ledger: 13301, settlement: 13302 };
    const infra = await startInfrastructure({ dataDir: join(repoRoot, '.data', 'fuzz'), ports });
    try {
      const app = await startServices({ env: { ...infra.env, ADMIN_TOKEN: options.adminToken }, ports, logDir: join(repoRoot, '.data', 'fuzz', 'logs') });
      stack = { stop: async () => (await app.stop(), await infra.stop()) };
    } catch (error) {
      await infra.stop();
      throw error;
    }
    gateway = `http://127.0.0.1:${ports.gateway}`;
    ledger = `http://127.0.0.1:${ports.ledger}`;
  }
  try {
    const { failed } = await fuzzDocuments({ gateway, ledger, ...options });
    console.log(failed.length === 0 ? '[fuzz] no failures' : `[fuzz] failures in: ${failed.join(', ')}`);
    process.exitCode = failed.length === 0 ? 0 : 1;
  } finally {
    await stack?.stop();
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
