// Starts the whole system on this machine: embedded Postgres, a real Kafka
// broker, and the three services as processes. Shared by `npm start` and the
// benchmarks; the tests use the same pieces through their global setup.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka } from '../infra/kafka/kafka.mjs';
import { startPostgres } from '../infra/postgres/postgres.mjs';
import { build } from './build.mjs';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Ports of the default local setup; each can be overridden by the environment. */
export const defaultPorts = {
  kafka: Number(process.env.KAFKA_PORT ?? 9092),
  kafkaController: Number(process.env.KAFKA_CONTROLLER_PORT ?? 9093),
  postgres: Number(process.env.POSTGRES_PORT ?? 54329),
  gateway: Number(process.env.GATEWAY_PORT ?? 3000),
  ledger: Number(process.env.LEDGER_PORT ?? 3001),
  settlement: Number(process.env.SETTLEMENT_PORT ?? 3002),
};

/**
 * WAL kept ready for `npm start` and the benchmarks (see reserveWal in
 * infra/postgres): a fresh cluster otherwise stalls every commit for 25-59 ms
 * each time it fills a 16 MB segment. The tests start without it.
 */
export const defaultWalReserveMb = 1024;

/**
 * Starts Postgres and Kafka unless DATABASE_URL / KAFKA_BROKERS point at
 * running ones. Returns their addresses and a stop function for what it started.
 */
export async function startInfrastructure({ dataDir = join(repoRoot, '.data'), ports = defaultPorts, log = console.log, walReserveMb = 0 } = {}) {
  const stops = [];
  let databaseUrl = process.env.DATABASE_URL;
  let kafkaBrokers = process.env.KAFKA_BROKERS;
  try {
    if (!databaseUrl) {
      const pg = await startPostgres({ dataDir: join(dataDir, 'postgres'), port: ports.postgres, log, walReserveMb });
      stops.push(pg.stop);
      databaseUrl = pg.url;
    } else log(`[stack] using DATABASE_URL from the environment`);
    if (!kafkaBrokers) {
      const kafka = await startKafka({ dataDir: join(dataDir, 'kafka'), port: ports.kafka, controllerPort: ports.kafkaController, log });
      stops.push(kafka.stop);
      kafkaBrokers = kafka.brokers.join(',');
    } else log(`[stack] using KAFKA_BROKERS from the environment`);
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
  return {
    env: { DATABASE_URL: databaseUrl, KAFKA_BROKERS: kafkaBrokers },
    stop: async () => {
      for (const stop of stops.reverse()) await stop().catch((e) => log(`[stack] stop failed: ${e.message}`));
    },
  };
}

/** Builds and starts the three services against the given infrastructure; ledger first, it owns the topics' consumers. */
export async function startServices({ env, ports = defaultPorts, logDir = join(repoRoot, '.data', 'logs'), log = console.log, skipBuild = false }) {
  if (!skipBuild) {
    const { files, ms } = await build();
    log(`[stack] built ${files} files in ${ms} ms`);
  }
  const { ServiceProcess } = require(join(repoRoot, 'dist', 'libs', 'testing', 'index.js'));
  const services = {};
  const started = [];
  try {
    for (const name of ['ledger', 'settlement', 'gateway']) {
      const serviceEnv = name === 'gateway' ? { ...env, LEDGER_URL: services.ledger.url } : env;
      const service = new ServiceProcess(name, ports[name], serviceEnv, { repoRoot, logDir });
      const t0 = Date.now();
      await service.start();
      started.push(service);
      services[name] = service;
      log(`[stack] ${name} ready on ${service.url} (pid ${service.pid}, ${Date.now() - t0} ms)`);
    }
  } catch (error) {
    for (const s of started.reverse()) await s.stop();
    throw error;
  }
  return {
    services,
    stop: async () => {
      for (const s of started.reverse()) await s.stop();
    },
  };
}
