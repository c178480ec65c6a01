import { join } from 'node:path';
import { Client } from 'pg';
import { checkLedger, type LedgerAudit } from '@settlement/ledger-audit';
import { ServiceProcess, readInfrastructureEnv, type ServiceName } from '@settlement/testing';

export const repoRoot = join(__dirname, '..', '..', '..');
export const adminToken = 'e2e-admin-token';

/** Ports handed out to services of this test run; each test file takes its own block. */
// Below Linux's ephemeral range (32768-60999), where outgoing connections could hold a port; clear of 29092/29093.
let nextPort = 20000 + (process.pid % 800) * 10;

/** The three services started as processes against the shared test infrastructure. */
export class System {
  readonly infra = readInfrastructureEnv(repoRoot);
  readonly services: Record<ServiceName, ServiceProcess>;

  constructor(extraEnv: Record<string, string> = {}) {
    const env = { ...this.infra, ADMIN_TOKEN: adminToken, ...extraEnv };
    const logDir = join(process.env['TEST_DATA_DIR'] ?? join(repoRoot, '.data', 'test'), 'logs');
    const make = (name: ServiceName) => new ServiceProcess(name, nextPort++, { ...env, GATEWAY_INSTANCE_ID: `e2e-${process.pid}-${nextPort}` }, { repoRoot, logDir });
    const ledger = make('ledger');
    const settlement = make('settlement');
    const gateway = new ServiceProcess('gateway', nextPort++, { ...env, LEDGER_URL: ledger.url, GATEWAY_INSTANCE_ID: `e2e-${process.pid}-${nextPort}` }, { repoRoot, logDir });
    this.services = { ledger, settlement, gateway };
  }

  async start(): Promise<void> {
    await this.services.ledger.start();
    await this.services.settlement.start();
    await this.services.gateway.start();
  }

  async stop(): Promise<void> {
    await this.services.gateway.stop();
    await this.services.settlement.stop();
    await this.services.ledger.stop();
  }

  get gatewayUrl(): string {
    return this.services.gateway.url;
  }

  /** A JSON call to the gateway, returning status and parsed body. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.gatewayUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  }

  /** Creates a merchant, gets it a bearer token through the OAuth endpoint, returns the token. */
  async merchantWithToken(merchantId: string): Promise<string> {
    const created = await this.call('POST', '/admin/merchants', { merchantId }, { authorization: `Bearer ${adminToken}` });
    if (created.status !== 201) throw new Error(`creating merchant failed: ${JSON.stringify(created)}`);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: created.body.clientId, client_secret: created.body.clientSecret });
    const response = await fetch(`${this.gatewayUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    const token = (await response.json()) as { access_token: string };
    return token.access_token;
  }

  async fund(merchantId: string, username: string, amount: string, reference: string): Promise<void> {
    const funded = await this.call('POST', '/admin/wallets/fund', { merchantId, username, currency: 'USDT', amount, reference }, { authorization: `Bearer ${adminToken}` });
    if (funded.status !== 200) throw new Error(`funding failed: ${JSON.stringify(funded)}`);
  }

  /**
   * Runs the ledger checker, polling until it passes or `waitMs` has gone by:
   * the relay drains the outbox asynchronously, and the checker wants it empty.
   */
  async auditWhenDrained(waitMs = 5000): Promise<LedgerAudit> {
    const deadline = Date.now() + waitMs;
    let audit = await checkLedger(this.infra.DATABASE_URL);
    while (!audit.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      audit = await checkLedger(this.infra.DATABASE_URL);
    }
    return audit;
  }

  /**
   * Installs a trigger refusing every row inserted into `ledger.<table>` that
   * `condition` (plpgsql, on NEW) matches, with `message`: an error nobody
   * foresaw that a command's data meets on every attempt. Returns its removal.
   */
  async refuseInserts(table: string, condition: string, message: string): Promise<() => Promise<void>> {
    const name = `e2e_refuse_${table}_${process.pid}_${(refusalTriggers += 1)}`;
    await this.query(
      `CREATE FUNCTION ledger.${name}() RETURNS trigger LANGUAGE plpgsql AS $f$
       BEGIN IF ${condition} THEN RAISE EXCEPTION '${message}'; END IF; RETURN NEW; END $f$`,
    );
    await this.query(`CREATE TRIGGER ${name} BEFORE INSERT ON ledger.${table} FOR EACH ROW EXECUTE FUNCTION ledger.${name}()`);
    return async () => {
      await this.query(`DROP TRIGGER IF EXISTS ${name} ON ledger.${table}`);
      await this.query(`DROP FUNCTION IF EXISTS ledger.${name}()`);
    };
  }

  /** Runs a read-only query against the shared database, as an auditor would. */
  async query<T = Record<string, string>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.infra.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }
}

/** Triggers installed by refuseInserts in this process, for their names (with the pid: test files share the database). */
let refusalTriggers = 0;

export function uniqueId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * A further ledger process beside a System's: same database and Kafka, its own
 * port and extra environment (for example a crash point). Not started; the
 * caller starts and stops it. For crash and restart tests.
 */
export function ledgerProcess(system: Pick<System, 'infra'>, env: Record<string, string> = {}): ServiceProcess {
  return new ServiceProcess('ledger', nextPort++, { ...system.infra, ADMIN_TOKEN: adminToken, ...env }, {
    repoRoot,
    logDir: join(process.env['TEST_DATA_DIR'] ?? join(repoRoot, '.data', 'test'), 'logs'),
  });
}
