// Jest global setup for the end-to-end project: builds the services and starts
// the real infrastructure once per run. Local servers by default (a Kafka
// broker from Maven Central jars, embedded Postgres); with TEST_INFRA=testcontainers
// and a reachable Docker engine, containers instead.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build } from '../../tools/build.mjs';
import { repoRoot, startInfrastructure } from '../../tools/stack.mjs';

// TEST_DATA_DIR and TEST_KAFKA_PORT / TEST_POSTGRES_PORT let two test runs share a machine.
const testDataDir = process.env.TEST_DATA_DIR ?? join(repoRoot, '.data', 'test');
process.env.TEST_DATA_DIR = testDataDir;
const envFile = join(testDataDir, 'infrastructure.json');

/** Ports of the test infrastructure: distinct from `npm start`, so both can run at once, and below Linux's ephemeral range (32768-60999). */
const kafkaPort = Number(process.env.TEST_KAFKA_PORT ?? 29092);
const testPorts = { kafka: kafkaPort, kafkaController: kafkaPort + 1, postgres: Number(process.env.TEST_POSTGRES_PORT ?? 29094) };

async function startWithTestcontainers() {
  const { GenericContainer, Wait } = await import('testcontainers');
  const pg = await new GenericContainer('postgres:17')
    .withEnvironment({ POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'settlement' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const kafka = await new GenericContainer('apache/kafka:3.9.1')
    .withExposedPorts({ container: 9092, host: testPorts.kafka })
    .withEnvironment({
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${testPorts.kafka},CONTROLLER://localhost:9093`,
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return {
    env: {
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${pg.getMappedPort(5432)}/settlement`,
      KAFKA_BROKERS: `127.0.0.1:${testPorts.kafka}`,
    },
    stop: async () => {
      await kafka.stop();
      await pg.stop();
    },
  };
}

export default async function globalSetup() {
  const log = (line) => process.stdout.write(`${line}\n`);
  await rm(testDataDir, { recursive: true, force: true });
  await mkdir(testDataDir, { recursive: true });
  const { files, ms } = await build();
  log(`\n[e2e] built ${files} files in ${ms} ms`);
  let infra;
  if (process.env.TEST_INFRA === 'testcontainers') {
    try {
      infra = await startWithTestcontainers();
      log('[e2e] infrastructure from testcontainers');
    } catch (error) {
      log(`[e2e] testcontainers unavailable (${String(error.message).split('\n')[0]}); using local Kafka and Postgres`);
    }
  }
  infra ??= await startInfrastructure({ dataDir: testDataDir, ports: testPorts, log });
  await mkdir(dirname(envFile), { recursive: true });
  await writeFile(envFile, JSON.stringify(infra.env));
  globalThis.__settlementInfrastructure = infra;
}
