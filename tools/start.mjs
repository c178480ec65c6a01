// `npm start`: the whole system on this machine with demo data, then example
// calls to paste. Ctrl-C stops everything it started.
import { startInfrastructure, startServices, defaultPorts } from './stack.mjs';

const adminToken = process.env.ADMIN_TOKEN ?? 'dev-admin-token';
const started = Date.now();
let infra;
let app;
let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  console.log('\n[start] stopping services, Kafka and Postgres ...');
  await app?.stop();
  await infra?.stop();
  console.log('[start] stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function call(method, path, body, headers = {}) {
  const response = await fetch(`http://127.0.0.1:${defaultPorts.gateway}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Demo merchant `demo` with funded users alice and bob; safe to run on every start. */
async function provision() {
  const admin = { authorization: `Bearer ${adminToken}` };
  let credentials = await call('POST', '/admin/merchants', { merchantId: 'demo', name: 'Demo Games Ltd' }, admin);
  if (credentials.status === 409) credentials = await call('POST', '/admin/merchants/demo/secrets', undefined, admin);
  if (credentials.status !== 201) throw new Error(`provisioning the demo merchant failed: ${JSON.stringify(credentials)}`);
  for (const [username, amount] of [['alice', '1000'], ['bob', '500']]) {
    const funded = await call('POST', '/admin/wallets/fund', { merchantId: 'demo', username, currency: 'USDT', amount, reference: `demo-initial-${username}` }, admin);
    if (funded.status !== 200) throw new Error(`funding ${username} failed: ${JSON.stringify(funded)}`);
  }
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.body.clientId, client_secret: credentials.body.clientSecret });
  const tokenResponse = await fetch(`http://127.0.0.1:${defaultPorts.gateway}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const token = await tokenResponse.json();
  return { ...credentials.body, token: token.access_token };
}

try {
  infra = await startInfrastructure();
  app = await startServices({ env: { ...infra.env, ADMIN_TOKEN: adminToken } });
  const demo = await provision();
  const base = `http://127.0.0.1:${defaultPorts.gateway}`;
  const id = `demo-${Date.now()}`;
  console.log(`
Settlement platform is up in ${((Date.now() - started) / 1000).toFixed(1)} s. Ctrl-C stops everything.

  gateway     ${base}
  ledger      http://127.0.0.1:${defaultPorts.ledger}/health
  settlement  http://127.0.0.1:${defaultPorts.settlement}/health
  Kafka       ${infra.env.KAFKA_BROKERS}
  Postgres    ${infra.env.DATABASE_URL}
  logs        .data/logs/

Demo merchant "demo": client_id ${demo.clientId}, client_secret ${demo.clientSecret}
Users alice (1000 USDT) and bob (500 USDT). A fresh bearer token (1 h):

  export TOKEN=${demo.token}

Get another token (OAuth 2.0 client credentials):
  curl -s -X POST ${base}/oauth/token -d grant_type=client_credentials -d client_id=${demo.clientId} -d client_secret=${demo.clientSecret}

Hold 100 USDT of alice's balance for an order (seed 000 create):
  curl -s -X PUT ${base}/payment/wallet/v1/binaryOption/ext-orders/create \\
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
    -d '{"extRequestId":"${id}-1","username":"alice","currency":"USDT","amount":"100.0","bonusAmount":"0"}'

More than the balance (400, code 11000013):
  curl -s -X PUT ${base}/payment/wallet/v1/binaryOption/ext-orders/create \\
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
    -d '{"extRequestId":"${id}-2","username":"bob","currency":"USDT","amount":"5000","bonusAmount":"0"}'

Fund a user (admin):
  curl -s -X POST ${base}/admin/wallets/fund -H 'Authorization: Bearer ${adminToken}' -H 'Content-Type: application/json' \\
    -d '{"merchantId":"demo","username":"carol","currency":"USDT","amount":"250","reference":"${id}-fund"}'
`);
} catch (error) {
  console.error(`[start] ${error.stack ?? error}`);
  await shutdown(1);
}
