// `npm start`: the whole system on this machine with demo data, then example
// calls to paste. Ctrl-C stops everything it started.
import { createHmac } from 'node:crypto';
import { defaultWalReserveMb, startInfrastructure, startServices, defaultPorts } from './stack.mjs';

/** The seamless-wallet digest (docs/api/seamless-wallet.md): HMAC-SHA256 over canonical JSON. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}
function signedBody(body, secret) {
  return JSON.stringify({ ...body, hash: createHmac('sha256', secret).update(canonical(body)).digest('hex') });
}

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
  if (credentials.status === 409) {
    // Secrets are shown once: on a restart, issue fresh ones to print.
    credentials = await call('POST', '/admin/merchants/demo/secrets', undefined, admin);
    const wallet = await call('POST', '/admin/merchants/demo/wallet-secret', undefined, admin);
    credentials.body.walletSecret = wallet.body.walletSecret;
  }
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
  const minted = await call('POST', '/seamless/v1/tokens', { username: 'alice', currency: 'USDT', ttlSeconds: 86400 }, { authorization: `Bearer ${token.access_token}` });
  return { ...credentials.body, token: token.access_token, walletToken: minted.body.token };
}

try {
  infra = await startInfrastructure({ walReserveMb: defaultWalReserveMb });
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

Seamless wallet (seed 003) for alice, wallet token and hash filled in (wallet secret ${demo.walletSecret}):
  curl -s -X POST ${base}/seamless/v1/getbalance -H 'Content-Type: application/json' \\
    -d '${signedBody({ token: demo.walletToken, amount: '100', currency: 'USDT' }, demo.walletSecret)}'
  curl -s -X POST ${base}/seamless/v1/opentrade -H 'Content-Type: application/json' \\
    -d '${signedBody({ token: demo.walletToken, amount: '100', currency: 'USDT', externalTradeType: 'options', externalTradeId: `${id}-trade` }, demo.walletSecret)}'
  curl -s -X POST ${base}/seamless/v1/closetrade -H 'Content-Type: application/json' \\
    -d '${signedBody({ token: demo.walletToken, amount: '190', currency: 'USDT', externalTradeType: 'options', externalTradeId: `${id}-trade`, data: { stake: '100', payout: '90', pnl: '90' } }, demo.walletSecret)}'

Query the first order:
  curl -s ${base}/payment/wallet/v1/binaryOption/ext-orders/${id}-1 -H "Authorization: Bearer $TOKEN"

OpenAPI: ${base}/openapi/ext-orders.json and ${base}/openapi/seamless-wallet.json

Fund a user (admin):
  curl -s -X POST ${base}/admin/wallets/fund -H 'Authorization: Bearer ${adminToken}' -H 'Content-Type: application/json' \\
    -d '{"merchantId":"demo","username":"carol","currency":"USDT","amount":"250","reference":"${id}-fund"}'

Alice's postings, newest first, on the ledger's internal port (filters type, account, from, to; limit and cursor):
  curl -s 'http://127.0.0.1:${defaultPorts.ledger}/wallets/demo/alice/USDT/postings?limit=5'
Her operations, one per transaction, with the balances each left (filters type, from, to; limit and cursor):
  curl -s 'http://127.0.0.1:${defaultPorts.ledger}/wallets/demo/alice/USDT/operations?limit=5'
`);
} catch (error) {
  console.error(`[start] ${error.stack ?? error}`);
  await shutdown(1);
}
