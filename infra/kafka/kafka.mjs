#!/usr/bin/env node
// A real single-node Apache Kafka 3.9.1 broker (KRaft, broker+controller in one
// JVM) for development and tests, without Docker. The jars come from Maven
// Central through infra/kafka/pom.xml and are cached in infra/kafka/.cache/lib.
//
// Library:
//   import { ensureKafkaInstalled, startKafka } from './infra/kafka/kafka.mjs';
//   const kafka = await startKafka({ dataDir: '/tmp/k1', port: 19092, controllerPort: 19093 });
//   ... kafka.brokers -> ['127.0.0.1:19092'] ...
//   await kafka.stop();
//
// CLI:
//   node infra/kafka/kafka.mjs install
//   node infra/kafka/kafka.mjs start [--data-dir DIR] [--port N] [--controller-port N] [--heap-mb N]
//
// Needs: java (17+) on PATH or $JAVA_HOME, mvn for the first install, kafkajs.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';

import {
  assertPortsFree,
  isPortFree,
  killOnParentExit,
  parseArgs,
  parsePort,
  raceTimeout,
  runUntilSignal,
  signal,
  sleep,
  startParentDeathWatchdog,
} from '../lib/process-guard.mjs';

export { isPortFree };

const { Kafka, logLevel } = kafkajs;

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const KAFKA_VERSION = '3.9.1';
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, '.data', 'kafka');

const POM = path.join(HERE, 'pom.xml');
const LOG4J = path.join(HERE, 'log4j.properties');
const CACHE_DIR = path.join(HERE, '.cache');
const LIB_DIR = path.join(CACHE_DIR, 'lib');
const STAMP = '.pom-sha256';

function javaBin() {
  if (process.env.JAVA_HOME) {
    const candidate = path.join(process.env.JAVA_HOME, 'bin', 'java');
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'java';
}

function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function listJars(dir) {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jar'))
      .sort();
  } catch {
    return [];
  }
}

function libIsCurrent(dir, pomHash) {
  const jars = listJars(dir);
  if (!jars.some((j) => j === `kafka_2.13-${KAFKA_VERSION}.jar`)) return false;
  try {
    return fs.readFileSync(path.join(dir, STAMP), 'utf8').trim() === pomHash;
  } catch {
    return false;
  }
}

function classpathOf(dir) {
  return listJars(dir)
    .map((j) => path.join(dir, j))
    .join(path.delimiter);
}

/** Runs a command, collecting stdout+stderr; rejects with the output on non-zero exit. */
function run(cmd, args, { env = process.env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.on('close', (code, sig) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} ... exited with ${code ?? sig}\n${out.slice(-4000)}`));
    });
  });
}

/**
 * Makes sure the Kafka broker jars are in infra/kafka/.cache/lib (fetched once
 * with Maven from Maven Central; refetched only when pom.xml changes).
 * @param {{ log?: (msg: string) => void }} [options]
 * @returns {Promise<string>} the Java classpath (jar paths joined by ':')
 */
export async function ensureKafkaInstalled({ log = console.log } = {}) {
  const pomHash = sha256File(POM);
  if (libIsCurrent(LIB_DIR, pomHash)) return classpathOf(LIB_DIR);

  log(`[kafka] fetching Apache Kafka ${KAFKA_VERSION} jars with Maven into ${path.relative(REPO_ROOT, LIB_DIR)} (first run only)...`);
  const started = Date.now();
  await fsp.mkdir(CACHE_DIR, { recursive: true });
  // Download into a private directory, then rename: concurrent installers do not see half a classpath.
  const tmp = path.join(CACHE_DIR, `lib.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    await run('mvn', [
      '-q',
      '-B',
      '-ntp',
      '-Dstyle.color=never',
      '-f',
      POM,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
    ]).catch((err) => {
      if (/ENOENT/.test(err.message)) throw new Error('[kafka] `mvn` not found on PATH: install Maven 3.8+ (apt-get install maven)');
      throw err;
    });
    if (!listJars(tmp).includes(`kafka_2.13-${KAFKA_VERSION}.jar`)) {
      throw new Error(`[kafka] Maven finished but ${tmp} has no kafka_2.13-${KAFKA_VERSION}.jar`);
    }
    fs.writeFileSync(path.join(tmp, STAMP), pomHash + '\n');
    if (libIsCurrent(LIB_DIR, pomHash)) {
      // Another process won the race.
      await fsp.rm(tmp, { recursive: true, force: true });
    } else {
      await fsp.rm(LIB_DIR, { recursive: true, force: true });
      await fsp.rename(tmp, LIB_DIR);
    }
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  log(`[kafka] ${listJars(LIB_DIR).length} jars ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return classpathOf(LIB_DIR);
}

function serverProperties({ port, controllerPort, logDir }) {
  return [
    '# Written by infra/kafka/kafka.mjs on every start: edit the script, not this file.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDir}`,
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    // 1 network and 2 I/O threads were tried (system benchmark, two back-to-back pairs against these):
    // Kafka's CPU per order, latency and saturation stayed within the run-to-run noise.
    'num.network.threads=2',
    'num.io.threads=4',
    'num.recovery.threads.per.data.dir=1',
    '',
  ].join('\n');
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (what `StorageTool random-uuid` prints). */
function randomClusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

async function describeClusterOnce(brokers) {
  const kafka = new Kafka({
    clientId: 'kafka-mjs-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Starts a single-node KRaft broker and resolves once it answers DescribeCluster.
 * Restarting on the same dataDir keeps topics and data (storage is formatted only once),
 * after `stop()` (controlled shutdown) and after `crash()` (SIGKILL) alike.
 * The JVM is stopped when the calling Node process exits, and killed by a watchdog
 * (within about a second, SIGTERM then SIGKILL after 30 s) if that process dies abruptly.
 *
 * @param {object} [options]
 * @param {string} [options.dataDir] default <repo>/.data/kafka
 * @param {number} [options.port] PLAINTEXT port, default 9092
 * @param {number} [options.controllerPort] KRaft controller port, default 9093
 * @param {(msg: string) => void} [options.log] default console.log
 * @param {number} [options.heapMb] JVM heap (-Xms and -Xmx), default 512
 * @param {number} [options.readyTimeoutMs] default 90000
 * @param {number} [options.stopGraceMs] SIGTERM -> SIGKILL delay in stop(), default 30000
 * @returns {Promise<{ brokers: string[], pid: number, dataDir: string, logFile: string,
 *   exited: Promise<{ code: number | null, sig: string | null }>, stop: () => Promise<void>, crash: () => Promise<void> }>}
 */
export async function startKafka({
  dataDir = DEFAULT_DATA_DIR,
  port = 9092,
  controllerPort = 9093,
  log = console.log,
  heapMb = 512,
  readyTimeoutMs = 90_000,
  stopGraceMs = 30_000,
} = {}) {
  const t0 = Date.now();
  dataDir = path.resolve(dataDir);
  const logDir = path.join(dataDir, 'kraft-combined-logs');
  const logsDir = path.join(dataDir, 'logs');
  const propsFile = path.join(dataDir, 'server.properties');
  const serverLog = path.join(logsDir, 'server.log');
  const stdoutLog = path.join(logsDir, 'stdout.log');
  const brokers = [`127.0.0.1:${port}`];

  if (port === controllerPort) throw new Error('[kafka] port and controllerPort must differ');
  await assertPortsFree([port, controllerPort], '[kafka]');
  const cp = await ensureKafkaInstalled({ log });

  await fsp.mkdir(logsDir, { recursive: true });
  await fsp.writeFile(propsFile, serverProperties({ port, controllerPort, logDir }));

  const java = javaBin();
  const log4jArgs = [`-Dlog4j.configuration=file:${LOG4J}`, `-Dkafka.logs.dir=${logsDir}`];

  if (!fs.existsSync(path.join(logDir, 'meta.properties'))) {
    const clusterId = randomClusterId();
    log(`[kafka] formatting storage in ${logDir} (cluster id ${clusterId})`);
    await run(java, ['-Xmx256m', '-cp', cp, ...log4jArgs, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile]);
  }

  const marker = `===== ${new Date().toISOString()} kafka.mjs: starting broker (parent pid ${process.pid}) =====\n`;
  fs.appendFileSync(serverLog, marker);
  fs.appendFileSync(stdoutLog, marker);
  const out = fs.openSync(stdoutLog, 'a');
  let child;
  try {
    child = spawn(
      java,
      [
        // The whole heap from the start. Grown from 128 MB, G1 kept the heap near 285 MB, sized the young
        // generation to it and collected every ~3 s, each young pause (5-9 ms) followed by a concurrent
        // cycle's remark (5-9 ms); every pause stalls each request in the broker (each order passes it
        // twice). bench:intake at 500 requests/s: 27-29 pauses instead of 61-70, 245 ms of pauses
        // instead of 350, p99 equal or lower in both back-to-back pairs.
        `-Xmx${heapMb}m`,
        `-Xms${heapMb}m`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:InitiatingHeapOccupancyPercent=35',
        '-XX:+ExplicitGCInvokesConcurrent',
        '-XX:MaxInlineLevel=15',
        `-XX:ErrorFile=${path.join(logsDir, 'hs_err_pid%p.log')}`,
        '-Djava.awt.headless=true',
        ...log4jArgs,
        '-cp',
        cp,
        'kafka.Kafka',
        propsFile,
      ],
      // Own process group: a Ctrl-C in the terminal reaches us, and we stop the broker in order.
      { detached: true, stdio: ['ignore', out, out] },
    );
  } finally {
    fs.closeSync(out);
  }

  const pid = child.pid;
  if (!pid) {
    const err = await new Promise((resolve) => child.once('error', resolve));
    throw new Error(`[kafka] could not start ${java}: ${err?.message}`);
  }
  child.on('error', () => {});
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
  let hasExited = false;
  exited.then(() => (hasExited = true));

  const unhookExit = killOnParentExit(pid, 'SIGTERM');
  const watchdog = startParentDeathWatchdog({ targetPid: pid, sig: 'TERM', graceSeconds: Math.ceil(stopGraceMs / 1000), name: 'kafka-watchdog' });
  log(`[kafka] broker pid ${pid} starting on ${brokers[0]} (controller 127.0.0.1:${controllerPort}), logs in ${logsDir}`);

  let stopping;
  // `crash` (SIGKILL, no controlled shutdown: the next start recovers the logs) is for fault-injection runs.
  const stopWith = (firstSignal) => {
    if (stopping) return stopping;
    stopping = (async () => {
      child.ref();
      if (!hasExited) {
        signal(pid, firstSignal);
        const timedOut = await raceTimeout(exited, stopGraceMs);
        if (timedOut && !hasExited) {
          log(`[kafka] broker pid ${pid} still running ${stopGraceMs} ms after ${firstSignal}: SIGKILL`);
          signal(pid, 'SIGKILL');
          await exited;
        }
      }
      unhookExit();
      watchdog.cancel();
      child.unref();
    })();
    return stopping;
  };
  const stop = () => stopWith('SIGTERM');
  const crash = () => stopWith('SIGKILL');

  // Readiness: DescribeCluster answers.
  const deadline = t0 + readyTimeoutMs;
  let lastError;
  for (;;) {
    if (hasExited) {
      const { code, sig } = await exited;
      unhookExit();
      watchdog.cancel();
      throw new Error(
        `[kafka] broker exited during startup (code ${code ?? sig}).\n--- ${serverLog} ---\n${tail(serverLog)}\n--- ${stdoutLog} ---\n${tail(stdoutLog, 20)}`,
      );
    }
    try {
      await describeClusterOnce(brokers);
      break;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `[kafka] broker not ready within ${readyTimeoutMs} ms (last error: ${lastError?.message}); stopped it.\n` +
          `--- ${serverLog} ---\n${tail(serverLog)}\n--- ${stdoutLog} ---\n${tail(stdoutLog, 20)}`,
      );
    }
    await sleep(250);
  }

  // Do not keep the caller's event loop alive just for the broker: the exit hook and
  // the watchdog stop it when the caller ends. stop() re-refs while it waits.
  child.unref();
  log(`[kafka] ready on ${brokers[0]} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { brokers, pid, dataDir, logFile: serverLog, exited, stop, crash };
}

async function main(argv) {
  const args = parseArgs(argv);
  const cmd = args._[0];
  if (cmd === 'install') {
    const cp = await ensureKafkaInstalled();
    console.log(`[kafka] classpath ready: ${cp.split(path.delimiter).length} jars in ${LIB_DIR}`);
    return;
  }
  if (cmd === 'start') {
    const dataDir = typeof args.dataDir === 'string' ? path.resolve(args.dataDir) : DEFAULT_DATA_DIR;
    const port = args.port ? parsePort(args.port, '--port') : 9092;
    const controllerPort = args.controllerPort ? parsePort(args.controllerPort, '--controller-port') : port + 1;
    const heapMb = args.heapMb ? Number(args.heapMb) : 512;
    const kafka = await startKafka({ dataDir, port, controllerPort, heapMb });
    console.log(`[kafka] KAFKA_BROKERS=${kafka.brokers.join(',')}  (pid ${kafka.pid}, data ${kafka.dataDir}); Ctrl-C to stop`);
    const cli = runUntilSignal(kafka.stop, { name: 'kafka' });
    // If the broker dies on its own, exit with an error.
    kafka.exited.then(({ code, sig }) => {
      if (cli.stopping) return;
      console.error(`[kafka] broker pid ${kafka.pid} exited unexpectedly (${code ?? sig}); see ${kafka.logFile}`);
      process.exit(1);
    });
    return;
  }
  console.error(
    [
      'usage:',
      '  node infra/kafka/kafka.mjs install',
      '  node infra/kafka/kafka.mjs start [--data-dir DIR] [--port 9092] [--controller-port PORT+1] [--heap-mb 512]',
    ].join('\n'),
  );
  process.exit(cmd ? 2 : 0);
}

const invokedDirectly = process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err?.message ?? err);
    process.exit(1);
  });
}
