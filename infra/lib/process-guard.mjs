// Helpers shared by infra/kafka/kafka.mjs and infra/postgres/postgres.mjs.
// Plain Node ESM, built-ins only.

import { spawn } from 'node:child_process';
import net from 'node:net';

/**
 * Resolves true when nothing listens on host:port (we can bind it ourselves).
 * @param {number} port
 * @param {string} [host]
 * @returns {Promise<boolean>}
 */
export function isPortFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Throws a readable error when one of the ports is taken. */
export async function assertPortsFree(ports, what) {
  for (const port of ports) {
    if (!(await isPortFree(port))) {
      throw new Error(
        `${what}: port 127.0.0.1:${port} is already in use (is another instance running? ` +
          `pick another port or stop it first)`,
      );
    }
  }
}

/** True when a process with this pid exists (zombies included). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for `promise` at most `ms`; resolves true on timeout, false otherwise.
 * The timer is cleared, so it never keeps the event loop alive afterwards.
 */
export function raceTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise.then(() => false),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Sends a signal, ignoring "no such process". */
export function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

// The watchdog is a tiny /bin/sh loop, started detached (its own session, so a
// Ctrl-C in the terminal does not reach it). Every second it checks that
//   - the target still exists (else it exits), and
//   - its own parent is still the Node process that started it. When that Node
//     process dies, even by SIGKILL, the watchdog is re-parented, its ppid in
//     /proc changes (immune to pid reuse), and it sends the target `sig`, waits
//     up to `grace` seconds, then SIGKILLs it.
// Where /proc is missing (macOS) it falls back to `kill -0 <parent pid>`.
const WATCHDOG_SCRIPT = `
P="$1"; T="$2"; SIG="$3"; GRACE="$4"
trap '' INT HUP
parent_alive() {
  if [ -r "/proc/$$/stat" ]; then
    read -r _ _ _ pp _ < "/proc/$$/stat"
    [ "$pp" = "$P" ]
  else
    kill -0 "$P" 2>/dev/null
  fi
}
while kill -0 "$T" 2>/dev/null; do
  if ! parent_alive; then
    kill -"$SIG" "$T" 2>/dev/null
    i=0
    while kill -0 "$T" 2>/dev/null && [ "$i" -lt "$GRACE" ]; do sleep 1; i=$((i+1)); done
    kill -KILL "$T" 2>/dev/null
    exit 0
  fi
  sleep 1
done
exit 0
`;

/**
 * Starts a watchdog that kills `targetPid` when the current Node process
 * disappears. Returns the watchdog's pid and a `cancel()` that ends it.
 * @param {{ targetPid: number, sig?: string, graceSeconds?: number, name?: string }} opts
 */
export function startParentDeathWatchdog({ targetPid, sig = 'TERM', graceSeconds = 30, name = 'watchdog' }) {
  const child = spawn(
    '/bin/sh',
    ['-c', WATCHDOG_SCRIPT, name, String(process.pid), String(targetPid), sig, String(graceSeconds)],
    { detached: true, stdio: 'ignore' },
  );
  child.on('error', () => {});
  child.unref();
  return {
    pid: child.pid,
    cancel() {
      if (child.exitCode === null && child.signalCode === null && child.pid) signal(child.pid, 'SIGTERM');
    },
  };
}

/**
 * Registers a synchronous `process.on('exit')` hook that signals the pid, so a
 * normal exit of the parent (process.exit, end of event loop, uncaught
 * exception) stops the child at once. Returns a function that unregisters it.
 */
export function killOnParentExit(pid, sig) {
  const hook = () => signal(pid, sig);
  process.on('exit', hook);
  return () => process.removeListener('exit', hook);
}

/** Parses `--flag value` / `--flag=value` pairs; returns { _: positional[], flag: value }. */
export function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
      if (eq > 0) out[key] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[key] = argv[++i];
      else out[key] = true;
    } else {
      out._.push(a);
    }
  }
  return out;
}

/** Parses a TCP port option, throwing a readable error. */
export function parsePort(value, name) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}: not a valid port: ${value}`);
  return n;
}

/** Keeps a foreground CLI alive until SIGINT/SIGTERM/SIGHUP, then runs `stop` and exits. */
export function runUntilSignal(stop, { log = console.log, name = 'service' } = {}) {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const onSignal = async (sig) => {
    if (stopping) {
      log(`[${name}] ${sig} again: still stopping (send SIGKILL to abort)`);
      return;
    }
    stopping = true;
    log(`[${name}] ${sig} received, stopping...`);
    try {
      await stop();
      log(`[${name}] stopped`);
      clearInterval(keepAlive);
      process.exit(0);
    } catch (err) {
      console.error(`[${name}] stop failed:`, err);
      process.exit(1);
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);
  return {
    get stopping() {
      return stopping;
    },
  };
}
